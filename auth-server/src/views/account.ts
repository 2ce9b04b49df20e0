// The connected-apps page: each app connected to the account, what it may do, when it last got
// a token, what it spent in the last 24 h against its limit, a form that changes its limit and
// workspaces at once, and a button that disconnects it.
import { formatCredits } from '@pictor/platform/money';
import type { LimitsForm } from '../account/limits.ts';
import { describe, MCP_SCOPES, type McpScope } from '../oauth/scopes.ts';
import type { ActivityEntry } from '@pictor/platform/activity';
import { activitySection, recentActivity, type ActivityView } from './activity.ts';
import { html } from './html.ts';
import { csrfField, page } from './layout.ts';
import { limitFields } from './limits.ts';

export interface ConnectedAppView {
  clientId: string;
  name: string;
  scopes: string[];
  lastUsed: Date | null;
  /** Micro-credits; null = no limit. */
  dailyLimit: bigint | null;
  spentLast24h: bigint;
  /** The limits form as shown (stored values, or what was just submitted with its error). */
  limitsForm: LimitsForm;
  /** Its latest activity entries. */
  recent?: ActivityEntry[];
}

export interface AppsView {
  email: string;
  apps: ConnectedAppView[];
  csrf: string;
  revokeAction: string;
  limitsAction: string;
  signOutAction: string;
  /** Set after a revocation, naming the app. */
  revoked?: string;
  /** Set after the limits of an app were saved, naming the app. */
  saved?: string;
  /** The account's (or one app's) activity, paginated. */
  activity?: ActivityView;
  /** The page showing one app's activity. */
  appActivityHref?: (clientId: string) => string;
}

export function appsPage(v: AppsView): string {
  return page(
    { title: 'Connected apps', wide: true },
    html`
    <h1>Connected apps</h1>
    <p class="muted small">Signed in as <strong>${v.email}</strong></p>
    ${v.revoked ? html`<p class="notice" role="status">${v.revoked} was disconnected. It can no longer get new access.</p>` : ''}
    ${v.saved ? html`<p class="notice" role="status">Saved: ${v.saved}'s spending limit and workspaces apply from its next call.</p>` : ''}
    ${
      v.apps.length === 0
        ? html`<p>No apps are connected to your Pictor account.</p>`
        : html`
    <table class="apps">
      <thead><tr><th>App</th><th>Permissions</th><th>Last used</th><th>Recent activity</th><th></th></tr></thead>
      <tbody>
        ${v.apps.map(
          (app) => html`
        <tr>
          <td><strong>${app.name}</strong>
            <div class="muted small spent" data-client-id="${app.clientId}">Spent in the last 24 h: ${formatCredits(app.spentLast24h)}${app.dailyLimit === null ? ' credits (no limit)' : ` / ${formatCredits(app.dailyLimit)} credits`}</div></td>
          <td><ul class="perms">${app.scopes.map((s) => html`<li title="${s}">${describeScope(s)}</li>`)}</ul></td>
          <td class="muted small nowrap">${app.lastUsed ? formatDate(app.lastUsed) : 'never'}</td>
          <td>${recentActivity(app.recent ?? [], v.appActivityHref?.(app.clientId) ?? '#activity')}</td>
          <td><form method="post" action="${v.revokeAction}">
            ${csrfField(v.csrf)}<input type="hidden" name="client_id" value="${app.clientId}">
            <button type="submit" class="danger">Disconnect</button>
          </form></td>
        </tr>`,
        )}
      </tbody>
    </table>
    ${v.apps.filter(hasLimitFields).map(
      (app, i) => html`
    <form method="post" action="${v.limitsAction}" class="app-limits" aria-label="Limits of ${app.name}">
      <h2>${app.name}: spending limit and workspaces</h2>
      ${csrfField(v.csrf)}<input type="hidden" name="client_id" value="${app.clientId}">
      ${limitFields(app.limitsForm, `app${i}-`)}
      <button type="submit" class="secondary">Save limits for ${app.name}</button>
    </form>`,
    )}`
    }
    ${v.activity ? activitySection(v.activity) : ''}
    <form method="post" action="${v.signOutAction}" class="mt">
      ${csrfField(v.csrf)}<button type="submit" class="link">Sign out</button>
    </form>`,
  );
}

const hasLimitFields = (app: ConnectedAppView): boolean => app.limitsForm.askLimit || app.limitsForm.teams.length > 0;

// The same plain words the consent page used; the scope code stays in the tooltip.
function describeScope(scope: string): string {
  return (MCP_SCOPES as string[]).includes(scope) ? describe(scope as McpScope) : scope;
}

function formatDate(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
