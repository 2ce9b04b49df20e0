// The cost curves (`npm run bench -- curves`, and at the end of a full `npm run bench`): how the
// read tools cost as an account grows, and how the lifecycle workers keep up.
//
// On the bench's stack (MCP server as a process, real tokens): 100,000 instances of other accounts
// as background, then one person per size (10, 1,000, 100,000 instances of history, with their
// ledger, activity and log lines; scale-fixtures.ts). Per size, through /mcp: every page of
// list-my-instances walked once (all ids, each once), then, one call at a time, the first and the
// last page of list-my-instances, get-instance-detail, the first and a deep page of
// get-instance-logs, get-user-balance and get-spending-report: p50/p99. The same reads run once
// in-process under EXPLAIN ANALYZE (capturePlans): the indexes used, buffers, any full scan of a
// big table. Then two worker processes renew N instances that are due in the same minute (1,000,
// 10,000, 100,000), checked exactly once by the ledger. Writes bench/results/curves-*.svg and
// curves-latest.json.
//
// Environment: BENCH_CURVE_SIZES (default 10,1000,100000), BENCH_CURVE_NOISE (other accounts'
// instances, default 100000), BENCH_CURVE_RENEWALS (default 1000,10000,100000),
// BENCH_CURVE_SECONDS (max seconds of samples per call and size, default 6).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { systemClock } from '@pictor/platform/clock';
import type { Db } from '@pictor/platform/db';
import { getInstanceDetail, getInstanceLogs, listInstances } from '../mcp-server/src/pictor/instances/index.ts';
import { getBalance } from '../mcp-server/src/pictor/balance.ts';
import { spendingReport } from '../mcp-server/src/pictor/spending.ts';
import { capturePlans, createAccounts, fullScans, seedHistory, seedLogLines, type QueryPlan } from '../mcp-server/test/scale-fixtures.ts';
import { MCP_HEADERS, toolCall } from './lib/load.ts';
import { renewalBench, type RenewalResult } from './lib/renewal.ts';
import type { Stack } from './lib/stack.ts';
import { percentile } from './lib/stats.ts';
import { lineChartSvg } from './lib/svg-chart.ts';

const env = process.env;
const list = (v: string | undefined, d: string) => (v ?? d).split(',').map(Number);
const SIZES = list(env.BENCH_CURVE_SIZES, '10,1000,100000');
const NOISE = Number(env.BENCH_CURVE_NOISE ?? 100_000);
const RENEWALS = list(env.BENCH_CURVE_RENEWALS, '1000,10000,100000');
const SECONDS = Number(env.BENCH_CURVE_SECONDS ?? 6);
const LOG_LINES = 2_000; // on each size's newest instance, for a deep page of its log
const DEFAULTS = !env.BENCH_CURVE_SIZES && !env.BENCH_CURVE_NOISE && !env.BENCH_CURVE_RENEWALS;

type Call = { tool: string; args: Record<string, unknown> };
type CoreRead = (db: Db) => Promise<unknown>;

interface Timing {
  p50: number;
  p99: number;
  samples: number;
  bytes: number;
}

export interface CurvesReport {
  sizes: number[];
  noiseInstances: number;
  calls: Record<string, Record<string, Timing & { plans: QueryPlan[]; fullScans: string[] }>>;
  pageWalk: Record<string, { pages: number; instances: number; allOnce: boolean; msPerPage: number[] }>;
  renewal: RenewalResult[];
  charts: string[];
}

const r2 = (x: number) => Math.round(x * 100) / 100;

async function callTool(url: string, token: string, c: Call): Promise<{ ms: number; bytes: number; structured: any }> {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
    body: JSON.stringify(toolCall(c.tool, c.args)),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  const json = JSON.parse(text);
  if (res.status !== 200 || json.error || json.result?.isError) throw new Error(`${c.tool}: ${res.status} ${text.slice(0, 300)}`);
  return { ms, bytes: text.length, structured: json.result.structuredContent };
}

/** One call at a time: a few warm-up calls, then up to 200 samples or SECONDS, at least 20. */
async function time(url: string, token: string, c: Call): Promise<Timing> {
  for (let i = 0; i < 5; i++) await callTool(url, token, c);
  const ms: number[] = [];
  let bytes = 0;
  const until = performance.now() + SECONDS * 1000;
  while (ms.length < 20 || (ms.length < 200 && performance.now() < until)) {
    const r = await callTool(url, token, c);
    ms.push(r.ms);
    bytes = r.bytes;
  }
  return { p50: r2(percentile(ms, 0.5)), p99: r2(percentile(ms, 0.99)), samples: ms.length, bytes };
}

export async function runCurves(stack: Stack, log: (line: string) => void, resultsDir: string): Promise<CurvesReport> {
  const db = stack.db;
  log(`Cost curves: ${NOISE.toLocaleString('en-US')} instances of other accounts, then accounts of ${SIZES.map((n) => n.toLocaleString('en-US')).join(', ')}`);
  let t = performance.now();
  if (NOISE > 0) {
    const others = await createAccounts(db, 'noise', Math.max(1, Math.round(NOISE / 100)));
    await seedHistory(
      db,
      others.map((o) => o.accountId),
      Math.round(NOISE / others.length),
    );
  }
  const people: Array<{ size: number; token: string; userId: string; newest: string }> = [];
  for (const size of SIZES) {
    const person = await stack.signIn(`curve-${size}@bench.test`);
    const { accessToken } = await person.tokens();
    await callTool(stack.mcpUrl, accessToken, { tool: 'get-user-balance', args: {} }); // creates the account
    const { rows } = await sql<{ user_id: string; id: string }>`
      SELECT a.user_id, a.id FROM accounts a JOIN users u ON u.id = a.user_id WHERE lower(u.email) = ${`curve-${size}@bench.test`}`.execute(db);
    const [newest] = await seedHistory(db, [rows[0]!.id], size);
    await seedLogLines(db, newest!, LOG_LINES);
    people.push({ size, token: accessToken, userId: rows[0]!.user_id, newest: newest! });
  }
  await sql`ANALYZE`.execute(db);
  log(`  seeded in ${Math.round((performance.now() - t) / 1000)} s`);

  const report: CurvesReport = { sizes: SIZES, noiseInstances: NOISE, calls: {}, pageWalk: {}, renewal: [], charts: [] };
  for (const p of people) {
    // Every page once, 100 at a time: each non-deleted instance exactly once, and each page's cost.
    t = performance.now();
    const seen = new Set<string>();
    const msPerPage: number[] = [];
    let cursor: string | undefined;
    let lastCursor: string | undefined;
    let returned = 0;
    do {
      const r = await callTool(stack.mcpUrl, p.token, { tool: 'list-my-instances', args: { limit: 100, ...(cursor ? { cursor } : {}) } });
      msPerPage.push(r2(r.ms));
      for (const i of r.structured.instances) seen.add(i.id);
      returned += r.structured.instances.length;
      if (r.structured.next_cursor) lastCursor = r.structured.next_cursor;
      cursor = r.structured.next_cursor ?? undefined;
    } while (cursor);
    const expected = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM instances i JOIN accounts a ON a.id = i.account_id WHERE a.user_id = ${p.userId}::uuid AND i.state <> 'deleted'`.execute(
      db,
    );
    report.pageWalk[p.size] = {
      pages: msPerPage.length,
      instances: seen.size,
      allOnce: seen.size === expected.rows[0]!.n && returned === seen.size,
      msPerPage,
    };
    log(`  ${p.size}: walked ${msPerPage.length} pages of list-my-instances, ${seen.size} instances, each once: ${report.pageWalk[p.size]!.allOnce}`);

    let logsCursor: string | undefined;
    for (let i = 0; i < LOG_LINES / 100 - 2; i++) {
      const r = await callTool(stack.mcpUrl, p.token, {
        tool: 'get-instance-logs',
        args: { instance_id: p.newest, limit: 100, ...(logsCursor ? { cursor: logsCursor } : {}) },
      });
      logsCursor = r.structured.next_cursor;
    }
    const actor = { userId: p.userId };
    const deep = lastCursor ?? undefined;
    const scenarios: Record<string, { call: Call; core: CoreRead }> = {
      'list-my-instances first page': { call: { tool: 'list-my-instances', args: {} }, core: (d) => listInstances(d, actor, {}) },
      'list-my-instances last page': {
        call: { tool: 'list-my-instances', args: deep ? { cursor: deep } : {} },
        core: (d) => listInstances(d, actor, deep ? { cursor: deep } : {}),
      },
      'get-instance-detail': { call: { tool: 'get-instance-detail', args: { instance_id: p.newest } }, core: (d) => getInstanceDetail(d, actor, p.newest) },
      'get-instance-logs first page': {
        call: { tool: 'get-instance-logs', args: { instance_id: p.newest } },
        core: (d) => getInstanceLogs(d, actor, p.newest, {}),
      },
      'get-instance-logs deep page': {
        call: { tool: 'get-instance-logs', args: { instance_id: p.newest, cursor: logsCursor } },
        core: (d) => getInstanceLogs(d, actor, p.newest, { cursor: logsCursor }),
      },
      'get-user-balance': { call: { tool: 'get-user-balance', args: {} }, core: (d) => getBalance(d, actor) },
      'get-spending-report': { call: { tool: 'get-spending-report', args: {} }, core: (d) => spendingReport(d, actor, 7, systemClock) },
    };
    for (const [name, s] of Object.entries(scenarios)) {
      const timing = await time(stack.mcpUrl, p.token, s.call);
      const plans = await capturePlans(stack.databaseUrl, s.core);
      const full = (await fullScans(db, plans)).map((f) => f.relation);
      report.calls[name] ??= {};
      report.calls[name]![p.size] = { ...timing, plans, fullScans: full };
      const scans = [...new Set(plans.flatMap((q) => q.scans.filter((x) => x.index).map((x) => x.index!)))].join(', ');
      log(
        `  ${String(p.size).padStart(7)}  ${name.padEnd(30)} p50 ${String(timing.p50).padStart(7)} ms  p99 ${String(timing.p99).padStart(7)} ms  ` +
          `${String(timing.bytes).padStart(8)} B  db ${r2(plans.reduce((n, q) => n + q.executionMs, 0))} ms ${plans.reduce((n, q) => n + q.buffers, 0)} buffers  ` +
          `indexes: ${scans}${full.length ? `  FULL SCAN: ${full.join(', ')}` : ''}`,
      );
    }
  }

  for (const n of RENEWALS) {
    const extra = await stack.extraDatabase(`renewal_${n}`);
    const r = await renewalBench(extra.db, extra.url, n, 2);
    report.renewal.push(r);
    log(
      `  renewal: ${n.toLocaleString('en-US')} instances due in the same minute, two workers: ${r.seconds} s, exactly once ${r.renewedExactlyOnce}, ledger = balances ${r.ledgerMatchesBalances}`,
    );
  }

  // ---- charts ----
  const stamp = new Date().toISOString().slice(0, 16);
  const sub = `p50 and p99 over /mcp, one call at a time; ${NOISE.toLocaleString('en-US')} other instances in the table; shared 2-core machine, ${stamp}Z`;
  const sizeLabels = SIZES.map((n) => `${n.toLocaleString('en-US')} instances`);
  const charts: Array<[string, string]> = Object.entries(report.calls).map(([name, bySize]) => [
    `curves-${name.replace(/[^a-z]+/g, '-').replace(/-$/, '')}.svg`,
    lineChartSvg({
      title: `${name}: latency as the account grows`,
      subtitle: sub,
      x: sizeLabels,
      xTitle: "the account's instances (with their ledger, activity and log lines)",
      yTitle: 'ms',
      series: [
        { name: 'p50', values: SIZES.map((s) => bySize[s]!.p50) },
        { name: 'p99', values: SIZES.map((s) => bySize[s]!.p99) },
      ],
    }),
  ]);
  const biggest = SIZES.at(-1)!;
  const walk = report.pageWalk[biggest]!;
  charts.push([
    'curves-list-pages.svg',
    lineChartSvg({
      title: `list-my-instances: every page of a ${biggest.toLocaleString('en-US')}-instance account`,
      subtitle: `${walk.pages} pages of 100 walked once with next_cursor, ms per page over /mcp; ${stamp}Z`,
      x: walk.msPerPage.map((_, i) => (i === 0 || i === walk.pages - 1 || (i + 1) % 100 === 0 ? String(i + 1) : '')),
      xTitle: 'page',
      yTitle: 'ms',
      series: [{ name: 'ms per page', values: walk.msPerPage }],
    }),
  ]);
  if (report.renewal.length > 0) {
    charts.push([
      'curves-renewal.svg',
      lineChartSvg({
        title: 'Lifecycle: instances due in the same minute, two workers',
        subtitle: `seconds until every one is renewed, each exactly once (checked in the ledger); ${stamp}Z`,
        x: report.renewal.map((r) => `${r.instances.toLocaleString('en-US')} due`),
        xTitle: 'instances due at once (10 per account)',
        yTitle: 's',
        series: [{ name: 'seconds', values: report.renewal.map((r) => r.seconds) }],
        limit: { value: 30, label: 'target: 30 s' },
      }),
    ]);
  }
  if (DEFAULTS) {
    for (const [file, svg] of charts) await writeFile(path.join(resultsDir, file), svg);
    report.charts = charts.map(([file]) => `bench/results/${file}`);
    await writeFile(path.join(resultsDir, 'curves-latest.json'), `${JSON.stringify({ generatedAt: new Date().toISOString(), ...report }, null, 2)}\n`);
    log(`Wrote bench/results/curves-latest.json and ${charts.length} charts`);
  } else log('Non-default sizes: charts and curves-latest.json not written');
  return report;
}
