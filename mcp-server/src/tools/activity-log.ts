// What a tools/call leaves in the activity log, decided once for every tool: a call that changed
// something (a tool with `activity`, unless its result says it changed nothing by design, as a
// dry run) and a call refused by a rule (the codes below, from any tool) each write one entry
// after the fact. Only the arguments the tool declares safe are kept; never tokens.
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { ensureUserAccount, resolveMembership } from '../pictor/accounts.ts';
import { recordActivity, type NewActivity } from '../pictor/activity.ts';
import type { Actor } from '../pictor/actor.ts';
import type { ActivityEffect, Services, ToolDefinition } from './define.ts';
import { ERROR_META_KEY, type ToolErrorInfo } from './errors.ts';

/**
 * Refusals by a rule the person set or that guards their money, recorded like changes: a role,
 * a spending limit, a workspace not allowed to the app, a balance too small, a confirmation
 * that cannot be used (tampered, expired, replayed, for another call) or that the operator
 * requires from an app that cannot give one (tools/confirm.ts).
 */
export const RULE_REFUSALS: ReadonlySet<string> = new Set([
  'insufficient_role',
  'spending_limit',
  'workspace_not_allowed',
  'insufficient_balance',
  'confirmation_invalid',
  'confirmation_required',
]);

const MAX_TEXT = 200;

/** Who called and with what, as far as the executor got before the handler ran or refused. */
export interface CallTrace {
  input: Record<string, unknown>;
  actor: Actor;
}

/** The refusal code of a tool error that a rule made, or undefined. */
export function ruleRefusal(result: CallToolResult): ToolErrorInfo | undefined {
  if (!result.isError) return undefined;
  const info = result._meta?.[ERROR_META_KEY] as ToolErrorInfo | undefined;
  return info && RULE_REFUSALS.has(info.code) ? info : undefined;
}

function safeValue(value: unknown): unknown {
  if (typeof value === 'string') return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}…` : value;
  if (Array.isArray(value)) return value.slice(0, 20).map(safeValue);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  return undefined;
}

/** The declared-safe arguments of a call, and which of the `given` fields were present. */
export function safeArguments(tool: ToolDefinition, input: Record<string, unknown>): Record<string, unknown> {
  const spec = tool.activity;
  const out: Record<string, unknown> = {};
  for (const key of spec?.args ?? []) if (input[key] !== undefined) out[key] = safeValue(input[key]);
  for (const key of spec?.given ?? []) out[`${key}_given`] = input[key] !== undefined;
  return out;
}

async function accountOf(services: Services, actor: Actor): Promise<string | null> {
  if (actor.teamId === undefined) return ensureUserAccount(services.db, actor.userId);
  if (actor.membership) return actor.membership.accountId;
  // refused before the membership was read: a team the person is not in is recorded without it
  return resolveMembership(services.db, actor.userId, actor.teamId).then(
    (m) => m.accountId,
    () => null,
  );
}

/**
 * Writes the call's entry: `effect` for a change, `refusal` for a rule refusal. A failure to
 * write is logged, not returned: the change is done and its result must reach the client.
 */
export async function logActivity(
  services: Services,
  log: Logger,
  tool: ToolDefinition,
  trace: CallTrace,
  outcome: { effect: ActivityEffect } | { refusal: ToolErrorInfo; message: string },
): Promise<void> {
  const { input, actor } = trace;
  const targetField = tool.activity?.target;
  const inputTarget = targetField && typeof input[targetField] === 'string' ? (safeValue(input[targetField]) as string) : null;
  const detail = safeArguments(tool, input);
  let entry: NewActivity;
  try {
    entry = {
      userId: actor.userId,
      clientId: actor.clientId ?? null,
      accountId: await accountOf(services, actor),
      tool: tool.name,
      targetId: inputTarget,
      amountMicro: 0n,
      outcome: 'ok',
      detail,
    };
    if ('effect' in outcome) {
      entry.targetId = outcome.effect.targetId ?? inputTarget;
      entry.amountMicro = outcome.effect.amountMicro ?? 0n;
    } else {
      entry.outcome = outcome.refusal.code;
      entry.detail = { ...detail, reason: safeValue(outcome.message.slice(0, 500)) };
    }
    await recordActivity(services.db, services.clock, entry);
  } catch (error) {
    log.error({ err: error, tool: tool.name, userId: actor.userId }, 'activity entry not recorded');
  }
}
