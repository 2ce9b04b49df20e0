// Images, environment, ports and a startup script (issue 13 §1–2), through the SDK's real Client
// over HTTP: list-images and which images fit each plan, an image too big for the plan refused with
// the reason, every option's validation named, the secret environment values never readable back
// (tool results, logs, activity, the server's own log output, the database in clear), the port URLs
// once running, the startup script's start and exit status in the logs, and the admin commands.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { sql } from 'kysely';
import { runAdmin } from '../src/admin.ts';
import { DEV_INSTANCE_PROXY_DOMAIN } from '../src/config.ts';
import { resolveAccountId } from '../src/pictor/accounts.ts';
import { seedCatalog } from '../src/pictor/catalog-seed.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../src/pictor/errors.ts';
import { SimulatedProvisioner, type ProvisionRequest, type ProvisionResult } from '../src/pictor/provisioner.ts';
import { SecretBox } from '../src/pictor/sealing.ts';
import { runLifecycleOnce } from '../src/worker/lifecycle.ts';
import { fingerprint, fund } from './core-fixtures.ts';
import { startTestServer, type TestServer } from './harness.ts';

type Structured = Record<string, any>;

const SECRET = 'hf_s3cr3t-VALUE-never-shown-9f8e7d';
const SCRIPT_SECRET = 'script-token-4c1d0e';
const BASE = 'ubuntu-24.04-cuda-12.8';
const CREATE = { plan: 'h100-80gb', gpu_count: 1, region: 'us-east', storage_gb: 100, rental_hours: 10, name: 'llm' };

let server: TestServer;
let alice: Client;
let accountId: string;
const serverLog: string[] = [];

/** A provisioner that records what it was handed (the only place values are in clear). */
class RecordingProvisioner extends SimulatedProvisioner {
  readonly handed: ProvisionRequest[] = [];
  override async provision(m: ProvisionRequest, now: Date): Promise<ProvisionResult> {
    this.handed.push(m);
    return super.provision(m, now);
  }
}
const provisioner = new RecordingProvisioner();

const text = (r: CallToolResult): string => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const call = async (name: string, args: Record<string, unknown> = {}) => (await alice.callTool({ name, arguments: args })) as CallToolResult;

async function ok(name: string, args: Record<string, unknown> = {}): Promise<Structured> {
  const r = await call(name, args);
  assert.ok(!r.isError, `${name} failed: ${text(r)}`);
  return r.structuredContent as Structured;
}

async function refused(name: string, args: Record<string, unknown>, message: RegExp, code = 'invalid_input'): Promise<CallToolResult> {
  const r = await call(name, args);
  assert.equal(r.isError, true, `${name} should be refused: ${text(r)}`);
  assert.match(text(r), message);
  assert.equal((r._meta!['network.pictor/error'] as { code: string }).code, code);
  return r;
}

async function work(): Promise<void> {
  await runLifecycleOnce({ db: server.db, clock: server.clock, provisioner, secrets: server.services.secrets });
}

before(async () => {
  server = await startTestServer({ now: '2026-03-01T00:00:00Z', logStream: { write: (line) => void serverLog.push(line) } });
  await seedCatalog(server.db);
  const a = await server.signIn();
  alice = await server.connect(a.token);
  accountId = await resolveAccountId(server.db, { userId: a.user.id }, 'read');
  await fund(server.db, accountId, { balance: '1000' });
});
after(async () => server.close());

test('list-images: the default set with OS, CUDA, frameworks, default ports and VRAM; list-gpus says which images fit each plan', async () => {
  const { images } = await ok('list-images');
  assert.deepEqual(
    images.map((i: Structured) => [i.id, i.default_ports, i.min_vram_gb, i.default]),
    [
      [BASE, [], 0, true],
      ['jupyter-pytorch-2.7', [8888], 0, false],
      ['pytorch-2.7', [], 0, false],
      ['vllm-0.9', [8000], 48, false],
    ],
  );
  const base = images[0];
  assert.equal(base.name, 'Ubuntu 24.04 + CUDA 12.8');
  assert.equal(base.os, 'Ubuntu 24.04');
  assert.equal(base.cuda_version, '12.8');
  assert.ok(images.find((i: Structured) => i.id === 'pytorch-2.7').frameworks.includes('PyTorch 2.7'));
  assert.deepEqual(
    (await ok('list-images', { plan: 'RTX 4090' })).images.map((i: Structured) => i.id),
    [BASE, 'jupyter-pytorch-2.7', 'pytorch-2.7'],
  );
  await refused('list-images', { plan: 'tpu' }, /^plan: unknown GPU plan "tpu"/);

  const { plans } = await ok('list-gpus');
  const fits = Object.fromEntries(plans.map((p: Structured) => [p.id, p.images]));
  assert.ok(fits['h100-80gb'].includes('vllm-0.9'));
  assert.ok(fits['l40s-48gb'].includes('vllm-0.9'), '48 GB is enough');
  assert.ok(!fits['rtx4090-24gb'].includes('vllm-0.9'));
  assert.ok(!fits['rtx5090-32gb'].includes('vllm-0.9'));
  assert.ok(fits['rtx4090-24gb'].includes(BASE));
});

test('an image that needs more GPU memory than the plan has, or an unknown one, is refused with the reason; nothing changes', async () => {
  const before = await fingerprint(server.db);
  const small = { ...CREATE, plan: 'rtx4090-24gb', storage_gb: 50, image: 'vllm-0.9' };
  const r = await refused(
    'create-instance',
    small,
    /^image: image vllm-0\.9 needs at least 48 GB of GPU memory per GPU, and rtx4090-24gb \(RTX 4090 24GB\) has 24 GB; choose a plan with 48 GB or more .*or an image that fits rtx4090-24gb: ubuntu-24\.04-cuda-12\.8, jupyter-pytorch-2\.7, pytorch-2\.7$/,
  );
  assert.deepEqual((r._meta!['network.pictor/error'] as { details: Structured }).details, {
    field: 'image',
    image: 'vllm-0.9',
    min_vram_gb: 48,
    plan: 'rtx4090-24gb',
    plan_vram_gb: 24,
    images_that_fit: [BASE, 'jupyter-pytorch-2.7', 'pytorch-2.7'],
  });
  await refused('create-instance', { ...small, dry_run: true }, /^image: image vllm-0\.9 needs at least 48 GB/);
  await refused('create-instance', { ...CREATE, image: 'windows-11' }, /^image: unknown image "windows-11"; choose one of ubuntu-24\.04-cuda-12\.8, /);
  assert.equal(await fingerprint(server.db), before);
});

test('each option is checked with a specific error that never repeats a value; nothing changes', async () => {
  const before = await fingerprint(server.db);
  const cases: Array<[Record<string, unknown>, RegExp, string?]> = [
    [{ env: { '1BAD': SECRET } }, /^env: "1BAD" is not a valid variable name: expected letters, digits and underscores, not starting with a digit/],
    [{ env: { 'HF-TOKEN': SECRET } }, /^env: "HF-TOKEN" is not a valid variable name/],
    [{ env: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`V${i}`, SECRET])) }, /^env: at most 64 variables, got 65$/],
    [{ env: { BIG: `${SECRET}${'x'.repeat(8192)}` } }, /^env\.BIG: the value is longer than 8192 bytes$/],
    [{ env: { N: 42 } }, /^Invalid arguments for create-instance: env\.N: expected string, received number$/, 'invalid_arguments'],
    [{ ports: [22] }, /^ports: port 22 is SSH, which every instance already serves/],
    [{ ports: [0] }, /^ports: ports are whole numbers from 1 to 65535, got 0$/],
    [{ ports: [70000] }, /^ports: ports are whole numbers from 1 to 65535, got 70000$/],
    [{ ports: [8080, 8080] }, /^ports: port 8080 is listed twice; list each port once$/],
    [{ ports: Array.from({ length: 11 }, (_, i) => 9000 + i) }, /^Invalid arguments for create-instance: ports: at most 10$/, 'invalid_arguments'],
    [{ startup_script: 'é'.repeat(8193) }, /^startup_script: at most 16384 bytes \(16 KB\), got 16386$/],
    [{ startup_script: 'x'.repeat(16385) }, /^Invalid arguments for create-instance: startup_script: at most 16384 bytes \(16 KB\)$/, 'invalid_arguments'],
    [{ startup_script: 'echo\0' }, /^startup_script: must be text \(no NUL characters\)$/],
  ];
  for (const [extra, message, code] of cases) {
    for (const dryRun of [false, true]) {
      const r = await refused('create-instance', { ...CREATE, ...extra, dry_run: dryRun }, message, code);
      assert.doesNotMatch(JSON.stringify(r), new RegExp(SECRET), 'an error never repeats a value');
    }
  }
  assert.equal(await fingerprint(server.db), before);
});

test('vLLM with a secret token, a port and a startup script: price unchanged, values handed to the provisioner only, URLs once running, script status in the logs', async () => {
  const options = {
    image: 'vllm-0.9',
    env: { HF_TOKEN: SECRET, MODEL: 'meta-llama/Llama-3.1-8B-Instruct' },
    ports: [8080],
    startup_script: `#!/bin/sh\necho "${SCRIPT_SECRET}" > /root/.token\nexit 0\n`,
  };
  const plain = await ok('create-instance', { ...CREATE, dry_run: true });
  const quote = await ok('create-instance', { ...CREATE, ...options, dry_run: true });
  assert.deepEqual(quote.cost, plain.cost, 'the options do not change the price');
  assert.deepEqual(quote.launch, {
    image: { id: 'vllm-0.9', name: 'vLLM 0.9' },
    ports: [8000, 8080],
    env_names: ['HF_TOKEN', 'MODEL'],
    startup_script: true,
  });

  const created = await ok('create-instance', { ...CREATE, ...options });
  const id: string = created.instance.id;
  assert.deepEqual(created.launch, quote.launch);
  assert.deepEqual(created.instance.image, { id: 'vllm-0.9', name: 'vLLM 0.9' });
  assert.deepEqual(created.instance.env_names, ['HF_TOKEN', 'MODEL']);
  assert.equal(created.instance.startup_script, true);
  assert.deepEqual(created.instance.ports, [
    { port: 8000, source: 'image', url: null },
    { port: 8080, source: 'requested', url: null },
  ]);

  server.clock.advance(5000);
  await work();
  const handed = provisioner.handed.find((m) => m.instanceId === id)!;
  assert.deepEqual(handed.setup.env, options.env, 'the provisioner gets the values in clear');
  assert.equal(handed.setup.startupScript, options.startup_script);
  assert.deepEqual(handed.setup.ports, [8000, 8080]);
  assert.equal(handed.setup.image.id, 'vllm-0.9');

  const detail = await ok('get-instance-detail', { instance_id: id });
  assert.equal(detail.state, 'running');
  assert.deepEqual(detail.ports, [
    { port: 8000, source: 'image', url: `https://${id}-8000.${DEV_INSTANCE_PROXY_DOMAIN}` },
    { port: 8080, source: 'requested', url: `https://${id}-8080.${DEV_INSTANCE_PROXY_DOMAIN}` },
  ]);
  assert.match(text(await call('get-instance-detail', { instance_id: id })), new RegExp(`Port 8000: https://${id}-8000\\.`));

  const logs = (await ok('get-instance-logs', { instance_id: id, limit: 100 })).lines.map((l: Structured) => l.message) as string[];
  const at = (pattern: RegExp) => logs.findIndex((m) => pattern.test(m));
  assert.ok(
    at(/^Image vllm-0\.9 \(vLLM 0\.9\); environment HF_TOKEN, MODEL \(values sealed\); HTTP ports 8000, 8080; a startup script runs once at first boot$/) >= 0,
  );
  assert.ok(at(/^cloud-init\[812\]: wrote 2 environment variable\(s\) to \/etc\/environment: HF_TOKEN, MODEL$/) >= 0);
  assert.ok(at(new RegExp(`^pictor-proxy: port 8000 published at https://${id}-8000\\.`)) >= 0);
  const started = at(/^startup-script: started \/var\/lib\/cloud\/instance\/scripts\/startup\.sh \(\d+ bytes, once, as root\)$/);
  const exited = at(/^startup-script: exited with status 0$/);
  assert.ok(started >= 0 && exited > started, 'the start, then the exit status');

  // Stopped: no URL; started again: the script does not run twice.
  assert.deepEqual(
    (await ok('stop-instance', { instance_id: id })).instance.ports.map((p: Structured) => p.url),
    [null, null],
  );
  server.clock.advance(2000);
  await work();
  await ok('start-instance', { instance_id: id });
  server.clock.advance(3000);
  await work();
  const again = (await ok('get-instance-logs', { instance_id: id, limit: 100 })).lines.map((l: Structured) => l.message) as string[];
  assert.equal(again.filter((m) => m.startsWith('startup-script: started')).length, 1);
  assert.equal((await ok('get-instance-detail', { instance_id: id })).ports[0].url, `https://${id}-8000.${DEV_INSTANCE_PROXY_DOMAIN}`);

  // A failing script's status is reported as it is.
  const failing = await ok('create-instance', { ...CREATE, name: 'bad-script', startup_script: 'apt-get install nothing\nexit 3' });
  server.clock.advance(5000);
  await work();
  const failLogs = (await ok('get-instance-logs', { instance_id: failing.instance.id, limit: 100 })).lines.map((l: Structured) => l.message);
  assert.ok(failLogs.includes('startup-script: exited with status 3'));

  // The values are nowhere to read back: tool results, activity, the server's log output, the database in clear.
  const reads = [
    await call('get-instance-detail', { instance_id: id }),
    await call('list-my-instances', {}),
    await call('get-instance-logs', { instance_id: id, limit: 100 }),
    await call('get-account-activity', { limit: 100 }),
    await call('get-spending-report', {}),
  ];
  for (const r of reads) {
    assert.ok(!r.isError, text(r));
    assert.doesNotMatch(JSON.stringify(r), new RegExp(`${SECRET}|${SCRIPT_SECRET}`));
  }
  const activity = (reads[3]!.structuredContent as Structured).entries.find((e: Structured) => e.target_id === id);
  assert.ok(activity, 'the creation is in the activity log');
  assert.equal(JSON.stringify(activity).includes('HF_TOKEN'), false, 'not even the env names are recorded as arguments');
  const row = await server.db.selectFrom('activity').select('detail').where('target_id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row.detail.env_given, true);
  assert.equal(row.detail.startup_script_given, true);
  assert.equal(row.detail.image, 'vllm-0.9');
  assert.deepEqual(row.detail.ports, [8080]);
  assert.ok(serverLog.length > 0, 'the server logged (at debug level) while handling these calls');
  assert.doesNotMatch(serverLog.join('\n'), new RegExp(`${SECRET}|${SCRIPT_SECRET}`));
  const dump = await sql<{ t: string }>`
    SELECT concat_ws('|', (SELECT string_agg(i::text, '|') FROM instances i), (SELECT string_agg(l.message, '|') FROM instance_logs l),
      (SELECT string_agg(a::text, '|') FROM activity a), (SELECT string_agg(s::text, '|') FROM instance_secrets s)) AS t`.execute(server.db);
  assert.doesNotMatch(dump.rows[0]!.t, new RegExp(`${SECRET}|${SCRIPT_SECRET}|meta-llama`));
  const sealed = await server.db.selectFrom('instance_secrets').selectAll().where('instance_id', '=', id).executeTakeFirstOrThrow();
  assert.match(sealed.env_sealed!, /^v1\./);

  // Deleted: the machine is released and what it was launched with is not kept.
  await ok('delete-instance', { instance_id: id });
  await work();
  assert.equal(await server.db.selectFrom('instance_secrets').select('instance_id').where('instance_id', '=', id).executeTakeFirst(), undefined);
});

test('without the sealing secrets the worker does not provision an instance with secrets, and retries', async () => {
  const { instance } = await ok('create-instance', { ...CREATE, name: 'no-keys', env: { A: 'b' } });
  server.clock.advance(5000);
  const errors: unknown[] = [];
  await runLifecycleOnce({ db: server.db, clock: server.clock, provisioner, onError: (e) => errors.push(e) });
  assert.equal((await ok('get-instance-detail', { instance_id: instance.id })).state, 'provisioning');
  assert.match(String(errors[0]), /no INSTANCE_SECRETS_KEYS given to the worker/);
  server.clock.advance(30_000);
  await work();
  assert.equal((await ok('get-instance-detail', { instance_id: instance.id })).state, 'running');
});

test('sealing: bound to its record, opened by any configured secret, so a rotation keeps old values readable; tampering is refused', () => {
  const oldBox = new SecretBox(['o'.repeat(32)]);
  const sealed = oldBox.seal('value', 'instance:a:env');
  assert.equal(oldBox.open(sealed, 'instance:a:env'), 'value');
  assert.notEqual(oldBox.seal('value', 'instance:a:env'), sealed, 'a fresh IV each time');
  assert.throws(() => oldBox.open(sealed, 'instance:b:env'), 'another instance cannot open it');
  const rotated = new SecretBox(['n'.repeat(32), 'o'.repeat(32)]);
  assert.equal(rotated.open(sealed, 'instance:a:env'), 'value');
  const fresh = rotated.seal('new', 'c');
  assert.throws(() => oldBox.open(fresh, 'c'), /not in INSTANCE_SECRETS_KEYS/, 'the newest secret seals');
  const [v, kid, iv, body, tag] = fresh.split('.');
  const flipped = Buffer.from(body!, 'base64url');
  flipped[0]! ^= 1;
  assert.throws(() => rotated.open([v, kid, iv, flipped.toString('base64url'), tag].join('.'), 'c'));
  assert.throws(() => rotated.open('v1.x', 'c'), /unknown sealed value format/);
});

test('admin: image:list, image:set adds and changes, image:retire keeps it for running instances and refuses it for new ones', async () => {
  const lines: string[] = [];
  const admin = (...argv: string[]) => runAdmin(server.db, argv, (l) => lines.push(l));
  await admin('image:list');
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^ubuntu-24\.04-cuda-12\.8 \(default\): Ubuntu 24\.04 \+ CUDA 12\.8; Ubuntu 24\.04, CUDA 12\.8; /);
  lines.length = 0;

  await assert.rejects(admin('image:set', 'comfyui-1', 'name=ComfyUI'), { message: /a new image needs description, os, cuda_version/ });
  await admin(
    'image:set',
    'comfyui-1',
    'name=ComfyUI',
    'description=ComfyUI for image generation',
    'os=Ubuntu 24.04',
    'cuda_version=12.8',
    'frameworks=ComfyUI,PyTorch 2.7',
    'default_ports=8188',
    'min_vram_gb=16',
  );
  assert.match(lines.pop()!, /^Added image comfyui-1\./);
  const added = (await ok('list-images')).images.find((i: Structured) => i.id === 'comfyui-1');
  assert.deepEqual([added.frameworks, added.default_ports, added.min_vram_gb], [['ComfyUI', 'PyTorch 2.7'], [8188], 16]);
  await admin('image:set', 'comfyui-1', 'min_vram_gb=40', 'default_ports=8188,8189');
  assert.match(lines.pop()!, /^Updated image comfyui-1\./);
  await refused(
    'create-instance',
    { ...CREATE, plan: 'rtx5090-32gb', storage_gb: 50, image: 'comfyui-1' },
    /needs at least 40 GB of GPU memory per GPU, and rtx5090-32gb/,
  );
  const { instance } = await ok('create-instance', { ...CREATE, name: 'comfy', image: 'comfyui-1' });
  assert.deepEqual(
    instance.ports.map((p: Structured) => p.port),
    [8188, 8189],
  );

  await assert.rejects(admin('image:set', 'comfyui-1', 'default_ports=22'), InvalidInputError);
  await assert.rejects(admin('image:set', 'comfyui-1', 'min_vram_gb=lots'), { message: /min_vram_gb: expected whole GB/ });
  await assert.rejects(admin('image:set', 'comfyui-1', 'colour=blue'), { message: /unknown image field/ });
  await assert.rejects(admin('image:set', 'Bad Id', 'name=x'), InvalidInputError);

  await admin('image:retire', 'comfyui-1');
  assert.match(lines.pop()!, /^Retired image comfyui-1/);
  await admin('image:retire', 'comfyui-1');
  assert.match(lines.pop()!, /already is retired; nothing changed/);
  assert.ok(!(await ok('list-images')).images.some((i: Structured) => i.id === 'comfyui-1'));
  await refused(
    'create-instance',
    { ...CREATE, image: 'comfyui-1' },
    /^image: image comfyui-1 is retired and cannot be used for new instances; choose one of /,
  );
  assert.deepEqual((await ok('get-instance-detail', { instance_id: instance.id })).image, { id: 'comfyui-1', name: 'ComfyUI' });
  await admin('image:list');
  assert.ok(lines.some((l) => l.startsWith('comfyui-1 (retired): ComfyUI')));
  await assert.rejects(admin('image:retire', BASE), ConflictError);
  await assert.rejects(admin('image:set', BASE, 'retired=true'), ConflictError);
  await assert.rejects(admin('image:retire', 'nope'), NotFoundError);
});
