// fast-check arbitraries for a tool's arguments, built from the JSON Schema its zod input schema
// compiles to (the same document tools/list publishes). Two kinds of case:
// - valid-shaped: every required field, types and bounds as declared, and for fields that name
//   something (plan, region, instance_id, ssh_key_ids, team_id…) often a value that exists, so the
//   calls get past validation into the core and sometimes succeed;
// - invalid: a valid-shaped case with a field dropped, added, or replaced by any JSON value, or no
//   object at all.
// Plus the fuzz loop itself: run a tool's cases through a call function, check each outcome, and
// check that no refused call changed anything.
import assert from 'node:assert/strict';
import fc from 'fast-check';

type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
};

/** Values worth trying for a field, by name (real ids, edge values, near misses). */
export type Interesting = Record<string, readonly unknown[]>;

const nasty = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '\n',
  'a\nb',
  '../../etc/passwd',
  "'; DROP TABLE accounts; --",
  '%s%n',
  '\u202e\u200b',
  '😀'.repeat(30),
  'x'.repeat(5000),
);

function stringArb(s: JsonSchema): fc.Arbitrary<string> {
  if (s.format === 'uuid') return fc.oneof(fc.uuid(), fc.constantFrom('00000000-0000-0000-0000-000000000000'));
  const maxLength = Math.min(s.maxLength ?? 300, 300);
  const minLength = Math.min(s.minLength ?? 0, maxLength);
  return fc.oneof(
    fc.string({ minLength, maxLength }),
    fc.string({ minLength, maxLength, unit: 'binary' }),
    nasty.filter((v) => v.length >= minLength && v.length <= (s.maxLength ?? Infinity)),
  );
}

function numberArb(s: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const min = Math.max(s.minimum ?? -Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER);
  const max = Math.min(s.maximum ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const small = fc.integer({ min: Math.max(min, -10), max: Math.min(max, 2000) });
  if (integer)
    return fc.oneof(
      small,
      fc.constantFrom(...[min, max, 0, 1, -1].filter((v) => v >= min && v <= max)),
      fc.maxSafeInteger().filter((v) => v >= min && v <= max),
    );
  return fc.oneof(small, fc.double({ min, max, noNaN: true, noDefaultInfinity: true }));
}

/** A value matching the schema's declared type and bounds. */
export function valueFor(s: JsonSchema, name: string, interesting: Interesting): fc.Arbitrary<unknown> {
  const known = interesting[name];
  const plain = plainValueFor(s, interesting);
  return known && known.length > 0 ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: plain }) : plain;
}

function plainValueFor(s: JsonSchema, interesting: Interesting): fc.Arbitrary<unknown> {
  if (s.anyOf) return fc.oneof(...s.anyOf.map((a) => plainValueFor(a, interesting)));
  if (s.enum) return fc.constantFrom(...s.enum);
  switch (s.type) {
    case 'string':
      return stringArb(s);
    case 'integer':
      return numberArb(s, true);
    case 'number':
      return numberArb(s, false);
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(plainValueFor(s.items ?? {}, interesting), { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 5, 25) });
    case 'object':
      return objectFor(s, interesting);
    default:
      return fc.jsonValue();
  }
}

function objectFor(s: JsonSchema, interesting: Interesting): fc.Arbitrary<Record<string, unknown>> {
  const props = s.properties ?? {};
  const model = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valueFor(v, k, interesting)]));
  return fc.record(model, { requiredKeys: (s.required ?? []).filter((k) => k in props) }) as fc.Arbitrary<Record<string, unknown>>;
}

function hasType(value: unknown, s: JsonSchema): boolean {
  if (s.anyOf) return s.anyOf.some((a) => hasType(value, a));
  switch (s.type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return true;
  }
}

/** Valid-shaped arguments. */
export function validArgs(schema: JsonSchema, interesting: Interesting): fc.Arbitrary<Record<string, unknown>> {
  return objectFor(schema, interesting);
}

/** Arguments broken in one way or another. */
export function invalidArgs(schema: JsonSchema, interesting: Interesting): fc.Arbitrary<unknown> {
  const keys = Object.keys(schema.properties ?? {});
  const base = validArgs(schema, interesting);
  const mutations: Array<fc.Arbitrary<unknown>> = [
    // an unknown field
    fc
      .tuple(
        base,
        fc.string({ minLength: 1, maxLength: 30 }).filter((k) => !keys.includes(k) && k !== '__proto__'),
        fc.jsonValue(),
      )
      .map(([args, key, value]) => ({ ...args, [key]: value })),
    // not an object at all
    fc.oneof(
      fc.jsonValue().filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)),
      fc.constant([]),
      fc.constant('{}'),
    ),
    // deeply nested junk in one field
    fc.tuple(base, fc.integer({ min: 50, max: 2000 })).map(([args, depth]) => {
      let deep: unknown = 'bottom';
      for (let i = 0; i < depth; i++) deep = [deep];
      return keys.length > 0 ? { ...args, [keys[0]!]: deep } : { deep };
    }),
  ];
  if (keys.length > 0) {
    // a field of the wrong type (any JSON value of another type), or a required field missing
    mutations.push(
      fc
        .tuple(base, fc.constantFrom(...keys), fc.jsonValue())
        .filter(([, key, value]) => !hasType(value, schema.properties![key]!))
        .map(([args, key, value]) => ({ ...args, [key]: value })),
    );
    const required = (schema.required ?? []).filter((k) => keys.includes(k));
    if (required.length > 0) {
      mutations.push(
        fc.tuple(base, fc.constantFrom(...required)).map(([args, key]) => {
          const copy = { ...args };
          delete copy[key];
          return copy;
        }),
      );
    }
  }
  return fc.oneof(...mutations);
}

export interface ToolCase {
  args: unknown;
  valid: boolean;
}

/** Valid-shaped and invalid cases, about 60/40. */
export function casesFor(schema: JsonSchema, interesting: Interesting): fc.Arbitrary<ToolCase> {
  return fc.oneof(
    { weight: 3, arbitrary: validArgs(schema, interesting).map((args) => ({ args, valid: true })) },
    { weight: 2, arbitrary: invalidArgs(schema, interesting).map((args) => ({ args, valid: false })) },
  );
}

/** What one call answered: a result, a refusal (with its tool error code) or a JSON-RPC error. */
export interface Answer {
  ok: boolean;
  code?: string;
  rpcError?: number;
  text: string;
}

// Codes a person can act on; anything else (notably "internal") is a bug.
export const REFUSAL_CODES = new Set([
  'invalid_arguments',
  'invalid_input',
  'not_found',
  'insufficient_balance',
  'capacity_unavailable',
  'invalid_state',
  'conflict',
  'unavailable',
  'insufficient_scope',
  'insufficient_role',
]);

export interface FuzzStats {
  runs: number;
  ok: number;
  refused: Record<string, number>;
  rpcErrors: number;
}

/**
 * Runs `numRuns` cases of one tool in sequence. Every answer must be a result, a refusal with a
 * known code, or a JSON-RPC "invalid params"; for a tool that writes, the state fingerprint after
 * each refusal must equal the one before it (taken again after each success).
 */
export async function fuzzTool(o: {
  name: string;
  schema: JsonSchema;
  interesting: Interesting;
  writes: boolean;
  numRuns: number;
  seed?: number;
  call(args: unknown): Promise<Answer>;
  fingerprint(): Promise<string>;
}): Promise<FuzzStats> {
  const stats: FuzzStats = { runs: 0, ok: 0, refused: {}, rpcErrors: 0 };
  let baseline = await o.fingerprint();
  await fc.assert(
    fc.asyncProperty(casesFor(o.schema, o.interesting), async ({ args }) => {
      stats.runs += 1;
      const answer = await o.call(args);
      const shown = () => `${o.name}(${JSON.stringify(args)?.slice(0, 400)}) → ${answer.text.slice(0, 300)}`;
      if (answer.rpcError !== undefined) {
        assert.equal(answer.rpcError, -32602, `only "invalid params" may come back as a JSON-RPC error: ${shown()}`);
        stats.rpcErrors += 1;
      } else if (answer.ok) {
        stats.ok += 1;
      } else {
        assert.ok(answer.code && REFUSAL_CODES.has(answer.code), `refused with an unknown code ${answer.code}: ${shown()}`);
        stats.refused[answer.code] = (stats.refused[answer.code] ?? 0) + 1;
      }
      if (!o.writes) return;
      const now = await o.fingerprint();
      if (answer.ok) baseline = now;
      else assert.equal(now, baseline, `a refused call changed the database: ${shown()}`);
    }),
    { numRuns: o.numRuns, seed: o.seed, endOnFailure: true },
  );
  // a read-only tool changes nothing, whatever it answered
  if (!o.writes) assert.equal(await o.fingerprint(), baseline, `${o.name} changed the database`);
  return stats;
}
