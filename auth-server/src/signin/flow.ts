// The magic-link sign-in as HTTP handlers, shared by both places a person signs in: an OAuth
// interaction (/interaction/:uid/...) and the connected-apps page (/account/signin/:attempt/...).
// A `FlowHost` says which flow the browser is in and how it ends; the steps are the same:
//   form → POST email → "check your email" (code; waits by itself) → link GET (confirm page,
//   harmless for mail scanners) → link POST (signs in) → the asking window claims and finishes.
import type { Context } from 'koa';
import type { Db } from '@pictor/migrations/db';
import type { MagicLinkFlow } from '@pictor/migrations/schema';
import type { Clock } from '@pictor/mcp-server/pictor/clock';
import type { Audit } from '../audit.ts';
import type { AuthConfig } from '../config.ts';
import type { Csrf } from '../csrf.ts';
import { HttpError, readForm, sendHtml, seeOther } from '../http.ts';
import type { Logger } from '../log.ts';
import type { Mailer } from '../mail.ts';
import { hitAll } from '../rate-limit.ts';
import { fingerprint } from '../secrets.ts';
import { signinMail } from '../views/mail.ts';
import * as views from '../views/signin.ts';
import * as links from './magic-links.ts';

export interface FlowContext {
  id: string;
  /** The app being connected, for the form's lead text and the mail. */
  appName?: string;
}

export interface FlowHost {
  kind: MagicLinkFlow;
  /** URL prefix of this flow's pages for one flow id, e.g. `/interaction/abc`. */
  base(id: string): string;
  /** The flow this browser is running for `id` (its cookie), or undefined when it has none. */
  current(ctx: Context, id: string): Promise<FlowContext | undefined>;
  /** Signs the browser in as `userId` and sends it on. */
  finish(ctx: Context, id: string, userId: string): Promise<void>;
  /** Whether flow `id` can still finish (from any browser): a link for an ended flow is refused. */
  alive(id: string): Promise<boolean>;
}

export interface SigninDeps {
  db: Db;
  clock: Clock;
  config: AuthConfig;
  mailer: Mailer;
  csrf: Csrf;
  audit: Audit;
  log: Logger;
  ensureUser(email: string): Promise<string>;
}

// RFC 5321 §4.5.3.1.3 caps a path at 256 octets, so an address fits in 254.
const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

export function signinHandlers(host: FlowHost, deps: SigninDeps) {
  const { db, clock, config, csrf } = deps;
  const flow = (id: string): links.Flow => ({ kind: host.kind, id });

  async function require(ctx: Context, id: string): Promise<FlowContext> {
    const current = await host.current(ctx, id);
    if (!current) throw new HttpError(400, 'session_not_found');
    return current;
  }

  /** A link that may be used now: live, for this flow, and the flow has not ended. */
  async function usable(token: string, id: string): Promise<{ link: links.LinkInfo } | { refused: views.LinkRefusal }> {
    const seen = await links.inspect(db, clock, token, flow(id));
    if ('refused' in seen) return seen;
    return (await host.alive(id)) ? seen : { refused: 'ended' };
  }

  function lead(current: FlowContext): string {
    return current.appName
      ? `${current.appName} wants to connect to your Pictor account. Enter your email to sign in.`
      : 'Enter your email to see and manage the apps connected to your account.';
  }

  function showForm(ctx: Context, id: string, current: FlowContext, extra: { email?: string; error?: string } = {}, status = 200) {
    sendHtml(ctx, views.emailForm({ action: `${host.base(id)}/login`, csrf: csrf.token(ctx), lead: lead(current), ...extra }), status);
  }

  function showWaiting(ctx: Context, id: string, link: { email: string; code: string }, notYet = false) {
    const base = host.base(id);
    sendHtml(ctx, views.checkEmail({
      email: link.email, code: link.code, statusUrl: `${base}/status`, continueAction: `${base}/complete`,
      restartUrl: `${base}?restart=1`, csrf: csrf.token(ctx), notYet,
    }));
  }

  return {
    /** The sign-in step's page: the waiting page while a link is out, else the email form. */
    async page(ctx: Context, id: string): Promise<void> {
      const current = await require(ctx, id);
      const out = ctx.query.restart ? undefined : await links.pending(db, clock, flow(id));
      if (out) showWaiting(ctx, id, out);
      else showForm(ctx, id, current);
    },

    async requestLink(ctx: Context, id: string): Promise<void> {
      const current = await require(ctx, id);
      const form = await readForm(ctx);
      csrf.verify(ctx, form);
      const email = (form.get('email') ?? '').trim();
      if (email.length > 254 || !EMAIL.test(email)) {
        showForm(ctx, id, current, { email, error: 'Enter a valid email address, like name@example.com.' }, 400);
        return;
      }
      // Per email (protects an inbox) and per IP (protects the service); the answer is the same
      // whether or not the address has an account, which is only created when the link is used.
      const limited = await hitAll(db, clock, [
        [`signin:email:${fingerprint(email.toLowerCase())}`, config.limits.magicLinkPerEmail],
        [`signin:ip:${ctx.ip}`, config.limits.magicLinkPerIp],
      ]);
      if (!limited.allowed) {
        ctx.set('Retry-After', String(limited.retryAfter));
        sendHtml(ctx, views.tooManyAttempts(host.base(id), Math.ceil(limited.retryAfter / 60)), 429);
        return;
      }
      const link = await links.issueLink(db, clock, email, flow(id), config.ttl.magicLink);
      const url = `${config.issuer}${host.base(id)}/link?token=${link.token}`;
      try {
        await deps.mailer.send(signinMail({ to: email, link: url, code: link.code, appName: current.appName, minutes: config.ttl.magicLink / 60 }));
      } catch (error) {
        await links.withdraw(db, link.id);
        deps.log.warn({ err: error, flow: host.kind }, 'sign-in mail not sent');
        await deps.audit.record({ type: 'signin.link_failed', ip: ctx.ip, detail: { flow: host.kind } });
        sendHtml(ctx, views.mailFailed(host.base(id)), 503);
        return;
      }
      await links.supersede(db, clock, flow(id), link.id);
      await deps.audit.record({ type: 'signin.link_sent', ip: ctx.ip, detail: { flow: host.kind, email } });
      seeOther(ctx, host.base(id)); // GET shows the waiting page; a reload does not resend
    },

    /** Polled by the waiting page: JSON, no secrets. */
    async status(ctx: Context, id: string): Promise<void> {
      ctx.set('Cache-Control', 'no-store');
      if (!(await host.current(ctx, id))) {
        ctx.body = { status: 'ended' };
        return;
      }
      ctx.body = { status: await links.status(db, clock, flow(id)) };
    },

    /** The waiting window finishes: claims the confirmation made by the link, once. */
    async complete(ctx: Context, id: string): Promise<void> {
      await require(ctx, id);
      csrf.verify(ctx, await readForm(ctx));
      const claimed = await links.claim(db, clock, flow(id));
      if (!claimed) {
        const out = await links.pending(db, clock, flow(id));
        if (out) showWaiting(ctx, id, out, true);
        else seeOther(ctx, host.base(id));
        return;
      }
      await deps.audit.record({ type: 'signin.completed', userId: claimed.userId, ip: ctx.ip, detail: { flow: host.kind } });
      await host.finish(ctx, id, claimed.userId);
    },

    /** The link as opened from the mail: a confirm page only (scanners prefetch links). */
    async showLink(ctx: Context, id: string): Promise<void> {
      const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
      const seen = await usable(token, id);
      if ('refused' in seen) {
        sendHtml(ctx, views.linkRefused(seen.refused), 400);
        return;
      }
      sendHtml(ctx, views.confirmLink({
        action: `${host.base(id)}/link`, token, code: seen.link.code, email: seen.link.email, csrf: csrf.token(ctx),
      }));
    },

    /** The confirm page's POST: signs in (creating the account at first sign-in). */
    async confirmLink(ctx: Context, id: string): Promise<void> {
      const form = await readForm(ctx);
      csrf.verify(ctx, form);
      const token = form.get('token') ?? '';
      const seen = await usable(token, id);
      if ('refused' in seen) {
        sendHtml(ctx, views.linkRefused(seen.refused), 400);
        return;
      }
      const result = await links.confirm(db, clock, token, flow(id), deps.ensureUser);
      if ('refused' in result) {
        sendHtml(ctx, views.linkRefused(result.refused), 400);
        return;
      }
      await deps.audit.record({ type: 'signin.confirmed', userId: result.userId, ip: ctx.ip, detail: { flow: host.kind } });
      const sameBrowser = await host.current(ctx, id);
      sendHtml(ctx, views.linkConfirmed({
        code: result.code,
        continueHere: sameBrowser ? { action: `${host.base(id)}/complete`, csrf: csrf.token(ctx) } : undefined,
      }));
    },
  };
}

export type SigninHandlers = ReturnType<typeof signinHandlers>;
