// `npm run soak`: the product under mixed load from several simulated people for a long time
// (SOAK_SECONDS, default 600), on its own embedded Postgres, the auth and MCP servers as processes.
// Each person signed in through the real flow and works in a loop: reads the catalog and balance,
// creates instances (price check first), adds hours, stops and starts them, toggles auto-renew,
// renames and deletes them, manages SSH keys, and renews the access token with the refresh grant.
// Passes when no answer was a 5xx or an internal error, the ledger still equals every balance, and
// memory stayed flat; prints its figures and writes bench/results/soak-latest.json.
//
// Environment: SOAK_SECONDS (600), SOAK_USERS (8), SOAK_THINK_MS (pause between a person's calls, 5).
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { grantPromotionCredit } from '../mcp-server/src/pictor/balance.ts';
import { probeHeap } from './lib/heap.ts';
import { ROOT } from './lib/services.ts';
import { startStack } from './lib/stack.ts';
import { percentile } from './lib/stats.ts';

const env = process.env;
const SECONDS = Number(env.SOAK_SECONDS ?? 600);
const USERS = Number(env.SOAK_USERS ?? 8);
const THINK_MS = Number(env.SOAK_THINK_MS ?? 5);
/** A heap that keeps more than this after each collection, per minute, over the second half, is a leak. */
const HEAP_GROWTH_LIMIT_MB_PER_MIN = 0.5;
/** The services run with a 512 MB old generation (their Dockerfiles); RSS stays below it. */
const RSS_LIMIT_MB = 512;
const log = (line: string) => process.stdout.write(`${line}\n`);

interface Tally {
  calls: number;
  ms: number[];
  refused: Record<string, number>;
  fiveXx: number;
  internal: number;
  other: number;
}
const tallies = new Map<string, Tally>();
const failures: string[] = [];
function record(kind: string, ms: number, outcome: { status: number; code?: string; text: string }): void {
  const t = tallies.get(kind) ?? { calls: 0, ms: [], refused: {}, fiveXx: 0, internal: 0, other: 0 };
  tallies.set(kind, t);
  t.calls += 1;
  if (t.ms.length < 200_000) t.ms.push(ms);
  if (outcome.status >= 500) t.fiveXx += 1;
  else if (outcome.code === 'internal' || /Internal error/.test(outcome.text)) t.internal += 1;
  else if (outcome.status !== 200) t.other += 1;
  else if (outcome.code) t.refused[outcome.code] = (t.refused[outcome.code] ?? 0) + 1;
  if ((outcome.status >= 500 || outcome.code === 'internal') && failures.length < 20) failures.push(`${kind}: ${outcome.status} ${outcome.text.slice(0, 200)}`);
}

const sshKeyLine = () => {
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  const raw = der.subarray(der.length - 32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]).toString('base64')} soak@pictor`;
};

log(`Soak: ${USERS} people for ${SECONDS} s (think ${THINK_MS} ms). Starting Postgres, the auth server and the MCP server…`);
const stack = await startStack({ inspect: true });
let exitCode = 0;
try {
  const people = [];
  for (let i = 0; i < USERS; i++) {
    const flow = await stack.signIn();
    const tokens = await flow.tokens();
    await grantPromotionCredit(stack.db, flow.email, 100_000_000_000n, 'soak credit');
    people.push({ flow, tokens, n: i });
  }
  const rss = { mcp: [] as Array<[number, number]>, auth: [] as Array<[number, number]> };
  // The heap still in use after a full collection, every 30 s: what a leak would grow (RSS also
  // follows how far V8 lets the heap grow before collecting). A collection pauses the service for
  // some milliseconds, so this is sampled less often than RSS.
  const heap = { mcp: [] as Array<[number, number]>, auth: [] as Array<[number, number]> };
  const probes = { mcp: await probeHeap(stack.mcp), auth: await probeHeap(stack.auth) };
  const started = Date.now();
  const sampleRss = () => {
    const at = Math.round((Date.now() - started) / 1000);
    rss.mcp.push([at, stack.mcp.rssMb()]);
    rss.auth.push([at, stack.auth.rssMb()]);
  };
  const sampleHeap = async () => {
    for (const k of ['mcp', 'auth'] as const) {
      const used = await probes[k].usedAfterGcMb();
      heap[k].push([Math.round((Date.now() - started) / 1000), used]);
    }
  };
  sampleRss();
  await sampleHeap();
  const sampler = setInterval(sampleRss, 10_000);
  const heapSampler = setInterval(() => void sampleHeap().catch((error: unknown) => failures.push(`heap probe: ${String(error)}`)), 30_000);
  const reporter = setInterval(() => {
    const calls = [...tallies.values()].reduce((n, t) => n + t.calls, 0);
    const bad = [...tallies.values()].reduce((n, t) => n + t.fiveXx + t.internal, 0);
    log(`  ${Math.round((Date.now() - started) / 1000)} s: ${calls} calls, ${bad} 5xx/internal, RSS mcp ${stack.mcp.rssMb()} MB auth ${stack.auth.rssMb()} MB`);
  }, 30_000);
  const deadline = started + SECONDS * 1000;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  await Promise.all(
    people.map(async (p) => {
      let lastRefresh = Date.now();
      let id = 0;
      const instances: string[] = [];
      const createdAt = new Map<string, number>();
      const keys: string[] = [];
      const call = async (name: string, args: Record<string, unknown> = {}, kind = name) => {
        const t0 = performance.now();
        let outcome: { status: number; code?: string; text: string; structured?: Record<string, any> };
        try {
          const res = await fetch(stack.mcpUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${p.tokens.accessToken}` },
            body: JSON.stringify(
              name === 'tools/list'
                ? { jsonrpc: '2.0', id: ++id, method: 'tools/list' }
                : { jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name, arguments: args } },
            ),
          });
          const json = (await res.json()) as {
            result?: {
              isError?: boolean;
              structuredContent?: Record<string, unknown>;
              content?: Array<{ text: string }>;
              _meta?: Record<string, { code?: string }>;
            };
            error?: { message: string };
          };
          const text = json.error?.message ?? json.result?.content?.map((c) => c.text).join('\n') ?? '';
          outcome = {
            status: res.status,
            code: json.result?.isError ? (json.result._meta?.['network.pictor/error']?.code ?? 'unknown') : undefined,
            text,
            structured: json.result?.structuredContent,
          };
        } catch (error) {
          outcome = { status: 599, text: String(error) };
        }
        record(kind, performance.now() - t0, outcome);
        return outcome;
      };
      const small = { plan: 'rtx4090-24gb', gpu_count: 1, region: ['us-east', 'eu-west', 'ap-southeast'][p.n % 3], storage_gb: 50, rental_hours: 1 };
      for (let step = 0; Date.now() < deadline; step++) {
        const pick = step % 20;
        const instance = instances[step % Math.max(instances.length, 1)];
        if (pick === 0) await call('tools/list');
        else if (pick === 1 || pick === 11) await call('list-gpus');
        else if (pick === 2) await call('check-gpu-availability', { gpu: 'rtx4090', gpu_count: 1 });
        else if (pick === 3) {
          // up to three instances at a time, the oldest deleted after 20 s, so each lives long
          // enough to be provisioned, stopped and started
          if (instances.length >= 3 && Date.now() - createdAt.get(instances[0]!)! > 20_000) {
            await call('delete-instance', { instance_id: instances.shift()! });
          } else if (instances.length >= 3) {
            await call('get-user-balance');
          } else {
            await call('create-instance', { ...small, name: `soak-${p.n}-${step}`, dry_run: true }, 'create-instance (dry run)');
            const created = await call('create-instance', { ...small, name: `soak-${p.n}-${step}`, ssh_key_ids: keys.slice(0, 1) });
            if (created.structured?.instance?.id) {
              instances.push(created.structured.instance.id);
              createdAt.set(created.structured.instance.id, Date.now());
            }
          }
        } else if (pick === 4 && instance) await call('add-instance-hours', { instance_id: instance, hours: 1, dry_run: step % 40 === 4 });
        else if (pick === 5 && instance) await call(step % 40 === 5 ? 'stop-instance' : 'start-instance', { instance_id: instance });
        else if (pick === 6 && instance) await call(step % 40 === 6 ? 'enable-instance-auto-renew' : 'disable-instance-auto-renew', { instance_id: instance });
        else if (pick === 7 && instance) await call('get-instance-detail', { instance_id: instance });
        else if (pick === 8 && instance) await call('get-instance-logs', { instance_id: instance, limit: 20 });
        else if (pick === 9 && instance) await call('rename-instance', { instance_id: instance, name: `soak-${p.n}-r${step}` });
        else if (pick === 10) await call('list-my-instances', { limit: 20 });
        else if (pick === 12) {
          if (keys.length >= 2) await call('delete-ssh-key', { ssh_key_id: keys.shift()! });
          else {
            const made = await call('create-ssh-key', { name: `soak key ${p.n}-${step}`, public_key: sshKeyLine() });
            if (made.structured?.id) keys.push(made.structured.id);
          }
        } else if (pick === 13) await call('list-ssh-keys');
        else if (pick === 14 && keys[0]) await call('update-ssh-key', { ssh_key_id: keys[0], name: `soak key ${p.n}-u${step}` });
        else if (pick === 15 && instance && keys[0]) await call('add-ssh-keys-to-instance', { instance_id: instance, ssh_key_ids: [keys[0]] });
        else await call('get-user-balance');

        if (Date.now() - lastRefresh > 60_000) {
          // the refresh grant, as Claude renews its token (rotated: the new refresh token replaces the old)
          lastRefresh = Date.now();
          const t0 = performance.now();
          const res = await fetch(`${stack.issuer}/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: p.tokens.refreshToken, client_id: p.flow.clientId }),
          });
          const body = (await res.json()) as { access_token?: string; refresh_token?: string; error?: string };
          record('auth: refresh grant', performance.now() - t0, { status: res.status, text: body.error ?? '', code: body.error });
          if (body.access_token && body.refresh_token) p.tokens = { accessToken: body.access_token, refreshToken: body.refresh_token };
        }
        if (THINK_MS > 0) await sleep(THINK_MS);
      }
    }),
  );
  clearInterval(sampler);
  clearInterval(heapSampler);
  clearInterval(reporter);
  sampleRss();
  await sampleHeap();
  probes.mcp.close();
  probes.auth.close();
  const elapsed = (Date.now() - started) / 1000;

  const mismatched = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM accounts a
    WHERE a.balance <> coalesce((SELECT sum(amount) FROM ledger_entries l WHERE l.account_id = a.id AND bucket = 'balance'), 0)
       OR a.credit <> coalesce((SELECT sum(amount) FROM ledger_entries l WHERE l.account_id = a.id AND bucket = 'credit'), 0)`.execute(stack.db);
  const capacity = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM region_capacity rc
    WHERE rc.free_gpus <> rc.total_gpus - (SELECT coalesce(sum(gpu_count), 0) FROM instances i
      WHERE i.region_id = rc.region_id AND i.plan_id = rc.plan_id AND i.state IN ('provisioning', 'running', 'stopped'))`.execute(stack.db);

  const pct = (xs: number[], q: number) => Math.round(percentile(xs, q) * 10) / 10;
  const all = [...tallies.values()];
  const calls = all.reduce((n, t) => n + t.calls, 0);
  const fiveXx = all.reduce((n, t) => n + t.fiveXx, 0);
  const internal = all.reduce((n, t) => n + t.internal, 0);
  const half = (series: Array<[number, number]>) => series.filter(([at]) => at >= elapsed / 2);
  const slope = (series: Array<[number, number]>) => {
    const pts = half(series);
    if (pts.length < 2) return 0;
    const [t0, m0] = pts[0]!;
    const [t1, m1] = pts.at(-1)!;
    return Math.round(((m1 - m0) / Math.max(1, t1 - t0)) * 60 * 10) / 10;
  };
  const memory = Object.fromEntries(
    (['mcp', 'auth'] as const).map((k) => [
      k,
      {
        startMb: rss[k][0]![1],
        middleMb: rss[k][Math.floor((rss[k].length - 1) / 2)]![1],
        endMb: rss[k].at(-1)![1],
        peakMb: Math.max(...rss[k].map(([, m]) => m)),
        secondHalfMbPerMin: slope(rss[k]),
        series: rss[k],
        heapAfterGc: {
          startMb: heap[k][0]![1],
          endMb: heap[k].at(-1)![1],
          secondHalfMbPerMin: slope(heap[k]),
          series: heap[k],
        },
      },
    ]),
  );
  // No leak: the heap live after a collection does not grow over the second half (the first half
  // fills the caches and pools), and RSS stays under the services' 512 MB old-generation cap.
  const flat = Object.values(memory).every((m) => m.heapAfterGc.secondHalfMbPerMin < HEAP_GROWTH_LIMIT_MB_PER_MIN && m.peakMb <= RSS_LIMIT_MB);
  const report = {
    generatedAt: new Date().toISOString(),
    settings: { seconds: SECONDS, users: USERS, thinkMs: THINK_MS },
    elapsedSeconds: Math.round(elapsed),
    calls,
    callsPerSecond: Math.round(calls / elapsed),
    fiveXx,
    internal,
    ledgerMatchesBalances: mismatched.rows[0]!.n === 0,
    capacityMatchesInstances: capacity.rows[0]!.n === 0,
    memory,
    memoryFlat: flat,
    byKind: Object.fromEntries(
      [...tallies]
        .sort((a, b) => b[1].calls - a[1].calls)
        .map(([kind, t]) => [
          kind,
          {
            calls: t.calls,
            p50: pct(t.ms, 0.5),
            p99: pct(t.ms, 0.99),
            refused: t.refused,
            fiveXx: t.fiveXx,
            internal: t.internal,
            otherNon200: t.other,
          },
        ]),
    ),
    failures,
  };

  log('');
  log(`Soak: ${USERS} people, ${Math.round(elapsed)} s, ${calls} calls (${report.callsPerSecond}/s), ${fiveXx} × 5xx, ${internal} internal errors`);
  log(`${'call'.padEnd(34)}${'calls'.padStart(8)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}  refusals`);
  for (const [kind, t] of Object.entries(report.byKind)) {
    log(
      `${kind.padEnd(34)}${String(t.calls).padStart(8)}${String(t.p50).padStart(9)}${String(t.p99).padStart(9)}  ${Object.entries(t.refused)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')}`,
    );
  }
  for (const [k, m] of Object.entries(memory)) {
    log(`RSS ${k}-server: start ${m.startMb} MB, middle ${m.middleMb} MB, end ${m.endMb} MB, peak ${m.peakMb} MB, second half ${m.secondHalfMbPerMin} MB/min`);
    log(`Heap after GC ${k}-server: start ${m.heapAfterGc.startMb} MB, end ${m.heapAfterGc.endMb} MB, second half ${m.heapAfterGc.secondHalfMbPerMin} MB/min`);
  }
  log(`Ledger = balances: ${report.ledgerMatchesBalances}; capacity = instances: ${report.capacityMatchesInstances}; memory flat: ${flat}`);
  for (const f of failures) log(`  ! ${f}`);
  await writeFile(path.join(ROOT, 'bench', 'results', 'soak-latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  log('Wrote bench/results/soak-latest.json');
  if (fiveXx > 0 || internal > 0 || !report.ledgerMatchesBalances || !report.capacityMatchesInstances || !flat) exitCode = 1;
} finally {
  await stack.stop();
}
process.exit(exitCode);
