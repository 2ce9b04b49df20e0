// CSRF protection for every form (OWASP double-submit cookie, signed): the page sets a random
// token in a signed cookie and in a hidden field; a POST must carry both, equal. Another site
// can make a browser POST here but can neither read the token nor forge the cookie's signature.
// The cookie is per browser, so the confirm page of a link opened in a second browser works too.
import type { Context } from 'koa';
import { ownCookie } from './cookies.ts';
import { HttpError } from './http.ts';
import { randomToken, safeEqual } from './secrets.ts';

export const CSRF_FIELD = '_csrf';

export interface CsrfOptions {
  secure: boolean;
}

export function createCsrf(options: CsrfOptions) {
  const cookie = ownCookie('pictor_csrf', { secure: options.secure, signed: true });
  return {
    /** The browser's token, created on first use. */
    token(ctx: Context): string {
      const existing = ctx.cookies.get(cookie.name, { signed: true });
      if (existing) return existing;
      const token = randomToken(32);
      ctx.cookies.set(cookie.name, token, cookie.options);
      return token;
    },
    /** Throws a 403 page unless the form carries this browser's token. */
    verify(ctx: Context, form: URLSearchParams): void {
      const stored = ctx.cookies.get(cookie.name, { signed: true });
      const field = form.get(CSRF_FIELD);
      if (!stored || !field || !safeEqual(stored, field)) throw new HttpError(403, 'csrf');
    },
  };
}

export type Csrf = ReturnType<typeof createCsrf>;
