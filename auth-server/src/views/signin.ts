// The sign-in pages, shared by the OAuth sign-in (interaction) and the connected-apps sign-in:
// email form → check your email (shows the short code, waits by itself) → the link's confirm page
// (asks for that code when opened in another browser) → signed in. Each page gets the URLs it posts to, so it does not know which flow it serves.
import { html } from './html.ts';
import { csrfField, page } from './layout.ts';

export interface SigninForm {
  action: string;
  csrf: string;
  /** Who is asking, e.g. "Claude wants to connect to your Pictor account." */
  lead: string;
  email?: string;
  error?: string;
}

export function emailForm(f: SigninForm): string {
  return page(
    { title: 'Sign in' },
    html`
    <h1>Sign in to Pictor</h1>
    <p class="muted">${f.lead}</p>
    ${f.error ? html`<p class="notice" role="alert">${f.error}</p>` : ''}
    <form method="post" action="${f.action}">
      ${csrfField(f.csrf)}
      <label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="email" required autofocus
        maxlength="254" placeholder="you@example.com" value="${f.email ?? ''}">
      <button type="submit">Email me a sign-in link</button>
    </form>
    <p class="muted small mt">No password needed. New to Pictor? The same link creates your account.</p>`,
  );
}

export interface Waiting {
  email: string;
  code: string;
  statusUrl: string;
  continueAction: string;
  restartUrl: string;
  csrf: string;
  /** Shown when the person pressed Continue before confirming the link. */
  notYet?: boolean;
}

export function checkEmail(w: Waiting): string {
  return page(
    { title: 'Check your email', poll: true },
    html`
    <h1>Check your email</h1>
    <p>We sent a sign-in link to <strong>${w.email}</strong>. It works for 15 minutes, once.</p>
    <p class="muted small">Open it in this browser and this window continues by itself. Opened on another device or browser, the link asks for this code:</p>
    <div class="code" aria-label="Sign-in code">${w.code}</div>
    <p class="muted small">Type it only on the page the link opens, and never tell it to anyone.</p>
    ${w.notYet ? html`<p class="notice" role="status">The link has not been confirmed yet. Open it from your mail, then come back.</p>` : ''}
    <p class="muted small"><span class="spinner" aria-hidden="true"></span>Waiting for you to open the link…</p>
    <form id="continue-form" method="post" action="${w.continueAction}" data-status-url="${w.statusUrl}">
      ${csrfField(w.csrf)}
      <button type="submit" class="secondary">I opened the link — continue</button>
    </form>
    <p class="small mt"><a href="${w.restartUrl}">Use a different email</a></p>`,
  );
}

export interface ConfirmLink {
  action: string;
  token: string;
  email: string;
  csrf: string;
  /** What signing in is for, e.g. "connect Claude (unverified: …) to your Pictor account". */
  purpose: string;
  /** The link was opened in another browser than the one that asked: the code must be typed. */
  askCode: boolean;
  /** After a wrong code: how many tries are left. */
  triesLeft?: number;
}

/** Mail scanners open links; only this page's button (a POST) signs in. */
export function confirmLink(c: ConfirmLink): string {
  const warning = html`<p class="notice"><strong>If you did not just try to sign in somewhere, close this page.</strong> Someone else may be trying to get into your Pictor account with your email.</p>`;
  return page(
    { title: 'Confirm sign-in' },
    html`
    <h1>Sign in as ${c.email}?</h1>
    <p>This link signs you in to ${c.purpose}.</p>
    ${warning}
    <form method="post" action="${c.action}">
      ${csrfField(c.csrf)}
      <input type="hidden" name="token" value="${c.token}">
      ${
        c.askCode
          ? html`
      <p>This link was opened in a different browser from the one where you asked to sign in. Type the code that window shows:</p>
      ${c.triesLeft !== undefined ? html`<p class="notice" role="alert">That is not the code shown in the window where you asked. ${c.triesLeft} ${c.triesLeft === 1 ? 'try' : 'tries'} left before this link stops working.</p>` : ''}
      <label for="code">Code from the other window</label>
      <input id="code" name="code" type="text" class="code-input" required autofocus autocomplete="off" autocapitalize="characters"
        spellcheck="false" maxlength="16" placeholder="ABC-123">`
          : ''
      }
      <button type="submit">Sign in</button>
    </form>`,
  );
}

export interface Confirmed {
  /** Set when this browser is the one that asked: it may carry on here instead. */
  continueHere?: { action: string; csrf: string };
}

export function linkConfirmed(c: Confirmed): string {
  return page(
    { title: 'Signed in' },
    html`
    <h1><span class="ok">✓</span> You're signed in</h1>
    <p>Go back to the window where you asked to sign in: it continues by itself. You can close this page.</p>
    ${
      c.continueHere
        ? html`
      <form method="post" action="${c.continueHere.action}">
        ${csrfField(c.continueHere.csrf)}
        <button type="submit" class="secondary">Continue in this window instead</button>
      </form>`
        : ''
    }`,
  );
}

export type LinkRefusal = 'used' | 'expired' | 'foreign' | 'unknown' | 'ended' | 'locked';

const REFUSALS: Record<LinkRefusal, { title: string; text: string }> = {
  used: {
    title: 'This link was already used',
    text: 'Each sign-in link works once. If that was not you, nothing was signed in with it here. Ask for a new link from the app you were connecting.',
  },
  expired: {
    title: 'This link has expired',
    text: 'Sign-in links work for 15 minutes, and a newer link replaces older ones. Ask for a new link from the app you were connecting.',
  },
  foreign: {
    title: 'This link belongs to another sign-in',
    text: 'The link was sent for a different sign-in request than this one. Open the link exactly as it arrived in your mail, or start again.',
  },
  unknown: {
    title: 'This link is not valid',
    text: 'The link may be incomplete: some mail apps cut long links. Copy the whole link from the mail, or ask for a new one.',
  },
  locked: {
    title: 'This link no longer works',
    text: 'The code was typed wrong too many times, so nobody can sign in with this link. If you are the one signing in, ask for a new link in the window where you started.',
  },
  ended: { title: 'This sign-in has ended', text: 'The request this link was for is finished or timed out. Start connecting again from the app.' },
};

export function linkRefused(reason: LinkRefusal): string {
  const r = REFUSALS[reason];
  return page({ title: r.title }, html`<h1>${r.title}</h1><p>${r.text}</p>`);
}

export function mailFailed(retryUrl: string): string {
  return page(
    { title: 'Email not sent' },
    html`
    <h1>We couldn't send the email</h1>
    <p>Our mail service did not accept the message, so no sign-in link was sent. Nothing was used up: try again in a minute.</p>
    <a class="button" href="${retryUrl}">Try again</a>`,
  );
}

const inMinutes = (minutes: number) => `${minutes} minute${minutes === 1 ? '' : 's'}`;

export function tooManyAttempts(retryUrl: string, minutes: number): string {
  return page(
    { title: 'Too many attempts' },
    html`
    <h1>Too many sign-in emails</h1>
    <p>To protect your inbox we limit how many links we send. Try again in about ${inMinutes(minutes)}.</p>
    <a class="button secondary" href="${retryUrl}">Back</a>`,
  );
}

export function tooManyConfirms(minutes: number): string {
  return page(
    { title: 'Too many attempts' },
    html`
    <h1>Too many attempts</h1>
    <p>This sign-in link was tried too often. Try again in about ${inMinutes(minutes)}.</p>`,
  );
}
