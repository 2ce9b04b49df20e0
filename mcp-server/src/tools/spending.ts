// The spending report tool: where the money went, the burn and runway, and what is leaking, each
// leak with the tool call that fixes it. Read-only; the figures come from pictor/spending.ts.
import { z } from 'zod';
import { LEAK_KINDS, MAX_REPORT_DAYS, MAX_REPORT_INSTANCES, spendingReport, type SpendingReport } from '../pictor/spending.ts';
import { money, moneyOutput } from './common.ts';
import { defineTool, type ToolDefinition } from './define.ts';

const output = {
  team_id: z.string().nullable().describe('The team whose account this is; null for the personal account.'),
  from: z.string().describe('Start of the window (ISO 8601, UTC midnight); it runs to now.'),
  now: z.string().describe('When the report was made (ISO 8601, UTC).'),
  per_day: z
    .array(
      z.object({
        day: z.string().describe('UTC date, YYYY-MM-DD.'),
        charged: moneyOutput.describe('Instance charges that day (creation, added hours, renewals).'),
        refunded: moneyOutput.describe('Instance refunds that day (deletions).'),
      }),
    )
    .describe('Every day of the window, oldest first.'),
  per_instance: z
    .array(
      z.object({
        instance_id: z.string().describe('Instance id.'),
        name: z.string().describe('Instance name.'),
        state: z.string().describe('Its state now.'),
        charged: moneyOutput.describe('Charged for it in the window.'),
        refunded: moneyOutput.describe('Refunded for it in the window.'),
      }),
    )
    .describe(`Instances with charges or refunds in the window, most spent (net) first; at most ${MAX_REPORT_INSTANCES}.`),
  per_instance_total: z.number().int().describe('How many instances had charges or refunds in the window (per_instance lists the first ones).'),
  per_app_24h: z
    .array(
      z.object({
        app: z.string().nullable().describe('The app (e.g. "Claude"); null when not through an app.'),
        charged: moneyOutput.describe('Charged by its calls in the last 24 h.'),
        returned: moneyOutput.describe('Refunded or credited by its calls in the last 24 h.'),
        calls: z.number().int().describe('Its calls that changed something in the last 24 h.'),
        daily_limit: moneyOutput.nullable().describe('The spending limit you set for this app per rolling 24 h; null = no limit or none set.'),
        spent_toward_limit: moneyOutput
          .nullable()
          .describe('What the app charged for you in the last 24 h in every workspace, as its limit counts it; null when no limit applies.'),
      }),
    )
    .describe("Money moved by each app's calls in the last 24 hours (auto-renewals are not an app's call)."),
  balance: moneyOutput.describe('Paid balance now.'),
  credit: moneyOutput.describe('Promotional credit now.'),
  burn_per_hour: moneyOutput.describe(
    'What the instances rented now (provisioning, running or stopped) cost per hour, GPU and storage. Prepaid: charged up front.',
  ),
  runway_hours: z.number().int().nullable().describe('Whole hours balance + credit would pay at that burn; null when nothing is rented.'),
  leaks: z
    .array(
      z.object({
        kind: z.enum(LEAK_KINDS).describe('stopped_holding_gpus, renewal_underfunded, running_without_ssh_key or expiring_within_hour.'),
        instance_id: z.string().describe('The instance.'),
        name: z.string().describe('Its name.'),
        cost: moneyOutput.describe('Per hour held (stopped, no SSH key), the renewal (underfunded) or one more hour (expiring).'),
        amount: moneyOutput.nullable().describe('Underfunded renewal: the shortfall. Stopped: the refund if deleted now. Otherwise null.'),
        at: z.string().nullable().describe('When it renews or ends (ISO 8601), where that matters.'),
        message: z.string().describe('The leak in a sentence for the person.'),
        fix: z.object({
          tool: z.string().describe('The tool that fixes it.'),
          arguments: z.record(z.string(), z.unknown()).describe('Its arguments (confirm with the person before calling).'),
          note: z.string().describe('What else to know or choose.'),
        }),
      }),
    )
    .describe(`What is costing money for nothing or about to be lost; at most ${MAX_REPORT_INSTANCES}.`),
  leaks_total: z.number().int().describe('How many leaks were found (leaks lists the first ones).'),
  paused: z
    .array(
      z.object({
        instance_id: z.string().describe('The paused instance.'),
        name: z.string().describe('Its name.'),
        reason: z.string().nullable().describe('Why it was paused (auto-renew off, insufficient balance, the spending limit).'),
        paused_at: z.string().describe('When its prepaid time ended (ISO 8601, UTC).'),
        delete_at: z.string().describe('When it and its disk are deleted unless started again (ISO 8601, UTC).'),
        restart_cost: moneyOutput.describe('What start-instance with its rental_hours would charge.'),
        rental_hours: z.number().int().describe('Its rental_hours, the hours restart_cost buys.'),
        message: z.string().describe('The same in a sentence for the person.'),
      }),
    )
    .describe(
      `Paused instances (prepaid time ended without renewal: no GPUs held, nothing charged), first to be deleted first; at most ${MAX_REPORT_INSTANCES}. Starting one again: start-instance with rental_hours (dry_run first).`,
    ),
};

function reportText(r: SpendingReport): string {
  const charged = r.perDay.reduce((s, d) => s + d.charged, 0n);
  const refunded = r.perDay.reduce((s, d) => s + d.refunded, 0n);
  return [
    `Since ${r.from.toISOString().slice(0, 10)}: ${money(charged)} credits charged, ${money(refunded)} refunded.`,
    `Burn ${money(r.burnPerHour)} credits/hour; ${r.runwayHours === null ? 'nothing rented' : `funds (${money(r.balance + r.credit)}) last ${r.runwayHours} h at that rate`}.`,
    ...r.perApp.map(
      (a) =>
        `${a.appName ?? 'no app'}: ${money(a.charged)} charged in the last 24 h${a.limit?.daily == null ? '' : ` (limit ${money(a.limit.daily)} a day, ${money(a.limit.spent)} used)`}.`,
    ),
    r.leaks.length === 0
      ? 'No leaks.'
      : `Leaks:\n${r.leaks
          .slice(0, MAX_REPORT_INSTANCES)
          .map((l) => `- ${l.message} Fix: ${l.fix.tool}.`)
          .join('\n')}${r.leaks.length > MAX_REPORT_INSTANCES ? `\n… and ${r.leaks.length - MAX_REPORT_INSTANCES} more.` : ''}`,
    ...(r.paused.length === 0 ? [] : [`Paused:\n${r.paused.map((p) => `- ${p.message}`).join('\n')}`]),
  ].join('\n');
}

export const getSpendingReportTool = defineTool({
  name: 'get-spending-report',
  title: 'Get a spending report',
  description:
    "Shows where the money of the person's Pictor account (or a team's, with team_id) went: instance charges and refunds per day " +
    'and per instance over the last `days` days, money moved by each app in the last 24 h, the burn per hour of what is rented now and the ' +
    'runway (hours the balance and credit last at that rate), and leaks, each with the tool call that fixes it: stopped instances still ' +
    'holding GPUs, auto-renewals in the next 24 h the funds cannot cover, running instances with no SSH key, instances ending within the ' +
    'hour with auto-renew off; and paused instances with the time each is deleted and what starting it again costs. Confirm with the person ' +
    'before calling a fix. Read-only and free.',
  scope: 'pictor:read',
  workspace: true,
  input: {
    days: z.number().int().min(1).max(MAX_REPORT_DAYS).default(7).describe(`Days of history, 1–${MAX_REPORT_DAYS} (default 7), today included.`),
  },
  output,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(input, ctx) {
    const r = await spendingReport(ctx.db, ctx.actor, input.days, ctx.clock);
    return {
      structured: {
        team_id: r.teamId,
        from: r.from.toISOString(),
        now: r.now.toISOString(),
        per_day: r.perDay.map((d) => ({ day: d.day, charged: money(d.charged), refunded: money(d.refunded) })),
        per_instance: r.perInstance.map((i) => ({
          instance_id: i.instanceId,
          name: i.name,
          state: i.state,
          charged: money(i.charged),
          refunded: money(i.refunded),
        })),
        per_instance_total: r.instancesInWindow,
        per_app_24h: r.perApp.map((a) => ({
          app: a.appName,
          charged: money(a.charged),
          returned: money(a.returned),
          calls: a.calls,
          daily_limit: a.limit?.daily == null ? null : money(a.limit.daily),
          spent_toward_limit: a.limit?.daily == null ? null : money(a.limit.spent),
        })),
        balance: money(r.balance),
        credit: money(r.credit),
        burn_per_hour: money(r.burnPerHour),
        runway_hours: r.runwayHours,
        leaks: r.leaks.slice(0, MAX_REPORT_INSTANCES).map((l) => ({
          kind: l.kind,
          instance_id: l.instanceId,
          name: l.name,
          cost: money(l.cost),
          amount: l.amount === null ? null : money(l.amount),
          at: l.at?.toISOString() ?? null,
          message: l.message,
          fix: l.fix,
        })),
        paused: r.paused.map((p) => ({
          instance_id: p.instanceId,
          name: p.name,
          reason: p.reason,
          paused_at: p.pausedAt.toISOString(),
          delete_at: p.deleteAt.toISOString(),
          restart_cost: money(p.restartCost),
          rental_hours: p.rentalHours,
          message: p.message,
        })),
        leaks_total: r.leaks.length,
      },
      text: reportText(r),
    };
  },
});

export const spendingTools: ToolDefinition[] = [getSpendingReportTool];
