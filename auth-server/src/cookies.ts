// The names and scope of every cookie of the authorization server, ours and oidc-provider's.
// Over https a name takes the `__Host-` prefix (RFC 6265bis §4.1.3.2): the browser keeps such a
// cookie only if it is Secure, has Path=/ and no Domain, so neither a sibling subdomain nor a
// plain-http page can plant or shadow it. A cookie that must stay scoped to a path cannot be
// `__Host-`; it takes `__Secure-` (§4.1.3.1), which still refuses non-Secure setters.

export interface CookieOptions {
  httpOnly: true;
  sameSite: 'lax';
  secure: boolean;
  path: string;
  overwrite: true;
  signed: boolean;
}

export interface OwnCookie {
  name: string;
  options: CookieOptions;
}

/**
 * One of this server's own cookies: httpOnly, SameSite=Lax. `path` scopes it over http; over
 * https it is a `__Host-` cookie, Path=/, and a per-flow cookie keeps flows apart by its name.
 */
export function ownCookie(base: string, o: { secure: boolean; path?: string; signed?: boolean }): OwnCookie {
  return {
    name: o.secure ? `__Host-${base}` : base,
    options: {
      httpOnly: true,
      sameSite: 'lax',
      secure: o.secure,
      path: o.secure ? '/' : (o.path ?? '/'),
      overwrite: true,
      signed: o.signed ?? false,
    },
  };
}

/**
 * oidc-provider's cookies (`cookies.names`). Its session cookie is Path=/ and becomes `__Host-`;
 * the interaction and resume cookies are scoped to one authorization request's path
 * (/interaction/:uid, /auth/:uid), which keeps concurrent requests apart, so they take `__Secure-`.
 */
export function providerCookieNames(secure: boolean): { session: string; interaction: string; resume: string } {
  return {
    session: secure ? '__Host-pictor_session' : 'pictor_session',
    interaction: secure ? '__Secure-pictor_interaction' : 'pictor_interaction',
    resume: secure ? '__Secure-pictor_resume' : 'pictor_resume',
  };
}
