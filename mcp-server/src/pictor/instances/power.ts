// Power actions (provision, start, stop, restart, pause, resume, release) handed to the Provisioner. The scheduler
// (worker/due.ts) claims a batch of due actions with FOR UPDATE SKIP LOCKED and leases them
// (action_due_at moved out) in a short transaction; here the provisioner is called outside any
// transaction, and results are applied only where the instance still carries the same action_seq —
// a superseded or re-claimed action changes nothing.
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import { writeLogs, type InstanceRecord, type LogLine } from './records.ts';
import type { ExposedPort, Machine, MachineSetup, Provisioner } from '../provisioner.ts';
import type { SecretBox } from '../sealing.ts';

export interface PowerOptions {
  /** Wait before retrying an action whose provisioner call failed. */
  retryMs: number;
  /** Earliest re-poll of a pending action, so a driver cannot make a worker spin. */
  minPollMs: number;
  /** Opens the environment and startup script sealed at creation; needed only for instances that have them. */
  secrets?: SecretBox | undefined;
  onError?: (error: unknown, instanceId: string) => void;
}

type Outcome =
  | { row: InstanceRecord; kind: 'pending'; retryAt: Date }
  | { row: InstanceRecord; kind: 'failed'; error: unknown }
  | { row: InstanceRecord; kind: 'done'; log: LogLine[]; ssh?: { host: string; port: number }; ports?: ExposedPort[] };

function machine(row: InstanceRecord): Machine {
  return {
    instanceId: row.id,
    regionId: row.region_id,
    planId: row.plan_id,
    gpuModel: row.gpu_model,
    vramGb: row.vram_gb,
    gpuCount: row.gpu_count,
    vcpus: row.vcpu_per_gpu * row.gpu_count,
    ramGb: row.ram_gb_per_gpu * row.gpu_count,
    storageGb: row.storage_gb,
    requestedAt: row.action_requested_at ?? row.updated_at,
  };
}

/**
 * What the machine is launched with, the sealed parts opened: the one place they are in clear, and
 * only on their way to the provisioner. An error here never carries a value.
 */
async function launchSetup(db: Db, row: InstanceRecord, secrets: SecretBox | undefined): Promise<MachineSetup> {
  let env: Record<string, string> = {};
  let startupScript: string | null = null;
  if (row.env_names.length > 0 || row.has_startup_script) {
    if (!secrets) throw new Error('no INSTANCE_SECRETS_KEYS given to the worker: cannot open the environment and startup script');
    const sealed = await db.selectFrom('instance_secrets').selectAll().where('instance_id', '=', row.id).executeTakeFirst();
    if (!sealed) throw new Error('the sealed environment and startup script of the instance are missing');
    if (sealed.env_sealed) env = JSON.parse(secrets.open(sealed.env_sealed, `instance:${row.id}:env`)) as Record<string, string>;
    if (sealed.startup_script_sealed) startupScript = secrets.open(sealed.startup_script_sealed, `instance:${row.id}:startup_script`);
  }
  return {
    image: { id: row.image_id, name: row.image_name, os: row.image_os, cudaVersion: row.image_cuda_version, frameworks: [...row.image_frameworks] },
    env,
    ports: [...row.ports],
    startupScript,
  };
}

const boot = (row: InstanceRecord, lines: Array<{ at: Date; message: string }>): LogLine[] =>
  lines.map((l) => ({ instanceId: row.id, at: l.at, source: 'boot', message: l.message }));

async function perform(db: Db, provisioner: Provisioner, row: InstanceRecord, now: Date, secrets: SecretBox | undefined): Promise<Outcome> {
  const m = machine(row);
  try {
    switch (row.pending_action) {
      case 'provision':
      case 'resume': {
        // a resumed machine boots its kept disk: the first-boot setup (environment, script) is not run again
        const r =
          row.pending_action === 'provision'
            ? await provisioner.provision({ ...m, setup: await launchSetup(db, row, secrets) }, now)
            : await provisioner.resume({ ...m, ports: [...row.ports] }, now);
        if (r.status === 'pending') return { row, kind: 'pending', retryAt: r.retryAt };
        return {
          row,
          kind: 'done',
          ssh: { host: r.sshHost, port: r.sshPort },
          ports: r.ports,
          log: [...boot(row, r.log), { instanceId: row.id, at: now, source: 'lifecycle', message: `Running: SSH at ${r.sshHost} port ${r.sshPort}` }],
        };
      }
      case 'start':
      case 'stop':
      case 'restart':
      case 'pause':
      case 'release': {
        const r = await provisioner[row.pending_action](m, now);
        if (r.status === 'pending') return { row, kind: 'pending', retryAt: r.retryAt };
        const done = {
          start: 'Powered on; SSH is answering',
          stop: 'Powered off',
          restart: 'Restarted; SSH is answering',
          pause: 'Powered off; GPUs returned, disk kept',
          release: 'Machine released',
        }[row.pending_action];
        return { row, kind: 'done', log: [...boot(row, r.log), { instanceId: row.id, at: now, source: 'lifecycle', message: done }] };
      }
      default:
        return { row, kind: 'failed', error: new Error(`unknown pending action ${String(row.pending_action)}`) };
    }
  } catch (error) {
    return { row, kind: 'failed', error };
  }
}

/**
 * Carries out power actions the scheduler has claimed (and leased) and applies each result where
 * the instance still carries the action_seq it was claimed with.
 */
export async function carryOutPowerActions(db: Db, provisioner: Provisioner, claimed: InstanceRecord[], now: Date, options: PowerOptions): Promise<void> {
  if (claimed.length === 0) return;
  const outcomes = await Promise.all(claimed.map((row) => perform(db, provisioner, row, now, options.secrets)));
  for (const o of outcomes) if (o.kind === 'failed') options.onError?.(o.error, o.row.id);

  await db.transaction().execute(async (trx) => {
    const ids: string[] = [];
    const seqs: number[] = [];
    const dueAt: string[] = [];
    const state: string[] = [];
    const hosts: Array<string | null> = [];
    const ports: Array<number | null> = [];
    const clear: boolean[] = [];
    const exposed: Array<string | null> = [];
    for (const o of outcomes) {
      ids.push(o.row.id);
      seqs.push(o.row.action_seq);
      const retry = o.kind === 'pending' ? Math.max(o.retryAt.getTime(), now.getTime() + options.minPollMs) : now.getTime() + options.retryMs;
      dueAt.push(new Date(retry).toISOString());
      clear.push(o.kind === 'done');
      const provisioned = o.kind === 'done' && o.row.pending_action === 'provision';
      state.push(provisioned && o.row.state === 'provisioning' ? 'running' : o.row.state);
      // a released or paused machine has no SSH address; a resumed one gets a new one
      const released = o.kind === 'done' && (o.row.pending_action === 'release' || o.row.pending_action === 'pause');
      hosts.push(o.kind === 'done' && o.ssh ? o.ssh.host : released ? null : o.row.ssh_host);
      ports.push(o.kind === 'done' && o.ssh ? o.ssh.port : released ? null : o.row.ssh_port);
      const keep = o.row.exposed_ports === null ? null : JSON.stringify(o.row.exposed_ports);
      exposed.push(o.kind === 'done' && o.ports ? JSON.stringify(o.ports) : released ? null : keep);
    }
    // The state column is only moved provisioning → running; everything else keeps what a
    // concurrent user action may have set (the action_seq guard already excludes those rows).
    const applied = await sql<{ id: string }>`
      UPDATE instances i SET
        state = CASE WHEN i.state = 'provisioning' AND v.state = 'running' THEN 'running' ELSE i.state END,
        ssh_host = v.host, ssh_port = v.port, exposed_ports = v.exposed,
        pending_action = CASE WHEN v.clear THEN NULL ELSE i.pending_action END,
        action_due_at = CASE WHEN v.clear THEN NULL ELSE v.due_at END,
        updated_at = CASE WHEN v.clear THEN ${now} ELSE i.updated_at END
      FROM unnest(${ids}::uuid[], ${seqs}::int[], ${dueAt}::timestamptz[], ${state}::text[], ${hosts}::text[], ${ports}::int[], ${clear}::bool[], ${exposed}::jsonb[])
        AS v(id, seq, due_at, state, host, port, clear, exposed)
      WHERE i.id = v.id AND i.action_seq = v.seq
      RETURNING i.id`.execute(trx);
    const live = new Set(applied.rows.map((r) => r.id));
    const logs: LogLine[] = [];
    for (const o of outcomes) {
      if (!live.has(o.row.id)) continue;
      if (o.kind === 'done') logs.push(...o.log);
      if (o.kind === 'failed') {
        logs.push({
          instanceId: o.row.id,
          at: now,
          source: 'lifecycle',
          message: `The hardware did not answer the ${o.row.pending_action} request; retrying shortly`,
        });
      }
    }
    await writeLogs(trx, logs);
    // A released machine's disk is wiped: what it was launched with is not kept either.
    const released = outcomes.filter((o) => o.kind === 'done' && o.row.pending_action === 'release' && live.has(o.row.id)).map((o) => o.row.id);
    if (released.length > 0) await trx.deleteFrom('instance_secrets').where('instance_id', 'in', released).execute();
  });
}
