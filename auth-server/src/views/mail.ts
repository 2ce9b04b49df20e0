// The sign-in mail: which app asked (and whether Pictor vouches for its name), the link, and what
// to do if it wasn't you. It never holds the code: the code is what someone opening the link in
// another browser must bring from the window that asked, so it only appears there.
import type { Mail } from '../mail.ts';
import type { AppIdentity } from '../oauth/clients.ts';
import { appLabel } from './consent.ts';
import { html } from './html.ts';

export interface SigninMail {
  to: string;
  link: string;
  /** The app being connected; none for the connected-apps page. */
  app?: AppIdentity;
  minutes: number;
}

export function signinMail(m: SigninMail): Mail {
  const app = m.app ? appLabel(m.app) : undefined;
  const purpose = app
    ? `Someone asked to connect the app ${app} to the Pictor account of this address. Use this link to sign in and connect it:`
    : 'Someone asked to sign in to the Connected apps page of the Pictor account of this address. Use this link to sign in:';
  const ignore = app
    ? 'If you did not just try to connect an app to Pictor, ignore this mail and do not open the link.'
    : 'If you did not just try to sign in to Pictor, ignore this mail and do not open the link.';
  const rules = `The link works once, for ${m.minutes} minutes. Opened in another browser than the one where you asked, it asks for the code shown there.`;
  const text = [purpose, '', m.link, '', rules, '', ignore].join('\n');
  const body = html`<!doctype html><html><body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,Arial,sans-serif;color:#1b1d2a;line-height:1.5">
<p>${purpose}</p>
<p><a href="${m.link}" style="display:inline-block;background:#4f46e5;color:#fff;padding:10px 18px;border-radius:8px;text-decoration:none;font-weight:600">Sign in to Pictor</a></p>
<p style="color:#5d6275;font-size:14px">${rules}</p>
<p style="font-size:14px"><strong>${ignore}</strong></p>
</body></html>`;
  // The subject never carries the app's name: a self-registered app chooses it.
  return { to: m.to, subject: 'Your Pictor sign-in link', text, html: body.value };
}
