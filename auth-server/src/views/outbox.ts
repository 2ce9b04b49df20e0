// Development only: the mails the dev outbox caught, newest first, with their links clickable.
import type { OutboxMail } from '../mail.ts';
import { html } from './html.ts';
import { page } from './layout.ts';

export function outboxPage(mails: OutboxMail[]): string {
  return page(
    { title: 'Dev outbox', wide: true },
    html`
    <h1>Dev outbox</h1>
    <p class="notice">Development only: no SMTP_URL is set, so mail is kept here instead of being sent.</p>
    ${
      mails.length === 0
        ? html`<p class="muted">No mail yet.</p>`
        : mails.map(
            (m) => html`
      <h2 class="small">${m.subject} → ${m.to} <span class="muted">(${m.at.toISOString()})</span></h2>
      <pre class="mail">${m.text}</pre>
      ${[...m.text.matchAll(/https?:\/\/\S+/g)].map(([url]) => html`<p class="small"><a href="${url}">Open this link</a></p>`)}`,
          )
    }`,
  );
}
