// The layering drawn in src/pictor/instances/index.ts: inside the folder a file imports only from
// layers below its own (never sideways), and code outside the folder imports only index.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const folder = path.join(root, 'mcp-server/src/pictor/instances');

// Lowest first; mirrors the header of index.ts.
const LAYERS = [
  ['records.ts', 'state.ts', 'input.ts', 'capacity.ts', 'changes.ts'],
  ['read.ts'],
  ['keys.ts'],
  ['create.ts', 'actions.ts', 'money.ts', 'resume.ts', 'expiry.ts', 'retention.ts', 'power.ts', 'wait.ts'],
  ['index.ts'],
];
const layerOf = new Map(LAYERS.flatMap((files, layer) => files.map((f) => [f, layer] as const)));

/** Module specifiers of every static import, re-export and dynamic import in a source text. */
function specifiers(source: string): string[] {
  return [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

test('every file of pictor/instances/ is in a layer and imports only from layers below its own', () => {
  const files = readdirSync(folder)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  assert.deepEqual(files, [...layerOf.keys()].sort(), 'a new file in pictor/instances/ needs a place in the layers of index.ts');
  const wrong: string[] = [];
  for (const file of files) {
    for (const spec of specifiers(readFileSync(path.join(folder, file), 'utf8'))) {
      if (!spec.startsWith('./')) continue;
      const target = spec.slice(2);
      if (!(layerOf.get(target)! < layerOf.get(file)!)) wrong.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('the layer check sees sideways and upward imports', () => {
  assert.deepEqual(specifiers("import { a } from './create.ts';\nexport { b } from './read.ts';\nimport './x.ts';\nawait import('./y.ts');"), [
    './create.ts',
    './read.ts',
    './x.ts',
    './y.ts',
  ]);
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name) && !path.join(e.parentPath, e.name).includes('node_modules'))
    .map((e) => path.join(e.parentPath, e.name));
}

test('outside pictor/instances/ only index.ts is imported', () => {
  const dirs = ['mcp-server/src', 'mcp-server/test', 'auth-server', 'bench', 'e2e', 'scripts'].map((d) => path.join(root, d));
  const wrong: string[] = [];
  for (const file of dirs.flatMap(sourceFiles)) {
    if (path.dirname(file) === folder) continue;
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const resolved = spec.startsWith('.') ? path.resolve(path.dirname(file), spec) : spec;
      if (/pictor\/instances\/(?!index\.ts$)/.test(resolved)) wrong.push(`${path.relative(root, file)} imports ${spec}`);
    }
  }
  assert.deepEqual(wrong, []);
});
