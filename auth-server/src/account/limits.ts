// What a person chooses for an app, at consent and on the connected-apps page: its daily spending
// limit and the workspaces it may act in (enforced by the MCP server's core, pictor/app-limits.ts).
// One reader of the form for both pages, so both accept and refuse exactly the same input.
import type { TeamRole } from '@pictor/migrations/schema';
import { PERSONAL, type AppLimits } from '@pictor/platform/app-limits';
import { formatCredits, parseCredits } from '@pictor/platform/money';
import type { McpScope } from '../oauth/scopes.ts';

/** Permissions that spend money: an app holding one is asked for a spending limit. */
export const SPENDING_SCOPES: readonly McpScope[] = ['instances:write', 'billing:write'];

export const asksLimit = (scopes: readonly string[]): boolean => SPENDING_SCOPES.some((s) => scopes.includes(s));

export interface Team {
  id: string;
  name: string;
  role: TeamRole;
}

/** What the form shows: the values to fill in (defaults, stored, or as just submitted). */
export interface LimitsForm {
  /** Show the spending limit (the app holds or asks for a spending permission). */
  askLimit: boolean;
  /** The amount field's text. */
  limit: string;
  noLimit: boolean;
  /** The person's teams; the workspace choice is shown only when there are some. */
  teams: Team[];
  /** Ticked workspaces: PERSONAL and team ids. */
  workspaces: string[];
  error?: string;
}

/** The form for stored limits (or, with none, the defaults: `fallbackLimit` and every workspace). */
export function limitsForm(stored: AppLimits | undefined, fallbackLimit: bigint | null, teams: Team[], askLimit: boolean): LimitsForm {
  const limit = stored ? stored.dailyLimit : fallbackLimit;
  return {
    askLimit,
    limit: limit === null ? '' : formatCredits(limit),
    noLimit: limit === null,
    teams,
    workspaces: stored?.workspaces ?? [PERSONAL, ...teams.map((t) => t.id)],
  };
}

export type LimitsResult = { ok: true; limits: AppLimits } | { ok: false; form: LimitsForm };

/**
 * Reads and checks the submitted choice. The limit: "no limit", or a non-negative amount of credits
 * with at most 6 decimals; when the form did not ask (no spending permission) `unaskedLimit` is kept.
 * Workspaces: at least one, each the person's own account or one of their teams; a person without
 * teams has nothing to choose, which allows every workspace (null), a team joined later included.
 */
export function readLimitsForm(form: URLSearchParams, teams: Team[], askLimit: boolean, unaskedLimit: bigint | null): LimitsResult {
  const limitText = (form.get('daily_spend_limit') ?? '').trim();
  const noLimit = form.get('no_spend_limit') !== null;
  const workspaces = form.getAll('workspace');
  const shown: LimitsForm = { askLimit, limit: limitText, noLimit, teams, workspaces };
  const refuse = (error: string): LimitsResult => ({ ok: false, form: { ...shown, error } });

  let dailyLimit = unaskedLimit;
  if (askLimit && !noLimit) {
    dailyLimit = parseCredits(limitText);
    if (dailyLimit === null) {
      return refuse(
        limitText === ''
          ? 'Spending limit: enter how many credits this app may spend per 24 hours, or tick "No limit".'
          : `Spending limit: "${limitText.slice(0, 40)}" is not an amount of credits; enter a number such as 50 or 12.5 (not negative, at most 6 decimals), or tick "No limit".`,
      );
    }
  } else if (askLimit) {
    dailyLimit = null;
  }
  if (teams.length === 0) return { ok: true, limits: { dailyLimit, workspaces: null } };
  if (workspaces.length === 0) return refuse('Workspaces: tick at least one workspace this app may act in.');
  const known = new Set([PERSONAL, ...teams.map((t) => t.id)]);
  const unknown = workspaces.find((w) => !known.has(w));
  if (unknown !== undefined) return refuse(`Workspaces: "${unknown.slice(0, 40)}" is not one of your workspaces.`);
  return { ok: true, limits: { dailyLimit, workspaces } };
}
