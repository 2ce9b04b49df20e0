// The connected-apps page: each app connected to the account, what it may do, when it last got
// a token, and a button that disconnects it at once.
import { describe, MCP_SCOPES, type McpScope } from '../oauth/scopes.ts';
import type { ActivityEntry } from '@pictor/migrations/activity';
import { activitySection, recentActivity, type ActivityView } from './activity.ts';
import { html } from './html.ts';
import { csrfField, page } from './layout.ts';

export interface ConnectedAppView {
  clientId: string;
  name: string;
  scopes: string[];
  lastUsed: Date | null;
  /** Its latest activity entries. */
  recent?: ActivityEntry[];
}

export interface AppsView {
  email: string;
  apps: ConnectedAppView[];
  csrf: string;
  revokeAction: string;
  signOutAction: string;
  /** Set after a revocation, naming the app. */
  revoked?: string;
  /** The account's (or one app's) activity, paginated. */
  activity?: ActivityView;
  /** The page showing one app's activity. */
  appActivityHref?: (clientId: string) => string;
}

export function appsPage(v: AppsView): string {
  return page({ title: 'Connected apps', wide: true }, html`
    <h1>Connected apps</h1>
    <p class="muted small">Signed in as <strong>${v.email}</strong></p>
    ${v.revoked ? html`<p class="notice" role="status">${v.revoked} was disconnected. It can no longer get new access.</p>` : ''}
    ${v.apps.length === 0 ? html`<p>No apps are connected to your Pictor account.</p>` : html`
    <table class="apps">
      <thead><tr><th>App</th><th>Permissions</th><th>Last used</th><th>Recent activity</th><th></th></tr></thead>
      <tbody>
        ${v.apps.map((app) => html`
        <tr>
          <td><strong>${app.name}</strong></td>
          <td><ul class="perms">${app.scopes.map((s) => html`<li title="${s}">${describeScope(s)}</li>`)}</ul></td>
          <td class="muted small nowrap">${app.lastUsed ? formatDate(app.lastUsed) : 'never'}</td>
          <td>${recentActivity(app.recent ?? [], v.appActivityHref?.(app.clientId) ?? '#activity')}</td>
          <td><form method="post" action="${v.revokeAction}">
            ${csrfField(v.csrf)}<input type="hidden" name="client_id" value="${app.clientId}">
            <button type="submit" class="danger">Disconnect</button>
          </form></td>
        </tr>`)}
      </tbody>
    </table>`}
    ${v.activity ? activitySection(v.activity) : ''}
    <form method="post" action="${v.signOutAction}" class="mt">
      ${csrfField(v.csrf)}<button type="submit" class="link">Sign out</button>
    </form>`);
}

// The same plain words the consent page used; the scope code stays in the tooltip.
function describeScope(scope: string): string {
  return (MCP_SCOPES as string[]).includes(scope) ? describe(scope as McpScope) : scope;
}

function formatDate(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
