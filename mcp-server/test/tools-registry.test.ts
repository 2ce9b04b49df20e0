// Registry-wide rules every tool declaration must follow, and a snapshot of each tool's public
// JSON, one file per tool, so that any change to what clients see is a visible diff in review.
// Regenerate the snapshots after an intended change: UPDATE_SNAPSHOTS=1 npm test -- mcp-server/test/tools-registry.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SCOPES } from '../src/tools/define.ts';
import { scopesSupported, tools } from '../src/tools/index.ts';
import { z } from 'zod';
import { compileTools, TEAM_ID_FIELD } from '../src/tools/public.ts';
import { checkSnapshots } from './snapshot-files.ts';

const SNAPSHOTS = path.join(import.meta.dirname, 'snapshots', 'tools');
const UPDATE = 'UPDATE_SNAPSHOTS=1 npm test -- mcp-server/test/tools-registry.test.ts';
const compiled = compileTools(tools);

// The seed's tool names (a copy of the connector description's list): no tool may be named otherwise.
const SEED_NAMES: readonly string[] = (JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures', 'seed-tools.json'), 'utf8')) as { tools: string[] })
  .tools;

// Tools added later by an issue, each named with its issue: the only other names allowed.
const ISSUE_TOOLS: ReadonlyArray<{ name: string; issue: number }> = (
  JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures', 'issue-tools.json'), 'utf8')) as { tools: Array<{ name: string; issue: number }> }
).tools;
const ISSUE_NAMES = ISSUE_TOOLS.map((t) => t.name);

test('tool names are unique, kebab-case and from the seed or an issue; every seed and issue tool is declared', () => {
  const names = tools.map((t) => t.name);
  assert.equal(new Set(names).size, names.length, `duplicate names: ${names.filter((n, i) => names.indexOf(n) !== i)}`);
  for (const name of names) {
    assert.match(name, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, `${name} is not kebab-case`);
    assert.ok(SEED_NAMES.includes(name) || ISSUE_NAMES.includes(name), `${name} is not a tool the seed or an issue lists`);
  }
  assert.equal(SEED_NAMES.length, 22);
  assert.deepEqual(
    SEED_NAMES.filter((name) => !names.includes(name)),
    [],
    'seed tools with no declaration',
  );
  // an issue adds tools; it never renames or re-declares a seed tool
  for (const tool of ISSUE_TOOLS) {
    assert.ok(!SEED_NAMES.includes(tool.name), `${tool.name} is a seed tool`);
    assert.ok(Number.isInteger(tool.issue) && tool.issue > 0, `${tool.name}: name its issue`);
  }
  assert.deepEqual(
    ISSUE_NAMES.filter((name) => !names.includes(name)),
    [],
    'issue tools with no declaration',
  );
});

test('every tool that changes something declares its activity entry, with only safe arguments; read-only tools do not', () => {
  const secret = /(^|_)(public_key|private_key|key_material|token|secret|password|env|idempotency_key)($|_)/;
  for (const tool of tools) {
    assert.equal(tool.activity !== undefined, !tool.annotations.readOnlyHint, `${tool.name}: activity must be declared exactly when it writes`);
    const { args = [], given = [], target } = tool.activity ?? {};
    for (const field of [...args, ...given, ...(target ? [target] : [])]) {
      assert.ok(Object.hasOwn(tool.input, field), `${tool.name}: ${field} is not an input field`);
    }
    for (const field of [...args, ...(target ? [target] : [])]) assert.doesNotMatch(field, secret, `${tool.name}: ${field} must not be recorded`);
  }
});

test('the tools that spend or destroy, and only they, ask the person to confirm (issue 11 §2)', () => {
  // start-instance asks only when it charges: starting a paused instance with rental_hours
  const CONFIRMED = [
    'add-instance-hours',
    'create-inflow-checkout',
    'create-instance',
    'delete-instance',
    'delete-ssh-key',
    'start-instance',
    'verify-inflow-transaction',
  ];
  assert.deepEqual(
    tools
      .filter((t) => t.confirm !== undefined)
      .map((t) => t.name)
      .sort(),
    CONFIRMED,
  );
  for (const tool of tools.filter((t) => t.confirm)) assert.ok(!tool.annotations.readOnlyHint, `${tool.name}: a read cannot need a confirmation`);
});

test('every tool has a title and a description written for a model', () => {
  for (const tool of tools) {
    assert.ok(tool.title.trim().length > 0, `${tool.name}: empty title`);
    assert.ok(tool.description.trim().length >= 40, `${tool.name}: description too short to guide a model`);
  }
});

test('every annotation is set explicitly as a boolean, and nothing else is', () => {
  for (const tool of tools) {
    assert.deepEqual(Object.keys(tool.annotations).sort(), ['destructiveHint', 'idempotentHint', 'openWorldHint', 'readOnlyHint'], tool.name);
    for (const [key, value] of Object.entries(tool.annotations)) {
      assert.equal(typeof value, 'boolean', `${tool.name}.${key} must be a boolean`);
    }
    if (tool.annotations.readOnlyHint) {
      assert.equal(tool.annotations.destructiveHint, false, `${tool.name}: a read-only tool cannot be destructive`);
    }
  }
});

test('scopes come from SCOPES; read-only tools need pictor:read and only they do', () => {
  for (const tool of tools) {
    assert.ok(Object.hasOwn(SCOPES, tool.scope), `${tool.name}: unknown scope ${tool.scope}`);
    assert.equal(
      tool.scope === 'pictor:read',
      tool.annotations.readOnlyHint,
      `${tool.name}: readOnlyHint ${tool.annotations.readOnlyHint} but scope ${tool.scope}`,
    );
  }
  assert.deepEqual(
    [...scopesSupported],
    Object.keys(SCOPES).filter((s) => tools.some((t) => t.scope === s)),
  );
});

test('every input field is described, and schemas are objects', () => {
  for (const { public: json } of compiled.byName.values()) {
    assert.equal(json.inputSchema.type, 'object', json.name);
    assert.equal(json.outputSchema.type, 'object', json.name);
    const properties = (json.inputSchema.properties ?? {}) as Record<string, { description?: string }>;
    for (const [field, schema] of Object.entries(properties)) {
      assert.ok(schema.description && schema.description.trim().length > 0, `${json.name}: input field ${field} has no description`);
    }
  }
});

test('every workspace tool publishes team_id, added by the registry, and no other tool does', () => {
  const workspaceTools = tools.filter((t) => t.workspace);
  assert.ok(workspaceTools.length >= 20, `${workspaceTools.length} workspace tools`);
  for (const tool of tools) {
    assert.equal(typeof tool.workspace, 'boolean', `${tool.name}: workspace must be declared`);
    assert.ok(!Object.hasOwn(tool.input, TEAM_ID_FIELD), `${tool.name} declares team_id itself`);
    const properties = compiled.byName.get(tool.name)!.public.inputSchema.properties as Record<string, { format?: string }>;
    assert.equal(Object.hasOwn(properties, TEAM_ID_FIELD), tool.workspace, `${tool.name}: workspace ${tool.workspace}`);
    if (tool.workspace) assert.equal(properties[TEAM_ID_FIELD]!.format, 'uuid', tool.name);
  }
  // Only the catalog is not an account's.
  assert.deepEqual(
    tools.filter((t) => !t.workspace).map((t) => t.name),
    ['list-gpus', 'check-gpu-availability', 'list-images'],
  );
  const sneaky = { ...tools[0]!, name: 'sneaky', workspace: true, input: { [TEAM_ID_FIELD]: z.string().describe('x') } };
  assert.throws(() => compileTools([sneaky]), /sneaky declares team_id/);
});

test("each tool's JSON matches its snapshot file, and every snapshot file names a tool", () => {
  const current = new Map(compiled.list.tools.map((json) => [json.name, json]));
  const problems = checkSnapshots(SNAPSHOTS, current, { update: process.env.UPDATE_SNAPSHOTS === '1' });
  for (const problem of problems) {
    if (problem.kind === 'changed')
      assert.deepEqual(problem.actual, problem.expected, `${problem.file}: the tool's public JSON changed. If intended, run ${UPDATE} and commit the file`);
  }
  assert.deepEqual(
    problems.map((p) => `${p.kind}: ${p.file}`),
    [],
    `run ${UPDATE} and commit mcp-server/test/snapshots/tools/`,
  );
});

test('snapshot files: written only on request; a missing, changed or leftover one is reported', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pictor-snapshots-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const values = new Map<string, unknown>([
    ['a', { x: 1 }],
    ['b', { y: [1, 2] }],
  ]);
  assert.deepEqual(
    checkSnapshots(dir, values, { update: false }).map((p) => `${p.kind}: ${p.file}`),
    ['missing: a.json', 'missing: b.json'],
  );
  assert.deepEqual(checkSnapshots(dir, values, { update: true }), []);
  assert.deepEqual(checkSnapshots(dir, values, { update: false }), []);
  assert.equal(readFileSync(path.join(dir, 'a.json'), 'utf8'), '{\n  "x": 1\n}\n');

  writeFileSync(path.join(dir, 'b.json'), '{ "y": [1, 3] }');
  writeFileSync(path.join(dir, 'gone.json'), '{}');
  assert.deepEqual(checkSnapshots(dir, values, { update: false }), [
    { kind: 'changed', file: 'b.json', actual: { y: [1, 2] }, expected: { y: [1, 3] } },
    { kind: 'leftover', file: 'gone.json' },
  ]);
  // updating rewrites the changed file and removes the one whose tool is gone
  assert.deepEqual(checkSnapshots(dir, values, { update: true }), []);
  assert.deepEqual(checkSnapshots(dir, values, { update: false }), []);
});
