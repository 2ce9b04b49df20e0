// Who is signed in on the connected-apps page: oidc-provider's sign-in session (a person who
// just connected an app), or this page's own signed cookie (a person who signed in here).
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Db } from '@pictor/platform/db';
import type { Clock } from '@pictor/platform/clock';
import { ownCookie } from '../cookies.ts';
import { userById } from '../oauth/accounts.ts';

export interface AccountSessionOptions {
  provider: Provider;
  db: Db;
  clock: Clock;
  secure: boolean;
  /** Seconds the page's own sign-in lasts. */
  ttl: number;
}

export function accountSession(o: AccountSessionOptions) {
  const cookie = ownCookie('pictor_account', { secure: o.secure, path: '/account', signed: true });
  return {
    async who(ctx: Context): Promise<{ id: string; email: string } | undefined> {
      const [userId, exp] = (ctx.cookies.get(cookie.name, { signed: true }) ?? '').split('.');
      if (userId && Number(exp) * 1000 > o.clock.now().getTime()) return userById(o.db, userId);
      const session = await o.provider.Session.get(ctx);
      return session.accountId ? userById(o.db, session.accountId) : undefined;
    },
    signIn(ctx: Context, userId: string): void {
      const exp = Math.floor(o.clock.now().getTime() / 1000) + o.ttl;
      ctx.cookies.set(cookie.name, `${userId}.${exp}`, { ...cookie.options, maxAge: o.ttl * 1000 });
    },
    /** Ends both kinds of sign-in in this browser. */
    async signOut(ctx: Context): Promise<void> {
      ctx.cookies.set(cookie.name, '', { ...cookie.options, maxAge: 0 });
      const session = await o.provider.Session.get(ctx);
      if (session.accountId) await session.destroy();
    },
  };
}

export type AccountSession = ReturnType<typeof accountSession>;
