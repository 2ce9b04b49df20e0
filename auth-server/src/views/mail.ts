// The sign-in mail: the link, the code the asking window shows, and what to do if it wasn't you.
import type { Mail } from '../mail.ts';
import { html } from './html.ts';

export interface SigninMail {
  to: string;
  link: string;
  code: string;
  /** The app being connected, when there is one. */
  appName?: string;
  minutes: number;
}

export function signinMail(m: SigninMail): Mail {
  const purpose = m.appName ? `connect ${m.appName} to your Pictor account` : 'sign in to Pictor';
  const text = [
    `Use this link to ${purpose}:`,
    '',
    m.link,
    '',
    `Your sign-in code is ${m.code}. The window where you asked for this link shows the same code.`,
    `The link works once, for ${m.minutes} minutes.`,
    '',
    "If you didn't ask to sign in, ignore this mail: nobody can sign in without opening the link.",
  ].join('\n');
  const body = html`<!doctype html><html><body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,Arial,sans-serif;color:#1b1d2a;line-height:1.5">
<p>Use this link to ${purpose}:</p>
<p><a href="${m.link}" style="display:inline-block;background:#4f46e5;color:#fff;padding:10px 18px;border-radius:8px;text-decoration:none;font-weight:600">Sign in to Pictor</a></p>
<p>Your sign-in code is <strong style="font-family:monospace;font-size:18px;letter-spacing:2px">${m.code}</strong>. The window where you asked for this link shows the same code.</p>
<p style="color:#5d6275;font-size:14px">The link works once, for ${m.minutes} minutes. If you didn't ask to sign in, ignore this mail.</p>
</body></html>`;
  return { to: m.to, subject: `Your Pictor sign-in link (code ${m.code})`, text, html: body.value };
}
