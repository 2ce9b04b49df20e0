// The magic-link sign-in as HTTP handlers, shared by both places a person signs in: an OAuth
// interaction (/interaction/:uid/...) and the connected-apps page (/account/signin/:attempt/...).
// A `FlowHost` says which flow the browser is in and how it ends; the steps are the same:
//   form → POST email (binds the link to this browser: a secret cookie) → "check your email"
//   (shows the code; waits by itself) → link GET (confirm page, harmless for mail scanners) →
//   link POST (signs in: as is from the asking browser, with the code from any other) → the
//   asking window claims and finishes. A link confirmed elsewhere without the code signs in
//   nobody, so a genuine mail opened by its owner cannot finish an attacker's request.
import type { Context } from 'koa';
import type { Db } from '@pictor/platform/db';
import type { MagicLinkFlow } from '@pictor/migrations/schema';
import type { Clock } from '@pictor/platform/clock';
import type { Audit } from '../audit.ts';
import type { AuthConfig } from '../config.ts';
import { ownCookie } from '../cookies.ts';
import type { Csrf } from '../csrf.ts';
import { HttpError, readForm, sendHtml, seeOther } from '../http.ts';
import type { Logger } from '../log.ts';
import type { Mailer } from '../mail.ts';
import type { AppIdentity } from '../oauth/clients.ts';
import { hitAll } from '../rate-limit.ts';
import { fingerprint, randomToken, sha256 } from '../secrets.ts';
import { appLabel } from '../views/consent.ts';
import { signinMail } from '../views/mail.ts';
import * as views from '../views/signin.ts';
import { inboxKey, isEmail } from './email.ts';
import * as links from './magic-links.ts';

export interface FlowContext {
  id: string;
  /** The app being connected, for the pages and the mail. */
  app?: AppIdentity;
}

export interface FlowHost {
  kind: MagicLinkFlow;
  /** URL prefix of this flow's pages for one flow id, e.g. `/interaction/abc`. */
  base(id: string): string;
  /** The flow this browser is running for `id` (its cookie), or undefined when it has none. */
  current(ctx: Context, id: string): Promise<FlowContext | undefined>;
  /** Signs the browser in as `userId` and sends it on. */
  finish(ctx: Context, id: string, userId: string): Promise<void>;
  /** Flow `id` as any browser may see it (the link's pages); undefined once it has ended. */
  lookup(id: string): Promise<FlowContext | undefined>;
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

// Flow ids are server-made (oidc-provider uids, random attempt ids); anything else names no cookie.
const FLOW_ID = /^[\w-]{1,64}$/;

export function signinHandlers(host: FlowHost, deps: SigninDeps) {
  const { db, clock, config, csrf } = deps;
  const secure = config.issuer.startsWith('https:');
  const flow = (id: string): links.Flow => ({ kind: host.kind, id });

  /** The secret cookie binding flow `id`'s link to the browser that asked for it. */
  const binding = (id: string) => ownCookie(`pictor_bind_${id}`, { secure, path: host.base(id) });
  const browserSecret = (ctx: Context, id: string) => (FLOW_ID.test(id) ? ctx.cookies.get(binding(id).name) : undefined);

  async function require(ctx: Context, id: string): Promise<FlowContext> {
    const current = await host.current(ctx, id);
    if (!current) throw new HttpError(400, 'session_not_found');
    return current;
  }

  /** A link that may be used now: live, for this flow, and the flow has not ended. */
  async function usable(token: string, id: string): Promise<{ link: links.LinkInfo; flow: FlowContext } | { refused: views.LinkRefusal }> {
    const seen = await links.inspect(db, clock, token, flow(id));
    if ('refused' in seen) return seen;
    const live = await host.lookup(id);
    return live ? { link: seen.link, flow: live } : { refused: 'ended' };
  }

  function lead(current: FlowContext): string {
    return current.app
      ? `${current.app.name} wants to connect to your Pictor account. Enter your email to sign in.`
      : 'Enter your email to see and manage the apps connected to your account.';
  }

  function purpose(current: FlowContext): string {
    return current.app ? `connect the app ${appLabel(current.app)} to your Pictor account` : 'the Connected apps page of your Pictor account';
  }

  function showConfirm(ctx: Context, id: string, token: string, seen: { link: links.LinkInfo; flow: FlowContext }, triesLeft?: number) {
    sendHtml(
      ctx,
      views.confirmLink({
        action: `${host.base(id)}/link`,
        token,
        email: seen.link.email,
        csrf: csrf.token(ctx),
        purpose: purpose(seen.flow),
        askCode: !links.askedFrom(seen.link, browserSecret(ctx, id)),
        triesLeft,
      }),
      triesLeft === undefined ? 200 : 400,
    );
  }

  function showForm(ctx: Context, id: string, current: FlowContext, extra: { email?: string; error?: string } = {}, status = 200) {
    sendHtml(ctx, views.emailForm({ action: `${host.base(id)}/login`, csrf: csrf.token(ctx), lead: lead(current), ...extra }), status);
  }

  function showWaiting(ctx: Context, id: string, link: { email: string; code: string }, notYet = false) {
    const base = host.base(id);
    sendHtml(
      ctx,
      views.checkEmail({
        email: link.email,
        code: link.code,
        statusUrl: `${base}/status`,
        continueAction: `${base}/complete`,
        restartUrl: `${base}?restart=1`,
        csrf: csrf.token(ctx),
        notYet,
      }),
    );
  }

  return {
    /** The sign-in step's page: the waiting page while a link is out, else the email form. */
    async page(ctx: Context, id: string): Promise<void> {
      const current = await require(ctx, id);
      const out = ctx.query.restart ? undefined : await links.pending(db, clock, flow(id), browserSecret(ctx, id));
      if (out) showWaiting(ctx, id, out);
      else showForm(ctx, id, current);
    },

    async requestLink(ctx: Context, id: string): Promise<void> {
      const current = await require(ctx, id);
      const form = await readForm(ctx);
      csrf.verify(ctx, form);
      const email = (form.get('email') ?? '').trim();
      if (!isEmail(email)) {
        showForm(ctx, id, current, { email, error: 'Enter a valid email address, like name@example.com.' }, 400);
        return;
      }
      // Per inbox (protects it, whatever the spelling) and per IP (protects the service); the answer
      // is the same whether or not the address has an account, which is only created when the link is used.
      const limited = await hitAll(db, clock, [
        [`signin:email:${fingerprint(inboxKey(email))}`, config.limits.magicLinkPerEmail],
        [`signin:ip:${ctx.ip}`, config.limits.magicLinkPerIp],
      ]);
      if (!limited.allowed) {
        ctx.set('Retry-After', String(limited.retryAfter));
        sendHtml(ctx, views.tooManyAttempts(host.base(id), Math.ceil(limited.retryAfter / 60)), 429);
        return;
      }
      const secret = randomToken(32);
      const link = await links.issueLink(db, clock, email, flow(id), sha256(secret), config.ttl.magicLink);
      const url = `${config.issuer}${host.base(id)}/link?token=${link.token}`;
      try {
        await deps.mailer.send(signinMail({ to: email, link: url, app: current.app, minutes: config.ttl.magicLink / 60 }));
      } catch (error) {
        await links.withdraw(db, link.id);
        deps.log.warn({ err: error, flow: host.kind }, 'sign-in mail not sent');
        await deps.audit.record({ type: 'signin.link_failed', ip: ctx.ip, detail: { flow: host.kind } });
        sendHtml(ctx, views.mailFailed(host.base(id)), 503);
        return;
      }
      await links.supersede(db, clock, flow(id), link.id);
      // As long as the flow itself may last: the asking window claims the sign-in with it.
      const cookie = binding(id);
      ctx.cookies.set(cookie.name, secret, { ...cookie.options, maxAge: config.ttl.interaction * 1000 });
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
      const claimed = await links.claim(db, clock, flow(id), browserSecret(ctx, id));
      if (!claimed) {
        const out = await links.pending(db, clock, flow(id), browserSecret(ctx, id));
        if (out) showWaiting(ctx, id, out, true);
        else seeOther(ctx, host.base(id));
        return;
      }
      await deps.audit.record({ type: 'signin.completed', userId: claimed.userId, ip: ctx.ip, detail: { flow: host.kind } });
      const cookie = binding(id);
      ctx.cookies.set(cookie.name, '', { ...cookie.options, maxAge: 0 });
      await host.finish(ctx, id, claimed.userId);
    },

    /** The link as opened from the mail: a confirm page only (scanners prefetch links). */
    async showLink(ctx: Context, id: string): Promise<void> {
      const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
      const seen = await usable(token, id);
      if ('refused' in seen) sendHtml(ctx, views.linkRefused(seen.refused), 400);
      else showConfirm(ctx, id, token, seen);
    },

    /**
     * The confirm page's POST: signs in (creating the account at first sign-in) when this is the
     * browser that asked, or the code of the asking window was typed; rate limited per IP and
     * per link on top of the link's own few code tries.
     */
    async confirmLink(ctx: Context, id: string): Promise<void> {
      const form = await readForm(ctx);
      csrf.verify(ctx, form);
      const token = form.get('token') ?? '';
      const limited = await hitAll(db, clock, [
        [`signin:confirm:ip:${ctx.ip}`, config.limits.linkConfirmPerIp],
        [`signin:confirm:link:${fingerprint(token)}`, config.limits.linkConfirmPerLink],
      ]);
      if (!limited.allowed) {
        ctx.set('Retry-After', String(limited.retryAfter));
        sendHtml(ctx, views.tooManyConfirms(Math.ceil(limited.retryAfter / 60)), 429);
        return;
      }
      const seen = await usable(token, id);
      if ('refused' in seen) {
        sendHtml(ctx, views.linkRefused(seen.refused), 400);
        return;
      }
      const askedHere = links.askedFrom(seen.link, browserSecret(ctx, id));
      const code = form.get('code') ?? '';
      if (!askedHere && code.trim() === '') {
        showConfirm(ctx, id, token, seen); // nothing typed: asked again, no try used
        return;
      }
      const result = await links.confirm(db, clock, token, flow(id), askedHere ? { askedHere: true } : { code }, deps.ensureUser);
      if ('wrongCode' in result) {
        await deps.audit.record({ type: 'signin.code_wrong', ip: ctx.ip, detail: { flow: host.kind, triesLeft: result.wrongCode } });
        if (result.wrongCode > 0) showConfirm(ctx, id, token, seen, result.wrongCode);
        else sendHtml(ctx, views.linkRefused('locked'), 400);
        return;
      }
      if ('refused' in result) {
        sendHtml(ctx, views.linkRefused(result.refused), 400);
        return;
      }
      await deps.audit.record({ type: 'signin.confirmed', userId: result.userId, ip: ctx.ip, detail: { flow: host.kind, askedHere } });
      sendHtml(
        ctx,
        views.linkConfirmed({
          continueHere: askedHere ? { action: `${host.base(id)}/complete`, csrf: csrf.token(ctx) } : undefined,
        }),
      );
    },
  };
}

export type SigninHandlers = ReturnType<typeof signinHandlers>;
