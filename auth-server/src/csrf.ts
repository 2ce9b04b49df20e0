// CSRF protection for every form (OWASP double-submit cookie, signed): the page sets a random
// token in a signed cookie and in a hidden field; a POST must carry both, equal. Another site
// can make a browser POST here but can neither read the token nor forge the cookie's signature.
// The cookie is per browser, so the confirm page of a link opened in a second browser works too.
import type { Context } from 'koa';
import { HttpError } from './http.ts';
import { randomToken, safeEqual } from './secrets.ts';

const COOKIE = 'pictor_csrf';
export const CSRF_FIELD = '_csrf';

export interface CsrfOptions {
  secure: boolean;
}

export function createCsrf(options: CsrfOptions) {
  const cookieOptions = { signed: true, httpOnly: true, sameSite: 'lax' as const, secure: options.secure, path: '/', overwrite: true };
  return {
    /** The browser's token, created on first use. */
    token(ctx: Context): string {
      const existing = ctx.cookies.get(COOKIE, { signed: true });
      if (existing) return existing;
      const token = randomToken(32);
      ctx.cookies.set(COOKIE, token, cookieOptions);
      return token;
    },
    /** Throws a 403 page unless the form carries this browser's token. */
    verify(ctx: Context, form: URLSearchParams): void {
      const cookie = ctx.cookies.get(COOKIE, { signed: true });
      const field = form.get(CSRF_FIELD);
      if (!cookie || !field || !safeEqual(cookie, field)) throw new HttpError(403, 'csrf');
    },
  };
}

export type Csrf = ReturnType<typeof createCsrf>;
