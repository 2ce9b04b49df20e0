// The activity parts of the connected-apps page: a few lines per app, and the account's (or one
// app's) activity as a table with a link to older entries. Escaped like every page (html.ts).
import type { ActivityEntry } from '@pictor/platform/activity';
import { formatCredits } from '@pictor/platform/money';
import { html, type Html } from './html.ts';

export interface ActivityView {
  entries: ActivityEntry[];
  /** The app shown alone (its name), or undefined for the whole account. */
  appName?: string | undefined;
  /** Link to the next (older) page, or undefined on the last. */
  olderHref?: string | undefined;
  /** Link back to the whole account's activity when one app is shown. */
  allHref: string;
}

function moved(micro: bigint): string {
  if (micro === 0n) return '';
  return micro < 0n ? `−${formatCredits(-micro)} credits` : `+${formatCredits(micro)} credits`;
}

function outcome(e: ActivityEntry): Html {
  return e.outcome === 'ok' ? html`done` : html`<strong class="refused">refused: ${e.outcome.replace(/_/g, ' ')}</strong>`;
}

function when(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The latest entries of one app, for its row in the apps table. */
export function recentActivity(entries: readonly ActivityEntry[], href: string): Html {
  if (entries.length === 0) return html`<span class="muted small">nothing yet</span>`;
  return html`<ul class="perms small">${entries.map((e) => html`<li>${e.tool} ${outcome(e)}${e.amountMicro === 0n ? '' : html`, ${moved(e.amountMicro)}`}</li>`)}</ul>
    <a class="small" href="${href}">All activity of this app</a>`;
}

export function activitySection(v: ActivityView): Html {
  return html`
    <h2 id="activity">${v.appName === undefined ? 'Recent activity' : html`Activity of ${v.appName}`}</h2>
    ${v.appName === undefined ? '' : html`<p class="small"><a href="${v.allHref}">Show every app's activity</a></p>`}
    ${
      v.entries.length === 0
        ? html`<p class="muted">No activity yet: changes your apps make, and calls refused by a rule, appear here.</p>`
        : html`
    <table class="apps activity">
      <thead><tr><th>When</th><th>App</th><th>What</th><th>Where</th><th>Outcome</th><th>Money</th></tr></thead>
      <tbody>
        ${v.entries.map(
          (e) => html`
        <tr>
          <td class="muted small nowrap">${when(e.at)}</td>
          <td>${e.appName ?? 'no app'}</td>
          <td><code>${e.tool}</code>${e.targetId ? html`<br><span class="muted small">${e.targetId}</span>` : ''}</td>
          <td class="small">${e.teamName === null ? 'Personal' : html`Team ${e.teamName}`}</td>
          <td class="small">${outcome(e)}</td>
          <td class="nowrap">${moved(e.amountMicro)}</td>
        </tr>`,
        )}
      </tbody>
    </table>`
    }
    ${v.olderHref ? html`<p><a href="${v.olderHref}" rel="next">Older activity →</a></p>` : ''}`;
}
