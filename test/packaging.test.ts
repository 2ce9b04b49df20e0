// Runtime and packaging rules that are easy to let drift: one Node major everywhere (the pinned
// `node` package the npm scripts run on, engines, .nvmrc, @types/node, the images), the licence,
// no @types for a library that ships its own, and the MCP SDK held to one minor version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const NODE_MAJOR = 24;
const root = path.resolve(import.meta.dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
interface Manifest {
  version?: string;
  license?: string;
  engines?: { node?: string };
  workspaces?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}
const json = (file: string) => JSON.parse(read(file)) as Manifest;
const rootPackage = json('package.json');
const workspaces = rootPackage.workspaces ?? [];
const devDependency = (name: string) => rootPackage.devDependencies?.[name] ?? '';
const major = (range: string) => Number(/^\D*(\d+)/.exec(range)?.[1]);

test(`one Node major (${NODE_MAJOR}) everywhere, and the tests run on it`, () => {
  assert.equal(Number(process.versions.node.split('.')[0]), NODE_MAJOR, `npm test runs on the pinned node package, got ${process.version}`);
  assert.equal(read('.nvmrc').trim(), String(NODE_MAJOR));
  assert.equal(rootPackage.engines?.node, `>=${NODE_MAJOR}`);
  assert.equal(major(devDependency('node')), NODE_MAJOR);
  assert.match(devDependency('node'), /^\^/);
  assert.equal(major(devDependency('@types/node')), NODE_MAJOR);
  for (const workspace of workspaces) {
    const engines = json(`${workspace}/package.json`).engines?.node;
    if (engines) assert.equal(engines, `>=${NODE_MAJOR}`, workspace);
  }
  for (const service of ['auth-server', 'mcp-server', 'inflow-sandbox']) {
    const images = read(`${service}/Dockerfile`).match(/^FROM \S+/gm) ?? [];
    assert.ok(images.length > 0, service);
    for (const image of images) assert.match(image, new RegExp(`^FROM node:${NODE_MAJOR}-`), `${service}: ${image}`);
  }
});

test('MIT licence: LICENSE, and a license field in every package.json', () => {
  const licence = read('LICENSE');
  assert.match(licence, /^MIT License/);
  assert.match(licence, /Copyright \(c\) 2026 Pictor/);
  for (const file of ['package.json', ...workspaces.map((w) => `${w}/package.json`)]) {
    assert.equal(json(file).license, 'MIT', file);
  }
});

test('CHANGELOG has an Unreleased section above the released versions', () => {
  const changelog = read('CHANGELOG.md');
  const unreleased = changelog.indexOf('\n## Unreleased');
  const released = changelog.search(/\n## \d+\.\d+\.\d+ - \d{4}-\d{2}-\d{2}\n/);
  assert.ok(unreleased > 0 && released > unreleased);
});

test('no @types package for a library that ships its own types', () => {
  const typesPackages = Object.keys(rootPackage.devDependencies ?? {}).filter((name) => name.startsWith('@types/') && name !== '@types/node');
  assert.ok(typesPackages.length > 0);
  for (const name of typesPackages) {
    // @types/koa__router types @koa/router
    const bare = name.slice('@types/'.length);
    const library = bare.includes('__') ? `@${bare.replace('__', '/')}` : bare;
    const manifest = path.join(root, 'node_modules', library, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { types?: string; typings?: string; exports?: unknown };
    const ships = Boolean(pkg.types ?? pkg.typings) || JSON.stringify(pkg.exports ?? {}).includes('"types"');
    assert.equal(ships, false, `${library} ships its own types: drop ${name}`);
  }
});

test('the MCP SDK v2 is pinned to the exact version the multiplexing transport was written against', () => {
  // http/protocol.ts relies on how the v2 Server binds its era when it connects and answers
  // refusals synchronously on delivery: a patch release may change either (see the README's pin note).
  const deps = json('mcp-server/package.json').dependencies ?? {};
  for (const name of ['@modelcontextprotocol/server', '@modelcontextprotocol/core']) {
    assert.match(deps[name] ?? '', /^\d+\.\d+\.\d+$/, `${name} is pinned exactly`);
    // what mcp-server resolves: its own copy when another package (the Inspector) pulls an older one to the root
    const own = `mcp-server/node_modules/${name}/package.json`;
    assert.equal(json(existsSync(path.join(root, own)) ? own : `node_modules/${name}/package.json`).version, deps[name], `${name} installed as pinned`);
  }
  // the v1 SDK stays only as the tests' 2025-era client, never in the server's dependencies
  assert.equal(deps['@modelcontextprotocol/sdk'], undefined);
});
