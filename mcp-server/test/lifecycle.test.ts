// The lifecycle worker's power actions and the simulated provisioner: driven by due times on the
// ManualClock (no sleeping for time), retried on driver failure, applied once across workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createDb } from '@pictor/platform/db';
import { createInstance, getInstanceDetail, getInstanceLogs } from '../src/pictor/instances/index.ts';
import { SimulatedProvisioner, simulatedSshPort, type Machine, type ProvisionRequest, type Provisioner } from '../src/pictor/provisioner.ts';
import { runLifecycleOnce, startLifecycleWorker } from '../src/worker/lifecycle.ts';
import { fund, h100, HOUR, newUser, setupCore } from './core-fixtures.ts';

const MACHINE: Machine = {
  instanceId: '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f',
  regionId: 'eu-west',
  planId: 'rtx5090-32gb',
  gpuModel: 'RTX 5090 32GB',
  vramGb: 32,
  gpuCount: 4,
  vcpus: 32,
  ramGb: 256,
  storageGb: 200,
  requestedAt: new Date('2026-03-01T00:00:00Z'),
};
const BARE: ProvisionRequest = {
  ...MACHINE,
  setup: {
    image: { id: 'ubuntu-24.04-cuda-12.8', name: 'Ubuntu 24.04 + CUDA 12.8', os: 'Ubuntu 24.04', cudaVersion: '12.8', frameworks: [] },
    env: {},
    ports: [],
    startupScript: null,
  },
};

test('the simulated provisioner finishes a fixed time after the request, with realistic boot output', async () => {
  const p = new SimulatedProvisioner();
  const early = await p.provision(BARE, new Date('2026-03-01T00:00:04.999Z'));
  assert.deepEqual(early, { status: 'pending', retryAt: new Date('2026-03-01T00:00:05Z') });
  const done = await p.provision(BARE, new Date('2026-03-01T00:00:05Z'));
  assert.equal(done.status, 'done');
  if (done.status !== 'done') return;
  assert.equal(done.sshHost, 'eu-west.gpu.pictor.dev');
  assert.equal(done.sshPort, simulatedSshPort(MACHINE.instanceId));
  assert.ok(done.sshPort >= 20000 && done.sshPort < 60000);
  const text = done.log.map((l) => l.message);
  assert.match(text[0]!, /Linux version 6\.8/);
  assert.ok(text.some((m) => /NVRM: loading NVIDIA UNIX x86_64 Kernel Module/.test(m)));
  assert.equal(text.filter((m) => /nvidia-smi: GPU \d: NVIDIA GeForce RTX 5090 \(UUID: GPU-[0-9a-f-]+\) {2}32768MiB/.test(m)).length, 4);
  assert.ok(text.some((m) => /smpboot: Allowing 32 CPUs/.test(m)));
  assert.ok(text.some((m) => /Server listening on 0\.0\.0\.0 port 22/.test(m)));
  const times = done.log.map((l) => l.at.getTime());
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
  assert.ok(times[0]! >= MACHINE.requestedAt.getTime() && times.at(-1)! <= MACHINE.requestedAt.getTime() + 5000);
  // Deterministic: every replica computes the same result.
  assert.deepEqual(await p.provision(BARE, new Date('2026-03-01T01:00:00Z')), { ...done, log: done.log });
  assert.equal((await p.stop(MACHINE, new Date('2026-03-01T00:00:01Z'))).status, 'pending');
  assert.equal((await p.release(MACHINE, MACHINE.requestedAt)).status, 'done');
});

test('a failing driver is retried later with a log line; the action then completes once', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '100' });
  const { id } = await createInstance(db, user.actor, h100({ gpuCount: 1, storageGb: 100, rentalHours: 1 }), clock);
  const real = new SimulatedProvisioner({ provisionMs: 0 });
  let failures = 1;
  const flaky: Provisioner = {
    provision: async (m, now) => {
      if (failures-- > 0) throw new Error('driver timeout');
      return real.provision(m, now);
    },
    start: (m, now) => real.start(m, now),
    stop: (m, now) => real.stop(m, now),
    restart: (m, now) => real.restart(m, now),
    pause: (m, now) => real.pause(m, now),
    resume: (m, now) => real.resume(m, now),
    release: (m, now) => real.release(m, now),
  };
  const errors: unknown[] = [];
  const report = await runLifecycleOnce({ db, clock, provisioner: flaky, retryMs: 30_000, onError: (e) => errors.push(e) });
  assert.equal(report.actions, 1);
  assert.equal(errors.length, 1);
  assert.equal((await getInstanceDetail(db, user.actor, id)).state, 'provisioning');
  assert.ok((await getInstanceLogs(db, user.actor, id)).items.some((l) => l.message === 'The hardware did not answer the provision request; retrying shortly'));

  clock.advance(29_999);
  assert.equal((await runLifecycleOnce({ db, clock, provisioner: flaky })).actions, 0);
  clock.advance(1);
  assert.equal((await runLifecycleOnce({ db, clock, provisioner: flaky })).actions, 1);
  assert.equal((await getInstanceDetail(db, user.actor, id)).state, 'running');
  assert.equal((await runLifecycleOnce({ db, clock, provisioner: flaky })).actions, 0);
});

test('two workers on separate pools provision 200 instances, each exactly once', async (t) => {
  const { db, url, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '100000' });
  await db
    .updateTable('region_capacity')
    .set({ total_gpus: 500, free_gpus: 500 })
    .where('region_id', '=', 'us-east')
    .where('plan_id', '=', 'rtx4090-24gb')
    .execute();
  for (let i = 0; i < 200; i++)
    await createInstance(db, user.actor, h100({ plan: 'rtx4090-24gb', gpuCount: 1, storageGb: 50, rentalHours: 1, name: `p${i}` }), clock);
  const a = createDb(url, { max: 3 });
  const b = createDb(url, { max: 3 });
  t.after(() => Promise.all([a.destroy(), b.destroy()]).then(() => undefined));
  clock.advance(5000);
  const provisioner = new SimulatedProvisioner();
  const reports = await Promise.all([a, b, a, b].map((pool) => runLifecycleOnce({ db: pool, clock, provisioner, batchSize: 20 })));
  assert.equal(
    reports.reduce((n, r) => n + r.actions, 0),
    200,
  );
  const states = await sql<{ state: string; n: number }>`SELECT state, count(*)::int AS n FROM instances GROUP BY state`.execute(db);
  assert.deepEqual(states.rows, [{ state: 'running', n: 200 }]);
  const running = await sql<{ n: number }>`SELECT count(*)::int AS n FROM instance_logs WHERE message LIKE 'Running: SSH at %'`.execute(db);
  assert.equal(running.rows[0]!.n, 200);
  const sshd = await sql<{ max: number }>`
    SELECT max(n)::int AS max FROM (SELECT count(*) AS n FROM instance_logs WHERE message LIKE 'sshd[%]: Server listening on 0.0.0.0%' GROUP BY instance_id) x`.execute(
    db,
  );
  assert.equal(sshd.rows[0]!.max, 1);
});

test('startLifecycleWorker runs on an interval until stopped', async (t) => {
  const { db, clock } = await setupCore(t);
  const user = await newUser(db);
  await fund(db, user.accountId, { balance: '100' });
  const { id } = await createInstance(db, user.actor, h100({ gpuCount: 1, storageGb: 100, rentalHours: 1 }), clock);
  clock.advance(5000);
  let runs = 0;
  const worker = startLifecycleWorker({
    db,
    clock,
    provisioner: new SimulatedProvisioner(),
    intervalMs: 5,
    onReport: () => {
      runs += 1;
    },
  });
  // Wait for the worker's own scheduling (not for simulated time: the clock does not move).
  for (let i = 0; i < 400 && (await getInstanceDetail(db, user.actor, id)).state !== 'running'; i++) await new Promise((r) => setTimeout(r, 5));
  await worker.stop();
  assert.equal((await getInstanceDetail(db, user.actor, id)).state, 'running');
  const after = runs;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(runs, after, 'no runs after stop');
  clock.advance(HOUR);
});
