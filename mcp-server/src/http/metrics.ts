// The MCP server's Prometheus metrics (served on MCP_METRICS_PORT by server.ts). Label values are
// tool names, outcomes, HTTP statuses, route classes and fixed reasons only: never a person, an
// account or an app. The children a request touches are made up front (per tool, per reason) or
// once per (route, status), so counting costs prom-client's own increment and nothing of ours.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { Db } from '@pictor/platform/db';
import { createRegistry } from '@pictor/platform/metrics';
import type { Clock } from '@pictor/platform/clock';
import { ERROR_META_KEY } from '../tools/errors.ts';
import type { InputRequired } from '../tools/execute.ts';
import { workerLagSeconds } from '../worker/lag.ts';
import { REFUSAL_REASONS, type RefusalReason } from './bearer.ts';
import { INFLOW_RETURN_PATH, INFLOW_WEBHOOK_PATH, WEBHOOK_OUTCOMES, type WebhookOutcome } from './inflow-webhook.ts';

/**
 * ok; refused: a rule said no (not found, insufficient balance…); error: our bug; unavailable:
 * database down (503); input_required: the call asked the person first (MRTR, 2026-07-28).
 */
export const TOOL_OUTCOMES = ['ok', 'refused', 'invalid_arguments', 'error', 'unavailable', 'input_required'] as const;
export type ToolOutcome = (typeof TOOL_OUTCOMES)[number];

/** The outcome of a tools/call that returned a result (a thrown one is `error` or `unavailable`). */
export function toolOutcome(result: CallToolResult | InputRequired): ToolOutcome {
  if ('resultType' in result) return 'input_required';
  if (!result.isError) return 'ok';
  const code = (result._meta?.[ERROR_META_KEY] as { code?: unknown } | undefined)?.code;
  return code === 'internal' ? 'error' : code === 'invalid_arguments' ? 'invalid_arguments' : 'refused';
}

export type RouteClass = 'mcp' | 'metadata' | 'webhook' | 'payment_return' | 'probe' | 'other';

// Tool calls take from a fraction of a millisecond (cached reads) to seconds (InFlow).
const TOOL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface ToolMeter {
  calls: Record<ToolOutcome, Counter.Internal>;
  seconds: Histogram.Internal<'tool'>;
}

export interface McpMetrics {
  registry: Registry;
  /** The children of one tool; called once per tool when the protocol is built. */
  tool(name: string): ToolMeter;
  /** Counts one HTTP response. */
  response(route: RouteClass, status: number): void;
  tokenRefused(reason: RefusalReason): void;
  webhook(outcome: WebhookOutcome): void;
}

export function createMcpMetrics(services: { db: Db; clock: Clock }): McpMetrics {
  const registry = createRegistry('pictor_mcp_', services.db);
  const registers = [registry];
  const toolCalls = new Counter({
    name: 'pictor_mcp_tool_calls_total',
    help: 'MCP tools/call requests by tool and outcome',
    labelNames: ['tool', 'outcome'],
    registers,
  });
  const toolSeconds = new Histogram({
    name: 'pictor_mcp_tool_call_duration_seconds',
    help: 'Time to answer a tools/call, by tool',
    labelNames: ['tool'],
    buckets: TOOL_BUCKETS,
    registers,
  });
  const responses = new Counter({
    name: 'pictor_mcp_http_responses_total',
    help: 'HTTP responses by route class and status',
    labelNames: ['route', 'status'],
    registers,
  });
  const refusals = new Counter({
    name: 'pictor_mcp_token_refusals_total',
    help: 'Requests to /mcp refused by the bearer token check, by reason',
    labelNames: ['reason'],
    registers,
  });
  const webhooks = new Counter({
    name: 'pictor_mcp_inflow_webhooks_total',
    help: 'InFlow webhook deliveries by outcome',
    labelNames: ['outcome'],
    registers,
  });
  new Gauge({
    name: 'pictor_mcp_worker_lag_seconds',
    help: 'Age of the oldest due lifecycle work (expiry, renewal or power action); 0 when nothing is due',
    registers,
    async collect() {
      try {
        this.set(await workerLagSeconds(services.db, services.clock.now()));
      } catch {
        this.reset(); // no sample rather than a stale one while the database is unreachable
      }
    },
  });

  const refusalChildren = children(refusals, 'reason', REFUSAL_REASONS);
  const webhookChildren = children(webhooks, 'outcome', WEBHOOK_OUTCOMES);
  const byRoute = new Map<RouteClass, Map<number, Counter.Internal>>();
  return {
    registry,
    tool(name) {
      const calls = Object.fromEntries(
        TOOL_OUTCOMES.map((outcome) => {
          toolCalls.inc({ tool: name, outcome }, 0); // present as 0 before the first call
          return [outcome, toolCalls.labels(name, outcome)];
        }),
      ) as Record<ToolOutcome, Counter.Internal>;
      return { calls, seconds: toolSeconds.labels(name) };
    },
    response(route, status) {
      let statuses = byRoute.get(route);
      if (!statuses) {
        statuses = new Map();
        byRoute.set(route, statuses);
      }
      let child = statuses.get(status);
      if (!child) {
        child = responses.labels(route, String(status));
        statuses.set(status, child);
      }
      child.inc();
    },
    tokenRefused: (reason) => refusalChildren[reason].inc(),
    webhook: (outcome) => webhookChildren[outcome].inc(),
  };
}

/** One child per value of the counter's one label, each present as 0 from the start. */
function children<T extends string>(counter: Counter<string>, label: string, values: readonly T[]): Record<T, Counter.Internal> {
  return Object.fromEntries(
    values.map((value) => {
      counter.inc({ [label]: value }, 0);
      return [value, counter.labels(value)];
    }),
  ) as Record<T, Counter.Internal>;
}

/** The route class of a path, for the response counter (a raw path would let anyone add series). */
export function routeClassifier(mcpPath: string): (path: string) => RouteClass {
  return (path) => {
    if (path === mcpPath) return 'mcp';
    if (path.startsWith('/.well-known/')) return 'metadata';
    if (path === INFLOW_WEBHOOK_PATH) return 'webhook';
    if (path === INFLOW_RETURN_PATH) return 'payment_return';
    if (path === '/livez' || path === '/readyz') return 'probe';
    return 'other';
  };
}
