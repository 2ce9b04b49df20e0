// The MCP Inspector's CLI (a third-party MCP client, run as its own process) lists the tools of the
// real MCP server over Streamable HTTP with a bearer token, exactly as a developer would check a
// deployment: `mcp-inspector --cli <url> --transport http --method tools/list --header …`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestServer } from '../mcp-server/test/harness.ts';

const root = path.resolve(import.meta.dirname, '..');

/** The 22 tools the connector's public description promises (seed: "Available Tools"), and those issues added. */
const SEED_TOOLS = (JSON.parse(await readFile(path.join(root, 'mcp-server/test/fixtures/seed-tools.json'), 'utf8')) as { tools: string[] }).tools;
const ISSUE_TOOLS = (
  JSON.parse(await readFile(path.join(root, 'mcp-server/test/fixtures/issue-tools.json'), 'utf8')) as { tools: Array<{ name: string }> }
).tools.map((t) => t.name);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function inspector(args: string[]): Promise<Run> {
  const pkg = JSON.parse(await readFile(path.join(root, 'node_modules/@modelcontextprotocol/inspector/package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  const bin = path.join(root, 'node_modules/@modelcontextprotocol/inspector', pkg.bin['mcp-inspector']!);
  // Its own home: nothing is read from or written to the real user's config, and it never opens a browser.
  const home = await mkdtemp(path.join(tmpdir(), 'pictor-inspector-'));
  try {
    return await new Promise<Run>((resolve) => {
      execFile(
        process.execPath,
        [bin, ...args],
        {
          cwd: root,
          timeout: 60_000,
          maxBuffer: 16 * 1024 * 1024,
          env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: home, MCP_AUTO_OPEN_ENABLED: 'false', NO_COLOR: '1' },
        },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

test("MCP Inspector CLI: tools/list with the bearer header shows all 22 seed tools and the issues' ones, with titles, schemas and annotations", async (t) => {
  const server = await startTestServer();
  t.after(server.close);
  const { token } = await server.signIn();

  const run = await inspector(['--cli', server.url, '--transport', 'http', '--method', 'tools/list', '--header', `Authorization: Bearer ${token}`]);
  assert.equal(run.code, 0, `inspector failed (${run.code}):\n${run.stderr}`);
  const listed = JSON.parse(run.stdout) as {
    tools: Array<{ name: string; title?: string; description?: string; inputSchema?: { type?: string }; annotations?: { readOnlyHint?: boolean } }>;
  };
  assert.deepEqual(listed.tools.map((tool) => tool.name).sort(), [...SEED_TOOLS, ...ISSUE_TOOLS].sort());
  for (const tool of listed.tools) {
    assert.ok(tool.title, `${tool.name} has a title`);
    assert.ok((tool.description ?? '').length > 40, `${tool.name} has a description`);
    assert.equal(tool.inputSchema?.type, 'object', `${tool.name} has an object input schema`);
    assert.equal(typeof tool.annotations?.readOnlyHint, 'boolean', `${tool.name} says whether it is read-only`);
  }
  const readOnly = listed.tools
    .filter((tool) => tool.annotations?.readOnlyHint)
    .map((tool) => tool.name)
    .sort();
  assert.deepEqual(readOnly, [
    'check-gpu-availability',
    'get-account-activity',
    'get-instance-detail',
    'get-instance-logs',
    'get-spending-report',
    'get-user-balance',
    'list-gpus',
    'list-images',
    'list-my-instances',
    'list-ssh-keys',
  ]);
});

test('MCP Inspector CLI: without a valid token the server refuses it and no tool list comes out', async (t) => {
  const server = await startTestServer();
  t.after(server.close);
  const forged = await server.issueToken({ userId: (await server.createUser()).id, forgeSignature: true });

  const run = await inspector(['--cli', server.url, '--transport', 'http', '--method', 'tools/list', '--header', `Authorization: Bearer ${forged}`]);
  assert.notEqual(run.code, 0);
  assert.doesNotMatch(run.stdout, /list-gpus/);
  assert.match(run.stderr, /auth/i);
});
