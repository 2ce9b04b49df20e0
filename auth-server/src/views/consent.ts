// The consent page: which app, where it sends you back, and each permission in plain words with
// a checkbox. Read access is always part of a connection; the others are checked but removable.
import type { LimitsForm } from '../account/limits.ts';
import type { AppIdentity } from '../oauth/clients.ts';
import { html } from './html.ts';
import { csrfField, page } from './layout.ts';
import { limitFields } from './limits.ts';

export interface Permission {
  scope: string;
  description: string;
  /** Always granted when connecting (read access): shown checked and disabled. */
  fixed: boolean;
}

export interface ConsentView {
  action: string;
  csrf: string;
  appName: string;
  /** True for apps Pictor knows (pre-registered); self-registered names are unverified. */
  verified: boolean;
  redirectHost: string;
  email: string;
  permissions: Permission[];
  staysConnected: boolean;
  /** The spending limit and workspaces to choose (shown when it asks to spend, or the person has teams). */
  limits: LimitsForm;
}

/** Said of an app Pictor does not vouch for, wherever its name is shown (pages and mail). */
export const UNVERIFIED = 'unverified: this app named itself';

/** An app's name as sign-in pages and mails write it, e.g. "Claude (unverified: this app named itself)". */
export function appLabel(app: AppIdentity): string {
  return app.verified ? app.name : `${app.name} (${UNVERIFIED})`;
}

export function consentPage(v: ConsentView): string {
  return page(
    { title: `Connect ${v.appName}` },
    html`
    <h1>Connect ${v.appName} to Pictor</h1>
    <p class="muted small">Signed in as <strong>${v.email}</strong></p>
    <div class="app">
      <div class="avatar" aria-hidden="true">${v.appName.slice(0, 1).toUpperCase()}</div>
      <div>
        <div class="name">${v.appName}</div>
        <div class="muted small">Sends you back to <strong>${v.redirectHost}</strong>${v.verified ? '' : ` · ${UNVERIFIED}`}</div>
      </div>
    </div>
    <form method="post" action="${v.action}">
      ${csrfField(v.csrf)}
      <p><strong>${v.appName}</strong> is asking to:</p>
      <ul class="permissions">
        ${v.permissions.map(
          (p) => html`
        <li><label>
          <input type="checkbox" name="scope" value="${p.scope}" checked${p.fixed ? html` disabled` : ''}>
          <span>${p.description}<span class="scope">${p.scope}</span>${p.fixed ? html`<span class="fixed">Needed to connect</span>` : ''}</span>
        </label>${p.fixed ? html`<input type="hidden" name="scope" value="${p.scope}">` : ''}</li>`,
        )}
      </ul>
      ${limitFields(v.limits)}
      <p class="muted small">${v.staysConnected ? 'It stays connected until you disconnect it under Connected apps. ' : ''}Untick anything you don't want to allow; you can connect again later to change it${v.limits.askLimit || v.limits.teams.length > 0 ? ', and change the limit and workspaces any time under Connected apps' : ''}.</p>
      <div class="actions">
        <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
        <button type="submit" name="decision" value="allow">Allow</button>
      </div>
    </form>`,
  );
}
