// Bearer authentication on /mcp (RFC 6750, MCP authorization spec): the token only from the
// Authorization header, a challenge that points at the protected-resource metadata (RFC 9728 §5.1).
import type { Context, Next } from 'koa';
import type { RevocationList } from './revocations.ts';
import { TOKEN_FAILURES, type Identity, type TokenVerifier } from './token.ts';
import { rpcError } from './jsonrpc.ts';

export interface ChallengeParams {
  /** RFC 9728 metadata URL of this resource. */
  resourceMetadata: string;
  /** Space-separated scopes to request. */
  scope: string;
  error?: 'invalid_token' | 'invalid_request' | 'insufficient_scope';
  description?: string;
}

/** Builds a `WWW-Authenticate: Bearer …` value; `error` is omitted when no token was sent (RFC 6750 §3.1). */
export function bearerChallenge({ resourceMetadata, scope, error, description }: ChallengeParams): string {
  const params: string[] = [];
  if (error) params.push(`error="${error}"`);
  if (error && description) params.push(`error_description="${quoted(description)}"`);
  params.push(`resource_metadata="${quoted(resourceMetadata)}"`);
  if (scope) params.push(`scope="${quoted(scope)}"`);
  return `Bearer ${params.join(', ')}`;
}

// Quoted-string content: no quotes, backslashes or control characters (RFC 6750 §3 limits these to %x20-21 / %x23-5B / %x5D-7E).
function quoted(value: string): string {
  return value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '');
}

/** Every reason a bearer check refuses a request (a metrics label): the verifier's and this layer's. */
export const REFUSAL_REASONS = [...TOKEN_FAILURES, 'missing', 'duplicate_header', 'query_token', 'malformed_header', 'revoked', 'jwks_unavailable'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export interface BearerOptions {
  verifier: TokenVerifier;
  resourceMetadata: string;
  /** Every scope the server knows, advertised on 401 so a client asks for them up front. */
  allScopes: readonly string[];
  /** Cut-offs of ended grants (see revocations.ts); earlier tokens of that person's app are refused. */
  revocations?: RevocationList;
  /** Told each refusal's reason (metrics). */
  onRefusal?: (reason: RefusalReason) => void;
}

declare module 'koa' {
  interface DefaultState {
    identity?: Identity;
  }
}

/** Koa middleware: sets ctx.state.identity or answers 401 (503 when the key set cannot be loaded). */
export function requireBearer({ verifier, resourceMetadata, allScopes, revocations, onRefusal }: BearerOptions) {
  const scope = allScopes.join(' ');
  const refuse = (ctx: Context, reason: RefusalReason, description: string, error?: ChallengeParams['error'], status = 401) => {
    onRefusal?.(reason);
    ctx.set('WWW-Authenticate', bearerChallenge({ resourceMetadata, scope, error, description }));
    rpcError(ctx, status, -32001, `Unauthorized: ${description}`);
  };

  return async function bearer(ctx: Context, next: Next): Promise<void> {
    // RFC 6750 §2.3 query tokens leak into logs and referrers; the MCP spec forbids them.
    if (ctx.querystring && new URLSearchParams(ctx.querystring).has('access_token')) {
      return refuse(ctx, 'query_token', 'access tokens are accepted only in the Authorization header', 'invalid_request');
    }
    // Node keeps only the first of repeated Authorization headers in req.headers; which one a
    // proxy in front would have used is anyone's guess, so two are malformed (RFC 6750 §3.1).
    const headers = ctx.req.headersDistinct.authorization;
    if (headers && headers.length > 1) {
      return refuse(ctx, 'duplicate_header', 'send exactly one Authorization header', 'invalid_request', 400);
    }
    const header = headers?.[0];
    if (!header) return refuse(ctx, 'missing', 'an access token is required');
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match) return refuse(ctx, 'malformed_header', 'the Authorization header must be "Bearer <token>"', 'invalid_request');
    const result = await verifier.verifyAccessToken(match[1]!);
    if (!result.ok) {
      if (result.error === 'unavailable') {
        onRefusal?.('jwks_unavailable');
        ctx.state.log?.warn('access token could not be checked: JWKS unavailable');
        ctx.set('Retry-After', '5');
        return rpcError(ctx, 503, -32000, 'Authorization is temporarily unavailable; try again shortly');
      }
      return refuse(ctx, result.reason, result.description, 'invalid_token');
    }
    const { userId, clientId, issuedAt } = result.identity;
    if (revocations?.isRevoked(userId, clientId, issuedAt)) {
      return refuse(ctx, 'revoked', 'the access token was revoked: the app was disconnected or its authorization ended', 'invalid_token');
    }
    ctx.state.identity = result.identity;
    await next();
  };
}
