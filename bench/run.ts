// `npm run bench`: the product against the bare MCP SDK, in the same run, on the same machine.
//
// Starts the product (own embedded Postgres, auth server and MCP server as processes, real tokens
// from the real sign-in) and the bare baseline (bench/baseline.ts), then loads them one at a time
// with autocannon: a warm-up of each, then rounds that alternate baseline and ours. Reports req/s,
// p50 and p99 per scenario and the ratios ours / baseline, JWKS fetches, peak RSS of each service,
// the token endpoint's refresh grant against bare oidc-provider's, full authorizations per second,
// and two workers renewing 10,000 instances. Writes
// bench/results/latest.json and latest.png. Only ratios mean anything on a shared machine.
//
// Environment: BENCH_DURATION (s per measured run, default 10), BENCH_WARMUP (s, default 3),
// BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 32), BENCH_RENEWALS (default 10000),
// BENCH_AUTH_CONCURRENCY (authorizations at once, default 8),
// BENCH_PROFILE=1 (write .cpuprofile files of the services to bench/results/profiles/),
// BENCH_ONLY (comma-separated scenario keys, e.g. get_user_balance), BENCH_SKIP (refresh,renewal,curves).
// `npm run bench -- curves` runs only the cost curves as an account grows (bench/curves.ts).
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { freePort } from '@pictor/platform/local-postgres';
import { grantPromotionCredit } from '../mcp-server/src/pictor/balance.ts';
import { runCurves } from './curves.ts';
import {
  authorizationsPerSecond,
  refreshGrantLoad,
  refreshPool,
  startOidcBaseline,
  type AuthorizationsResult,
  type RefreshLoadResult,
} from './lib/auth-bench.ts';
import { chartHtml, renderPng } from './lib/chart.ts';
import { load, MCP_HEADERS, modern, probe, rpc, toolCall, type LoadResult } from './lib/load.ts';
import { renewalBench } from './lib/renewal.ts';
import { ROOT, sampleRss, startService } from './lib/services.ts';
import { startStack } from './lib/stack.ts';
import { median } from './lib/stats.ts';

const env = process.env;
const DURATION = Number(env.BENCH_DURATION ?? 10);
const WARMUP = Number(env.BENCH_WARMUP ?? 3);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 32);
const RENEWALS = Number(env.BENCH_RENEWALS ?? 10_000);
const AUTH_CONCURRENCY = Number(env.BENCH_AUTH_CONCURRENCY ?? 8);
const resultsDir = path.join(ROOT, 'bench', 'results');
const ONLY = env.BENCH_ONLY ? env.BENCH_ONLY.split(',') : undefined;
const SKIP = new Set((env.BENCH_SKIP ?? '').split(','));
const profileDir = env.BENCH_PROFILE === '1' ? path.join(resultsDir, 'profiles') : undefined;

const log = (line: string) => process.stdout.write(`${line}\n`);
const round2 = (x: number) => Math.round(x * 100) / 100;
await mkdir(resultsDir, { recursive: true });

// `npm run bench -- curves`: only the cost curves (bench/curves.ts), on a stack of their own.
if (process.argv.includes('curves')) {
  log('Starting Postgres, the auth server and the MCP server…');
  const curvesStack = await startStack();
  try {
    await runCurves(curvesStack, log, resultsDir);
  } finally {
    await curvesStack.stop();
  }
  process.exit(0);
}
if (profileDir) await mkdir(profileDir, { recursive: true });

log('Starting Postgres, the auth server and the MCP server…');
const stack = await startStack({ cpuProfDir: profileDir });
const baselinePort = await freePort();
const baseline = startService('baseline', 'bench/baseline.ts', {
  logDir: stack.dir,
  cpuProfDir: profileDir,
  env: { NODE_ENV: 'production', BASELINE_PORT: String(baselinePort) },
});
const baselineUrl = `http://127.0.0.1:${baselinePort}/mcp`;
await baseline.ready(`http://127.0.0.1:${baselinePort}/healthz`);
const baselineV2Port = await freePort();
const baselineV2 = startService('baseline-v2', 'bench/baseline-v2.ts', {
  logDir: stack.dir,
  cpuProfDir: profileDir,
  env: { NODE_ENV: 'production', BASELINE_PORT: String(baselineV2Port) },
});
const baselineV2Url = `http://127.0.0.1:${baselineV2Port}/mcp`;
await baselineV2.ready(`http://127.0.0.1:${baselineV2Port}/healthz`);
const ceilingPort = await freePort();
const ceiling = startService('ceiling', 'bench/ceiling.ts', {
  logDir: stack.dir,
  cpuProfDir: profileDir,
  env: { NODE_ENV: 'production', BASELINE_PORT: String(ceilingPort) },
});
await ceiling.ready(`http://127.0.0.1:${ceilingPort}/healthz`);

try {
  log('Signing in through the real flow (DCR, magic link, consent, code + PKCE)…');
  const person = await stack.signIn();
  const { accessToken } = await person.tokens();
  await grantPromotionCredit(stack.db, person.email, 25_000_000n, 'bench credit');
  const ours = { ...MCP_HEADERS, authorization: `Bearer ${accessToken}` };

  interface Scenario {
    key: string;
    label: string;
    url: string;
    headers: Record<string, string>;
    body: unknown;
    baseline: boolean;
    pid: number;
    /** The baseline scenario its ratio is taken against (the bare v2 SDK of the same era). */
    against?: string;
  }
  const v2Modern = modern('tools/call', { name: 'get-balance', arguments: {} });
  const oursModern = (method: string, params?: Record<string, unknown>) => modern(method, params, ours);
  const scenarios: Scenario[] = [
    {
      key: 'baseline_v2_2025',
      label: 'bare SDK v2, 2025-11-25 tools/call',
      url: baselineV2Url,
      headers: MCP_HEADERS,
      body: toolCall('get-balance', {}),
      baseline: true,
      pid: baselineV2.pid,
    },
    { key: 'baseline_v2_2026', label: 'bare SDK v2, 2026-07-28 tools/call', url: baselineV2Url, ...v2Modern, baseline: true, pid: baselineV2.pid },
    {
      key: 'baseline_tools_call',
      label: 'baseline tools/call',
      url: baselineUrl,
      headers: MCP_HEADERS,
      body: toolCall('get-balance', {}),
      baseline: true,
      pid: baseline.pid,
    },
    {
      key: 'ceiling',
      label: 'bare Koa JSON (ceiling)',
      url: `http://127.0.0.1:${ceilingPort}/mcp`,
      headers: MCP_HEADERS,
      body: toolCall('get-balance', {}),
      baseline: true,
      pid: ceiling.pid,
    },
    {
      key: 'get_user_balance',
      label: 'tools/call get-user-balance',
      url: stack.mcpUrl,
      headers: ours,
      body: toolCall('get-user-balance'),
      baseline: false,
      pid: stack.mcp.pid,
      against: 'baseline_v2_2025',
    },
    {
      key: 'list_gpus',
      label: 'tools/call list-gpus',
      url: stack.mcpUrl,
      headers: ours,
      body: toolCall('list-gpus'),
      baseline: false,
      pid: stack.mcp.pid,
      against: 'baseline_v2_2025',
    },
    {
      key: 'tools_list',
      label: 'tools/list',
      url: stack.mcpUrl,
      headers: ours,
      body: rpc('tools/list'),
      baseline: false,
      pid: stack.mcp.pid,
      against: 'baseline_v2_2025',
    },
    {
      key: 'get_user_balance_2026',
      label: '2026-07-28 tools/call get-user-balance',
      url: stack.mcpUrl,
      ...oursModern('tools/call', { name: 'get-user-balance', arguments: {} }),
      baseline: false,
      pid: stack.mcp.pid,
      against: 'baseline_v2_2026',
    },
    {
      key: 'list_gpus_2026',
      label: '2026-07-28 tools/call list-gpus',
      url: stack.mcpUrl,
      ...oursModern('tools/call', { name: 'list-gpus', arguments: {} }),
      baseline: false,
      pid: stack.mcp.pid,
      against: 'baseline_v2_2026',
    },
    {
      key: 'tools_list_2026',
      label: '2026-07-28 tools/list',
      url: stack.mcpUrl,
      ...oursModern('tools/list'),
      baseline: false,
      pid: stack.mcp.pid,
      against: 'baseline_v2_2026',
    },
  ].filter((s) => s.baseline || !ONLY || ONLY.includes(s.key));

  // Each scenario must answer what it claims before it is measured.
  let toolCount = 0;
  for (const s of scenarios) {
    const { status, json } = await probe(s.url, s.body, s.headers);
    if (status !== 200 || json?.error || json?.result?.isError) throw new Error(`${s.label}: ${status} ${JSON.stringify(json).slice(0, 300)}`);
    if (s.key === 'tools_list' || s.key === 'tools_list_2026') toolCount = json.result.tools.length;
  }
  log(`tools/list lists ${toolCount} tools`);

  const rss = sampleRss([stack.mcp, stack.auth, baseline, baselineV2, ceiling]);
  log(`Warm-up: ${WARMUP} s each`);
  for (const s of scenarios) await load({ url: s.url, headers: s.headers, body: s.body, connections: CONNECTIONS, durationSeconds: WARMUP });

  const runs: Record<string, LoadResult[]> = Object.fromEntries(scenarios.map((s) => [s.key, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const s of scenarios) {
      const r = await load({ url: s.url, headers: s.headers, body: s.body, connections: CONNECTIONS, durationSeconds: DURATION, serverPid: s.pid });
      runs[s.key]!.push(r);
      log(
        `  round ${round}  ${s.label.padEnd(30)} ${String(r.reqPerSec).padStart(6)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  cpu ${r.cpuUsPerRequest} µs/req  non-2xx ${r.non2xx}  errors ${r.errors}`,
      );
    }
  }
  const loadRss = rss.peaks();

  // The token endpoint's refresh grant, ours against bare oidc-provider with its in-memory adapter
  // (same client code, same connections, alternating like the MCP rounds), then full authorizations.
  let refresh: { ours: RefreshLoadResult; oidcProvider: RefreshLoadResult; ratio: number; perRound: number[] } | null = null;
  let authorizations: AuthorizationsResult | null = null;
  if (!SKIP.has('refresh')) {
    log('Token endpoint: refresh grant, ours and bare oidc-provider (in-memory adapter)');
    const oidc = await startOidcBaseline(stack.dir, profileDir);
    try {
      // a pool per run: a run spends its pool (answers in flight when it stops are dropped)
      const ourRun = async (durationSeconds: number) =>
        refreshGrantLoad({
          tokenUrl: `${stack.issuer}/token`,
          clientId: person.clientId,
          pool: await refreshPool(person, CONNECTIONS + 8),
          serverPid: stack.auth.pid,
          connections: CONNECTIONS,
          durationSeconds,
        });
      const bareRun = async (durationSeconds: number) =>
        refreshGrantLoad({
          tokenUrl: oidc.tokenUrl,
          clientId: oidc.clientId,
          pool: await oidc.mint(CONNECTIONS + 8),
          serverPid: oidc.pid,
          connections: CONNECTIONS,
          durationSeconds,
        });
      await bareRun(WARMUP);
      await ourRun(WARMUP);
      const pairs: Array<{ ours: RefreshLoadResult; bare: RefreshLoadResult }> = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const bare = await bareRun(DURATION);
        const o = await ourRun(DURATION);
        pairs.push({ ours: o, bare });
        log(
          `  round ${round}  oidc-provider ${bare.reqPerSec} req/s (cpu ${bare.cpuUsPerRequest} µs)  ours ${o.reqPerSec} req/s (cpu ${o.cpuUsPerRequest} µs, p99 ${o.p99} ms, failures ${o.failures})`,
        );
      }
      const perRound = pairs.map((p) => round2(p.ours.reqPerSec / p.bare.reqPerSec));
      // the figures shown are the round whose ratio is the median one
      const middle = [...pairs].sort((a, b) => a.ours.reqPerSec / a.bare.reqPerSec - b.ours.reqPerSec / b.bare.reqPerSec)[Math.floor((pairs.length - 1) / 2)]!;
      refresh = { ours: middle.ours, oidcProvider: middle.bare, ratio: median(perRound), perRound };
    } finally {
      await oidc.stop();
    }
    log(`Full authorizations (registration → magic link → consent → code → token), ${AUTH_CONCURRENCY} at once for ${DURATION} s`);
    authorizations = await authorizationsPerSecond(stack, { seconds: DURATION, concurrency: AUTH_CONCURRENCY });
    log(
      `  ${authorizations.flows} authorizations, ${authorizations.perSecond} per second, p50 ${authorizations.p50Ms} ms, p99 ${authorizations.p99Ms} ms, failures ${authorizations.failures}`,
    );
  }
  rss.stop();
  const peaks = rss.peaks();

  let renewal: Awaited<ReturnType<typeof renewalBench>> | null = null;
  if (!SKIP.has('renewal')) {
    log(`Lifecycle: two workers renewing ${RENEWALS.toLocaleString('en-US')} instances that expire in the same minute`);
    const renewalDb = await stack.extraDatabase('renewal');
    renewal = await renewalBench(renewalDb.db, renewalDb.url, RENEWALS, 2);
    log(`  ${renewal.seconds} s, exactly once: ${renewal.renewedExactlyOnce}, ledger = balances: ${renewal.ledgerMatchesBalances}`);
  }

  const curves = SKIP.has('curves') ? null : await runCurves(stack, log, resultsDir);

  // ---- report ----
  // Medians over the rounds. A ratio compares each round's run with the baseline run just before
  // it (same minute, same neighbours on a shared machine) and takes the median of those ratios.
  const summary = Object.fromEntries(
    scenarios.map((s) => {
      const rs = runs[s.key]!;
      return [
        s.key,
        {
          label: s.label,
          reqPerSec: Math.round(median(rs.map((r) => r.reqPerSec))),
          p50: median(rs.map((r) => r.p50)),
          p99: median(rs.map((r) => r.p99)),
          non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
          errors: rs.reduce((n, r) => n + r.errors, 0),
          cpuUsPerRequest: Math.round(median(rs.map((r) => r.cpuUsPerRequest ?? 0))),
          rounds: rs,
        },
      ];
    }),
  );
  // Each era against the bare v2 SDK serving that era; the 2025-era ones also against the v1
  // baseline (the figure earlier releases reported).
  const v1Runs = runs.baseline_tools_call!;
  const ratios = Object.fromEntries(
    scenarios
      .filter((s) => !s.baseline)
      .map((s) => {
        const rs = runs[s.key]!;
        const baseRuns = runs[s.against ?? 'baseline_tools_call']!;
        return [
          s.key,
          {
            against: s.against ?? 'baseline_tools_call',
            reqPerSec: round2(median(rs.map((r, i) => r.reqPerSec / baseRuns[i]!.reqPerSec))),
            p99: round2(median(rs.map((r, i) => r.p99 / baseRuns[i]!.p99))),
            perRound: rs.map((r, i) => round2(r.reqPerSec / baseRuns[i]!.reqPerSec)),
            ...(s.key.endsWith('_2026') ? {} : { reqPerSecVsV1: round2(median(rs.map((r, i) => r.reqPerSec / v1Runs[i]!.reqPerSec))) }),
          },
        ];
      }),
  );
  // Issue targets: each of our scenarios at ≥ 3× its era's bare-SDK req/s with ≤ 0.5× its p99.
  const TARGET_REQ_PER_SEC = 3;
  const TARGET_P99 = 0.5;
  const ourKeys = Object.keys(ratios);
  const perScenarioTargets = Object.fromEntries(
    ourKeys.map((k) => [k, { reqPerSec: ratios[k]!.reqPerSec >= TARGET_REQ_PER_SEC, p99: ratios[k]!.p99 <= TARGET_P99 }]),
  );
  const report = {
    generatedAt: new Date().toISOString(),
    commit: (() => {
      try {
        return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
      } catch {
        return null;
      }
    })(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    settings: { connections: CONNECTIONS, durationSeconds: DURATION, warmupSeconds: WARMUP, rounds: ROUNDS, mcpLogLevel: 'info' },
    tools: toolCount,
    scenarios: summary,
    ratios,
    perScenarioTargets,
    ceiling: { reqPerSec: summary.ceiling!.reqPerSec, cpuUsPerRequest: summary.ceiling!.cpuUsPerRequest },
    targets: {
      reqPerSecAtLeast3x: ourKeys.every((k) => perScenarioTargets[k]!.reqPerSec),
      p99AtMostHalf: ourKeys.every((k) => perScenarioTargets[k]!.p99),
      jwksFetchesOne: stack.jwksFetches() === 1,
      rssUnder200Mb: peaks['mcp-server']! <= 200 && peaks['auth-server']! <= 200,
      refreshAtLeast06xOidcProvider: refresh ? refresh.ratio >= 0.6 : null,
      renewalUnder10s: renewal ? renewal.seconds <= 10 && renewal.renewedExactlyOnce && renewal.ledgerMatchesBalances : null,
    },
    jwksFetches: stack.jwksFetches(),
    rssMb: { duringMcpLoad: loadRss, peak: peaks },
    refreshGrant: refresh,
    authorizations,
    renewal,
    curves: curves && { charts: curves.charts, renewalSeconds: curves.renewal.map((r) => [r.instances, r.seconds]) },
  };

  log('');
  log(
    `Pictor vs bare MCP SDK — ${report.machine.cpus} cores, ${CONNECTIONS} connections, ${DURATION} s × ${ROUNDS} rounds each, alternating; medians, ratios per round`,
  );
  log(
    `${'scenario'.padEnd(40)}${'req/s'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'× req/s'.padStart(10)}${'× p99'.padStart(8)}${'cpu µs/req'.padStart(12)}  target (≥ ${TARGET_REQ_PER_SEC}×, p99 ≤ ${TARGET_P99}×)  × req/s each round`,
  );
  for (const s of scenarios) {
    const o = summary[s.key]!;
    const r = ratios[s.key];
    log(
      `${s.label.padEnd(40)}${String(o.reqPerSec).padStart(8)}${String(o.p50).padStart(8)}${String(o.p99).padStart(8)}${(r ? r.reqPerSec.toFixed(2) : '').padStart(10)}${(r ? r.p99.toFixed(2) : '').padStart(8)}${String(o.cpuUsPerRequest).padStart(12)}  ${verdict(perScenarioTargets[s.key]).padEnd(33)}${r ? r.perRound.map((x) => x.toFixed(2)).join(' ') : ''}`,
    );
  }
  log(`Ceiling (bare Koa JSON, no MCP): ${report.ceiling.reqPerSec} req/s, ${report.ceiling.cpuUsPerRequest} µs CPU per request`);
  log(`JWKS fetches by the MCP server: ${report.jwksFetches}`);
  log(
    `Peak RSS: ${Object.entries(peaks)
      .map(([k, v]) => `${k} ${v} MB`)
      .join(', ')}`,
  );
  if (refresh)
    log(
      `Refresh grant: ours ${refresh.ours.reqPerSec} req/s (${refresh.ours.cpuUsPerRequest} µs CPU, p99 ${refresh.ours.p99} ms), bare oidc-provider ${refresh.oidcProvider.reqPerSec} req/s (${refresh.oidcProvider.cpuUsPerRequest} µs): ${refresh.ratio.toFixed(2)}× (target ≥ 0.6×; each round ${refresh.perRound.join(' ')})`,
    );
  if (authorizations)
    log(
      `Full authorizations: ${authorizations.perSecond} per second at ${AUTH_CONCURRENCY} at once (p50 ${authorizations.p50Ms} ms, p99 ${authorizations.p99Ms} ms)`,
    );
  if (renewal)
    log(
      `Renewal: ${renewal.instances} instances, ${renewal.workers} workers, ${renewal.seconds} s (${renewal.perWorker.map((w) => `${w.renewed} renewed`).join(' + ')}), exactly once ${renewal.renewedExactlyOnce}`,
    );
  log(
    `Targets: ${Object.entries(report.targets)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => `${k} ${v ? 'met' : 'MISSED'}`)
      .join(', ')}`,
  );

  const stamp = report.generatedAt.replace(/[:.]/g, '-');
  const jsonFile = path.join(resultsDir, `bench-${stamp}.json`);
  await writeFile(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  // A partial run (BENCH_ONLY / BENCH_SKIP) never replaces the committed latest results.
  const full = !ONLY && SKIP.size === 1 && SKIP.has('');
  let drawn = false;
  if (full) {
    await copyFile(jsonFile, path.join(resultsDir, 'latest.json'));
    const bars = scenarios.map((s) => ({
      label: `${s.label.replace('tools/call ', '')}${ratios[s.key] ? ` (${ratios[s.key]!.reqPerSec.toFixed(2)}×)` : ''}`,
      reqPerSec: summary[s.key]!.reqPerSec,
      p99: summary[s.key]!.p99,
      baseline: s.baseline,
    }));
    drawn = await renderPng(
      chartHtml(
        'Pictor MCP vs the bare MCP SDK (same run, same machine)',
        `${report.machine.cpus} cores, ${CONNECTIONS} connections, ${DURATION} s × ${ROUNDS} rounds, ${report.generatedAt.slice(0, 16)}Z, commit ${report.commit ?? '?'}`,
        bars,
      ),
      path.join(resultsDir, 'latest.png'),
    );
  }
  log(`Wrote ${path.relative(ROOT, jsonFile)}${full ? `, bench/results/latest.json${drawn ? ' and latest.png' : ''}` : ''}`);
  if (profileDir) log(`CPU profiles in ${path.relative(ROOT, profileDir)} after the services stop`);
} finally {
  await baseline.stop();
  await baselineV2.stop();
  await ceiling.stop();
  await stack.stop();
}

function verdict(t: { reqPerSec: boolean; p99: boolean } | undefined): string {
  if (!t) return '';
  return `req/s ${t.reqPerSec ? 'met' : 'MISSED'}, p99 ${t.p99 ? 'met' : 'MISSED'}`;
}
