// Tool declarations compiled once per process: zod objects for validation and the public
// JSON (JSON Schema included) that tools/list returns. Nothing here runs per request.
import { z } from 'zod';
import { SCOPES, type Scope, type ToolAnnotations, type ToolDefinition } from './define.ts';

type JsonSchema = Record<string, unknown>;

/** What a client sees of a tool in tools/list; also what the registry snapshot records. */
export interface PublicTool {
  name: string;
  title: string;
  description: string;
  inputSchema: JsonSchema & { type: 'object' };
  outputSchema: JsonSchema & { type: 'object' };
  annotations: ToolAnnotations;
}

export interface CompiledTool {
  definition: ToolDefinition;
  scope: Scope;
  /** Strict: an unknown argument is refused by name rather than silently dropped. */
  input: z.ZodObject;
  output: z.ZodObject;
  public: PublicTool;
}

export interface CompiledTools {
  /** The tools/list result, built once and returned as is on every call. */
  list: { tools: PublicTool[] };
  byName: ReadonlyMap<string, CompiledTool>;
  /** Scopes some tool needs, in SCOPES order. */
  scopes: readonly Scope[];
}

/** The scopes some tool needs, in SCOPES order: what metadata and 401 challenges advertise. */
export function scopesOf(list: readonly ToolDefinition[]): Scope[] {
  const used = new Set(list.map((tool) => tool.scope));
  return (Object.keys(SCOPES) as Scope[]).filter((scope) => used.has(scope));
}

// draft-07, as the MCP SDK emits for zod schemas: its client validates outputs with Ajv's draft-07.
function jsonSchema(schema: z.ZodObject, io: 'input' | 'output'): JsonSchema & { type: 'object' } {
  return tidy(z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' })) as JsonSchema & { type: 'object' };
}

// zod writes a 150-character regex next to every `format: "uuid"`; the format says it already,
// the server validates with zod anyway, and every tools/list (and a model's context) is smaller.
function tidy(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tidy);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'pattern' && (node as { format?: unknown }).format === 'uuid') continue;
    out[key] = tidy(value);
  }
  return out;
}

export function compileTool(definition: ToolDefinition): CompiledTool {
  const input = z.strictObject(definition.input);
  const output = z.object(definition.output);
  return {
    definition,
    scope: definition.scope,
    input,
    output,
    public: {
      name: definition.name,
      title: definition.title,
      description: definition.description,
      inputSchema: jsonSchema(input, 'input'),
      outputSchema: jsonSchema(output, 'output'),
      annotations: { ...definition.annotations },
    },
  };
}

export function compileTools(definitions: readonly ToolDefinition[]): CompiledTools {
  const byName = new Map<string, CompiledTool>();
  for (const definition of definitions) {
    if (byName.has(definition.name)) throw new Error(`Two tools are named ${definition.name}`);
    byName.set(definition.name, compileTool(definition));
  }
  return { list: { tools: [...byName.values()].map((tool) => tool.public) }, byName, scopes: scopesOf(definitions) };
}
