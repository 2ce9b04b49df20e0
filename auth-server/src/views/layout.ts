// The frame of every page: brand, one card, the stylesheet. Pages pass their content as Html.
import { html, type Html } from './html.ts';

export interface PageOptions {
  title: string;
  /** A wider card for tables (connected apps, dev outbox). */
  wide?: boolean;
  /** Adds the waiting-page script. */
  poll?: boolean;
}

export function page(options: PageOptions, content: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>${options.title} · Pictor</title>
  <link rel="stylesheet" href="/assets/style.css">
  ${options.poll ? html`<script src="/assets/poll.js" defer></script>` : ''}
</head>
<body>
  <header class="brand"><span class="mark" aria-hidden="true"></span>Pictor</header>
  <main class="card${options.wide ? ' wide' : ''}">
${content}
  </main>
  <footer>Pictor GPU cloud · <a href="/account">Connected apps</a></footer>
</body>
</html>
`.value;
}

/** The hidden CSRF field every form carries. */
export function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}
