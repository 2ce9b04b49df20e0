// Access-token verification, framework-neutral: a JWT access token (RFC 9068) from the
// authorization server, checked locally against its cached JWKS. No network per request.
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';

export interface Identity {
  userId: string;
  email?: string;
  scopes: string[];
  clientId: string;
  /** The token's `iat`, in seconds. */
  issuedAt: number;
}

/** Why a token was refused, as a fixed word (a metrics label; the description is for the client). */
export const TOKEN_FAILURES = [
  'not_jwt',
  'expired',
  'wrong_audience',
  'wrong_issuer',
  'wrong_type',
  'not_yet_valid',
  'issued_in_future',
  'invalid_claim',
  'lifetime',
  'algorithm',
  'unknown_key',
  'bad_signature',
  'malformed',
  'not_a_user',
] as const;
export type TokenFailure = (typeof TOKEN_FAILURES)[number];

export type VerifyResult =
  | { ok: true; identity: Identity }
  | { ok: false; error: 'invalid_token'; reason: TokenFailure; description: string }
  /** Our problem, not the client's: the JWKS could not be loaded. */
  | { ok: false; error: 'unavailable'; description: string };

export interface TokenVerifierOptions {
  issuer: string;
  /** The canonical MCP URL: the token's `aud` must contain exactly this (RFC 8707 audience binding). */
  audience: string;
  jwksUrl: string;
  /** Seconds of clock skew tolerated on exp/nbf/iat. Default 30. */
  clockToleranceSeconds?: number;
  /** Longest lifetime (exp - iat) accepted, in seconds; the skew is added. Default 3600. */
  maxLifetimeSeconds?: number;
  /** A key set older than this is refreshed in the background, never blocking a request. Default 10 min. */
  refreshAfterMs?: number;
  /** Minimum time between fetches triggered by an unknown `kid`. Default 30 s. */
  cooldownMs?: number;
  /** Current time for exp/nbf checks (tests move it). Default the system clock. */
  now?: () => Date;
  /** Verified tokens remembered (by their exact bytes) to skip the signature check. Default 10,000; 0 disables. */
  cacheSize?: number;
  /** How long a verified token is remembered, at most (never past its exp). Default 5 min. */
  cacheTtlMs?: number;
  onRefreshError?: (error: unknown) => void;
}

export interface TokenVerifier {
  verifyAccessToken(token: string): Promise<VerifyResult>;
  /** Readiness: true once a key set is loaded (fetching it now if none is yet). */
  keysLoaded(): Promise<boolean>;
}

// Exactly what the authorization server signs with (auth-server/src/keys.ts SIGNING_ALG): never
// `none`, HS* (a shared secret) or an algorithm a forged header picks.
export const ALLOWED_ALGORITHMS = ['ES256'];
// RFC 9068 §2.2: all of these are required in a JWT access token (iss and aud are checked by value).
const REQUIRED_CLAIMS = ['exp', 'iat', 'sub', 'client_id', 'jti'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// RFC 6750 §2.1 b64token, as JWS compact serialization uses it
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const refreshAfterMs = options.refreshAfterMs ?? 10 * 60_000;
  // The cache never expires by itself (cacheMaxAge Infinity) so that an unreachable authorization
  // server cannot take the MCP server down; freshness is kept by the background refresh below,
  // and a new signing key (unknown kid) triggers a fetch subject to the cooldown.
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
    cacheMaxAge: Infinity,
    cooldownDuration: options.cooldownMs ?? 30_000,
    timeoutDuration: 5_000,
  });
  let loadedAt = 0;
  const now = () => (options.now ? options.now().getTime() : Date.now());
  const toleranceSeconds = options.clockToleranceSeconds ?? 30;
  const tolerance = toleranceSeconds * 1000;
  const maxLifetime = (options.maxLifetimeSeconds ?? 3600) + toleranceSeconds;
  // A signature check is the largest per-request cost; the same token bytes always verify the same
  // way, so a success is remembered until the token expires, capped so a key removed from the
  // JWKS stops being honoured soon after the next refresh. Failures are never cached.
  const cacheSize = options.cacheSize ?? 10_000;
  const cacheTtlMs = options.cacheTtlMs ?? 5 * 60_000;
  const verified = new Map<string, { identity: Identity; until: number }>();

  function refreshInBackground(): void {
    if (loadedAt === 0 || jwks.reloading || Date.now() - loadedAt < refreshAfterMs) return;
    loadedAt = Date.now(); // one attempt per period, successful or not
    jwks.reload().catch((error: unknown) => options.onRefreshError?.(error));
  }

  return {
    async verifyAccessToken(token) {
      const cached = verified.get(token);
      if (cached) {
        if (now() < cached.until) return { ok: true, identity: cached.identity };
        verified.delete(token);
      }
      if (!JWT_SHAPE.test(token)) return invalid('not_jwt', 'the access token is not a JWT');
      refreshInBackground();
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, jwks, {
          issuer: options.issuer,
          audience: options.audience,
          typ: 'at+jwt',
          algorithms: ALLOWED_ALGORITHMS,
          clockTolerance: toleranceSeconds,
          requiredClaims: REQUIRED_CLAIMS,
          // also refuses an iat in the future (beyond the skew)
          maxTokenAge: maxLifetime,
          ...(options.now ? { currentDate: options.now() } : {}),
        }));
      } catch (error) {
        return describeFailure(error);
      } finally {
        if (loadedAt === 0 && jwks.jwks() !== undefined) loadedAt = Date.now();
      }
      const result = toIdentity(payload, maxLifetime);
      if (result.ok && cacheSize > 0 && typeof payload.exp === 'number') {
        if (verified.size >= cacheSize) verified.delete(verified.keys().next().value!);
        Object.freeze(result.identity.scopes);
        verified.set(token, { identity: Object.freeze(result.identity), until: Math.min(payload.exp * 1000 + tolerance, now() + cacheTtlMs) });
      }
      return result;
    },
    async keysLoaded() {
      if (jwks.jwks() === undefined) {
        await jwks.reload().catch(() => undefined); // jose shares one fetch among concurrent callers
        if (loadedAt === 0 && jwks.jwks() !== undefined) loadedAt = Date.now();
      }
      return jwks.jwks() !== undefined;
    },
  };
}

function invalid(reason: TokenFailure, description: string): VerifyResult {
  return { ok: false, error: 'invalid_token', reason, description };
}

function toIdentity(payload: JWTPayload, maxLifetime: number): VerifyResult {
  const { sub, scope, client_id: clientId, jti, iat, exp } = payload;
  if (typeof sub !== 'string' || !UUID.test(sub)) return invalid('not_a_user', 'the token subject is not a Pictor user');
  // Without the app's id the token could not be matched against revocations (revocations.ts).
  if (typeof clientId !== 'string' || clientId === '') return invalid('invalid_claim', 'the access token has no client_id');
  if (typeof jti !== 'string' || jti === '') return invalid('invalid_claim', 'the access token has no jti');
  // presence and type checked by jwtVerify
  if (exp! - iat! > maxLifetime) return invalid('lifetime', 'the access token lives longer than this server accepts');
  // RFC 9068 §2.2.3: a space-separated string, nothing else
  if (scope !== undefined && typeof scope !== 'string') return invalid('invalid_claim', 'the access token scope must be a space-separated string');
  const identity: Identity = { userId: sub, scopes: scope ? scope.split(' ').filter(Boolean) : [], clientId, issuedAt: iat! };
  if (typeof payload.email === 'string') identity.email = payload.email;
  return { ok: true, identity };
}

function describeFailure(error: unknown): VerifyResult {
  if (error instanceof errors.JWTExpired) return invalid('expired', 'the access token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return invalid('invalid_claim', `the access token has no ${error.claim} claim`);
    switch (error.claim) {
      case 'aud':
        return invalid('wrong_audience', 'the access token was issued for another resource, not this MCP server');
      case 'iss':
        return invalid('wrong_issuer', 'the access token was issued by an unknown authorization server');
      case 'typ':
        return invalid('wrong_type', 'the token is not an access token (typ must be at+jwt)');
      case 'nbf':
        return invalid('not_yet_valid', 'the access token is not valid yet');
      case 'iat':
        return invalid('issued_in_future', 'the access token was issued in the future');
      default:
        return invalid('invalid_claim', `the access token is missing or has an invalid ${error.claim} claim`);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return invalid('algorithm', 'the access token is signed with an algorithm this server does not accept');
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return invalid('unknown_key', 'the access token is signed with an unknown key');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid('bad_signature', 'the access token signature is invalid');
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JWKInvalid) {
    return invalid('malformed', 'the access token is malformed');
  }
  // JWKS unreachable, timed out or malformed: nothing the client did wrong.
  return { ok: false, error: 'unavailable', description: "the authorization server's signing keys could not be loaded" };
}
