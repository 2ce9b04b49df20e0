// The operator CLI: each command through runAdmin, and one real `tsx admin.ts` process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase } from '@pictor/platform/testing';
import { runAdmin, UsageError } from '../src/admin.ts';
import { createInstance } from '../src/pictor/instances/index.ts';
import { listTeams } from '../src/pictor/accounts.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../src/pictor/errors.ts';
import { ManualClock } from '@pictor/platform/clock';
import { freeGpus, funds, h100, newUser } from './core-fixtures.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

test('admin commands: seed, plans, capacity, credit, teams', async (t) => {
  const { db, drop } = await createTestDatabase();
  t.after(drop);
  const lines: string[] = [];
  const admin = (...argv: string[]) => runAdmin(db, argv, (l) => lines.push(l));

  await admin('plan:list');
  assert.match(lines.pop()!, /No plans/);
  await admin('seed');
  assert.equal(lines.pop(), 'Seeded the default catalog.');
  await admin('seed');
  assert.match(lines.pop()!, /nothing changed/);
  await admin('plan:list');
  assert.equal(lines.length, 6);
  assert.ok(lines.some((l) => /^h100-80gb: H100 80GB, 80 GB VRAM, .*2\.49\/GPU-h, counts 1,2,4,8, .*us-east 64\/64 free/.test(l)));
  lines.length = 0;

  await admin('plan:set', 'h100-80gb', 'price_per_gpu_hour=2.29', 'allowed_gpu_counts=8,1,2');
  assert.match(lines.pop()!, /^Updated plan h100-80gb/);
  const plan = await db.selectFrom('gpu_plans').selectAll().where('id', '=', 'h100-80gb').executeTakeFirstOrThrow();
  assert.equal(plan.price_per_gpu_hour, 2_290_000n);
  assert.deepEqual(plan.allowed_gpu_counts, [1, 2, 8]);
  await assert.rejects(admin('plan:set', 'b200-192gb', 'gpu_model=B200'), { message: /a new plan needs vram_gb/ });
  await admin(
    'plan:set',
    'b200-192gb',
    'gpu_model=B200 192GB',
    'vram_gb=192',
    'vcpu_per_gpu=28',
    'ram_gb_per_gpu=256',
    'price_per_gpu_hour=5.49',
    'allowed_gpu_counts=8',
    'min_storage_gb=500',
    'max_storage_gb=16000',
    'storage_price_per_gb_month=0.10',
  );
  assert.match(lines.pop()!, /^Created plan b200-192gb/);
  await assert.rejects(admin('plan:set', 'h100-80gb', 'price_per_gpu_hour=cheap'), InvalidInputError);
  await assert.rejects(admin('plan:set', 'h100-80gb', 'colour=blue'), { message: /unknown plan field/ });
  await assert.rejects(admin('plan:set', 'h100-80gb'), UsageError);

  // Capacity moves free by the delta and never below what instances use.
  const user = await newUser(db);
  await admin('credit', user.email, '1000');
  assert.match(lines.pop()!, /^Granted 1000\.00 credits of promotional credit to .*; their credit is now 1000\.00\.$/);
  assert.deepEqual(await funds(db, user.accountId), { balance: 0n, credit: 1_000_000_000n });
  await createInstance(db, user.actor, h100({ gpuCount: 8 }), new ManualClock());
  await admin('capacity:set', 'us-east', 'h100-80gb', '10');
  assert.equal(lines.pop(), 'us-east h100-80gb: 10 GPUs in total, 2 free, 8 in use.');
  await assert.rejects(
    admin('capacity:set', 'us-east', 'h100-80gb', '7'),
    (err: unknown) => err instanceof ConflictError && /8 GPUs are in use/.test(err.message),
  );
  assert.equal(await freeGpus(db, 'us-east', 'h100-80gb'), 2);
  await admin('capacity:set', 'ap-southeast', 'b200-192gb', '16');
  assert.equal(lines.pop(), 'ap-southeast b200-192gb: 16 GPUs in total, 16 free, 0 in use.');
  await assert.rejects(admin('capacity:set', 'moon', 'h100-80gb', '1'), NotFoundError);
  await assert.rejects(admin('capacity:set', 'us-east', 'h100-80gb', '-1'), InvalidInputError);

  await assert.rejects(admin('credit', user.email, '-5'), InvalidInputError);
  await assert.rejects(admin('credit', user.email, '1.1234567'), InvalidInputError);
  await assert.rejects(admin('credit', 'not-an-email', '5'), InvalidInputError);

  await admin('team:create', user.email, 'GPU', 'Lab');
  const teamId = /\(([0-9a-f-]{36})\)/.exec(lines.pop()!)![1]!;
  await admin('team:add', teamId, 'Colleague@Example.test', 'admin');
  assert.equal(lines.pop(), `Added Colleague@Example.test to "GPU Lab" as admin.`);
  const colleague = await newUser(db, 'colleague@example.test');
  assert.deepEqual(
    (await listTeams(db, colleague.id)).map((t) => [t.name, t.role]),
    [['GPU Lab', 'admin']],
  );
  await assert.rejects(admin('team:add', teamId, 'colleague@example.test'), ConflictError);
  await assert.rejects(admin('team:add', teamId, 'x@example.test', 'boss'), InvalidInputError);
  await assert.rejects(admin('team:add', '00000000-0000-4000-8000-000000000000', 'x@example.test'), NotFoundError);

  // Roles: viewer on team:add, and team:role to change one; the last owner stays owner.
  await admin('team:add', teamId, 'watcher@example.test', 'viewer');
  assert.equal(lines.pop(), 'Added watcher@example.test to "GPU Lab" as viewer.');
  await admin('team:role', teamId, 'WATCHER@example.test', 'member');
  assert.equal(lines.pop(), 'watcher@example.test is now member in "GPU Lab" (was viewer).');
  await admin('team:role', teamId, 'watcher@example.test', 'member');
  assert.equal(lines.pop(), 'watcher@example.test already is member in "GPU Lab"; nothing changed.');
  const watcher = await newUser(db, 'watcher@example.test');
  assert.deepEqual(
    (await listTeams(db, watcher.id)).map((t) => t.role),
    ['member'],
  );
  await assert.rejects(
    admin('team:role', teamId, user.email, 'admin'),
    (err: unknown) =>
      err instanceof ConflictError && /only owner of team GPU Lab, and a team always keeps an owner: make another member owner first/.test(err.message),
  );
  await admin('team:role', teamId, 'watcher@example.test', 'owner');
  await admin('team:role', teamId, user.email, 'admin');
  assert.equal(lines.pop(), `${user.email} is now admin in "GPU Lab" (was owner).`);
  await assert.rejects(admin('team:role', teamId, 'stranger@example.test', 'member'), {
    message: 'email: stranger@example.test is not a member of "GPU Lab"; add them with team:add',
  });
  await newUser(db, 'outside@example.test');
  await assert.rejects(admin('team:role', teamId, 'outside@example.test', 'member'), {
    message: 'email: outside@example.test is not a member of "GPU Lab"; add them with team:add',
  });
  assert.equal((await db.selectFrom('users').select('id').where('email', '=', 'stranger@example.test').execute()).length, 0, 'team:role creates no user');
  await assert.rejects(admin('team:role', teamId, 'watcher@example.test', 'boss'), {
    message: 'role: expected one of viewer, member, admin, owner, got "boss"',
  });
  await assert.rejects(admin('team:role', teamId, 'watcher@example.test'), UsageError);
  await assert.rejects(admin('team:role', 'nope', 'watcher@example.test', 'member'), NotFoundError);
  await assert.rejects(admin('frobnicate'), UsageError);
  await admin('help');
  assert.match(lines.pop()!, /^Usage: npm run admin/);
});

test('the CLI process reads DATABASE_URL, prints results, and exits non-zero on errors', async (t) => {
  const { db, url, drop } = await createTestDatabase();
  t.after(drop);
  const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
  const cli = path.join(root, 'mcp-server', 'src', 'admin.ts');
  const env = { ...process.env, DATABASE_URL: url };
  const seeded = await run(tsx, [cli, 'seed'], { env, cwd: root });
  assert.match(seeded.stdout, /Seeded the default catalog/);
  assert.ok((await db.selectFrom('gpu_plans').select('id').execute()).length === 6);
  await assert.rejects(
    run(tsx, [cli, 'capacity:set', 'us-east', 'nope', '4'], { env, cwd: root }),
    (err: { code?: number; stderr?: string }) => err.code === 1 && /GPU plan not found/.test(err.stderr ?? ''),
  );
  const { DATABASE_URL: _omit, ...noUrl } = env;
  await assert.rejects(
    run(tsx, [cli, 'plan:list'], { env: noUrl, cwd: root }),
    (err: { code?: number; stderr?: string }) => err.code === 2 && /DATABASE_URL is required/.test(err.stderr ?? ''),
  );
});
