// The activity tool: what was done in a workspace, by whom and through which app, so a person can
// ask "what did you do yesterday?". Read-only; entries are written by tools/execute.ts.
import { z } from 'zod';
import type { ActivityEntry } from '@pictor/platform/activity';
import { listAccountActivity } from '../pictor/activity.ts';
import { InvalidInputError } from '../pictor/errors.ts';
import { cursorField, limitField, money, moneyOutput, nextCursorOutput } from './common.ts';
import { defineTool, type ToolDefinition } from './define.ts';

const timeField = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 time such as "2026-03-01T00:00:00Z"' });

const entryOutput = z.object({
  id: z.string().describe('Entry id.'),
  at: z.string().describe('When the call was made (ISO 8601, UTC).'),
  tool: z
    .string()
    .describe(
      'The tool that was called, e.g. "create-instance"; or what the lifecycle worker did on its own: "instance-paused" (prepaid time ended; arguments.delete_at says when it is deleted) or "paused-instance-deleted".',
    ),
  outcome: z
    .string()
    .describe(
      '"ok", or why it was refused: insufficient_role, spending_limit, workspace_not_allowed, insufficient_balance, confirmation_invalid (a confirmation altered, expired, reused or given for another call) or confirmation_required (this server requires a confirmation form the app cannot show).',
    ),
  target_id: z.string().nullable().describe('What it acted on: an instance, SSH key or top-up id; null when none.'),
  amount: moneyOutput.describe('Money the call moved, in credits: negative was charged, positive came back (refund, top-up); "0.00" when none.'),
  app: z.string().nullable().describe('The app that made the call (e.g. "Claude"); null when not through an app.'),
  person: z.string().nullable().describe('The email of the person the app acted for.'),
  team_id: z.string().nullable().describe('The team whose account it was; null for the personal account.'),
  arguments: z.record(z.string(), z.unknown()).describe('The arguments that are safe to show (never keys or secrets), and the reason of a refusal.'),
});

function parseTime(field: string, text: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new InvalidInputError(field, 'is not a real date and time');
  return date;
}

function entryOut(e: ActivityEntry): z.infer<typeof entryOutput> {
  return {
    id: e.id,
    at: e.at.toISOString(),
    tool: e.tool,
    outcome: e.outcome,
    target_id: e.targetId,
    amount: money(e.amountMicro),
    app: e.appName,
    person: e.userEmail,
    team_id: e.teamId,
    arguments: e.detail,
  };
}

function entryText(e: ActivityEntry): string {
  const moved = e.amountMicro === 0n ? '' : e.amountMicro < 0n ? `, charged ${money(-e.amountMicro)}` : `, +${money(e.amountMicro)}`;
  const outcome = e.outcome === 'ok' ? '' : ` — refused (${e.outcome})`;
  return `${e.at.toISOString()} ${e.tool}${e.targetId ? ` ${e.targetId}` : ''}${moved}${outcome} by ${e.appName ?? 'no app'} for ${e.userEmail ?? 'unknown'}`;
}

export const getAccountActivityTool = defineTool({
  name: 'get-account-activity',
  title: 'Get account activity',
  description:
    "Shows what was done on the person's Pictor account, or a team's with team_id: every call that changed something " +
    '(created, started, stopped, renamed or deleted instances, added hours, SSH key changes, top-ups) and every call refused by a rule ' +
    '(role, spending limit, workspace, balance), with the time, the app, the person, the target id and the money moved. ' +
    'Use it to answer "what did you do yesterday?" (since/until bound the time). Newest first, paged: when next_cursor is not null, ' +
    'pass it back as cursor. Read-only and free.',
  scope: 'pictor:read',
  workspace: true,
  input: {
    since: timeField.optional().describe('Only entries at or after this time (ISO 8601, e.g. "2026-03-01T00:00:00Z").'),
    until: timeField.optional().describe('Only entries before this time (ISO 8601).'),
    cursor: cursorField,
    limit: limitField,
  },
  output: {
    entries: z.array(entryOutput).describe('Entries on this page, newest first.'),
    next_cursor: nextCursorOutput,
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(input, ctx) {
    const page = await listAccountActivity(ctx.db, ctx.actor, {
      cursor: input.cursor,
      limit: input.limit,
      since: input.since === undefined ? undefined : parseTime('since', input.since),
      until: input.until === undefined ? undefined : parseTime('until', input.until),
    });
    const text =
      page.items.length === 0
        ? input.cursor === undefined
          ? 'No activity in this period.'
          : 'No more activity.'
        : [...page.items.map((e) => `- ${entryText(e)}`), ...(page.nextCursor ? ['More: call again with next_cursor as cursor.'] : [])].join('\n');
    return { structured: { entries: page.items.map(entryOut), next_cursor: page.nextCursor }, text };
  },
});

export const activityTools: ToolDefinition[] = [getAccountActivityTool];
