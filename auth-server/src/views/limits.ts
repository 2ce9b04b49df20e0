// The spending limit and workspace fields, the same on the consent page and on the connected-apps
// page (where each app's form gets its own id prefix).
import { PERSONAL } from '@pictor/platform/app-limits';
import type { LimitsForm } from '../account/limits.ts';
import { html, type Html } from './html.ts';

export function limitFields(f: LimitsForm, idPrefix = ''): Html {
  const id = (name: string) => `${idPrefix}${name}`;
  const ticked = new Set(f.workspaces);
  return html`
    ${f.error ? html`<p class="notice" role="alert">${f.error}</p>` : ''}
    ${
      f.askLimit
        ? html`
    <fieldset class="limits">
      <legend>Spending limit</legend>
      <label for="${id('daily_spend_limit')}">Credits this app may spend per 24 hours</label>
      <div class="limit-row">
        <input type="number" min="0" step="0.000001" inputmode="decimal" id="${id('daily_spend_limit')}" name="daily_spend_limit" value="${f.limit}">
        <label class="check"><input type="checkbox" name="no_spend_limit" value="1"${f.noLimit ? html` checked` : ''}> No limit</label>
      </div>
      <p class="muted small">Counts every charge caused by this app: new instances, added hours, and renewals it turned on. Pictor refuses a charge that would go past it.</p>
    </fieldset>`
        : ''
    }
    ${
      f.teams.length > 0
        ? html`
    <fieldset class="limits">
      <legend>Workspaces</legend>
      <p class="muted small">Where this app may act for you.</p>
      <label class="check"><input type="checkbox" name="workspace" value="${PERSONAL}"${ticked.has(PERSONAL) ? html` checked` : ''}> Personal</label>
      ${f.teams.map(
        (t) => html`
      <label class="check"><input type="checkbox" name="workspace" value="${t.id}"${ticked.has(t.id) ? html` checked` : ''}> Team ${t.name}${t.role === 'viewer' ? html` <span class="muted">(read-only: your role is viewer)</span>` : ''}</label>`,
      )}
    </fieldset>`
        : ''
    }`;
}
