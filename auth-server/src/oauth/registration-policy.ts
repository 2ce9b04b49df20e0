// Open dynamic client registration (RFC 7591) with this server's policy, applied through
// oidc-provider's documented hook for adjusting client metadata before its own validation
// (extraClientMetadata.validator, which receives ctx only for registration requests):
// - redirect URIs are https, or http on a loopback address (RFC 8252 §7.3; OAuth 2.1 §1.5);
// - a client registering only loopback http redirect URIs is a native app (RFC 8252 §7.3), so
//   any port of them is accepted at authorization time, as native apps pick ports at run time;
// - unknown scope values are dropped instead of failing the registration (RFC 7591 §2 lets the
//   server replace the requested scope; clients often copy scopes from elsewhere).
import { errors } from 'oidc-provider';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** The single extra metadata property the policy hangs on (RFC 7591 §2 `software_id`). */
export const POLICY_PROPERTY = 'software_id';

export function isLoopbackHttp(uri: string): boolean {
  const url = URL.parse(uri);
  return url?.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

export function registrationPolicy(supportedScopes: ReadonlySet<string>) {
  return function validate(ctx: unknown, key: string, _value: unknown, metadata: Record<string, unknown>): void {
    if (key !== POLICY_PROPERTY || !isRegistration(ctx)) return;

    const uris = metadata.redirect_uris;
    if (Array.isArray(uris)) {
      for (const uri of uris) {
        const url = typeof uri === 'string' ? URL.parse(uri) : null;
        if (!url || !(url.protocol === 'https:' || isLoopbackHttp(uri as string))) {
          throw new errors.InvalidClientMetadata('redirect_uris must use https, or http on a loopback address (127.0.0.1, [::1] or localhost)');
        }
      }
      // `metadata` already holds the default application_type; the request body says whether the client chose one.
      const chosen = registrationBody(ctx).application_type !== undefined;
      if (!chosen && uris.length > 0 && uris.every((u) => isLoopbackHttp(u as string))) {
        metadata.application_type = 'native';
      }
    }

    if (typeof metadata.scope === 'string') {
      const known = metadata.scope.split(' ').filter((s) => supportedScopes.has(s));
      if (known.length > 0) metadata.scope = known.join(' ');
      else delete metadata.scope;
    }
  };
}

type RegistrationContext = { oidc?: { route?: string; body?: Record<string, unknown> } } | undefined;

function isRegistration(ctx: unknown): boolean {
  return (ctx as RegistrationContext)?.oidc?.route === 'registration';
}

function registrationBody(ctx: unknown): Record<string, unknown> {
  return (ctx as RegistrationContext)?.oidc?.body ?? {};
}
