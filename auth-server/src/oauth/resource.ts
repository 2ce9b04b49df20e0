// Resource indicators (RFC 8707): the MCP server is the only resource. Every access token is a
// JWT (RFC 9068: typ at+jwt) for it, with aud = MCP_URL exactly as the MCP server expects.
import { errors, type ResourceServer } from 'oidc-provider';
import type { SigningKeys } from '../keys.ts';
import { SIGNING_ALG } from '../keys.ts';

export interface ResourcePolicy {
  mcpUrl: string;
  scopes: readonly string[];
  accessTokenTtl: number;
  keys: SigningKeys;
}

/** The MCP URL with or without a trailing slash names the same resource. */
export function isMcpResource(indicator: string, mcpUrl: string): boolean {
  const strip = (u: string) => u.replace(/\/+$/, '');
  return strip(indicator) === strip(mcpUrl);
}

export function resourceIndicators(policy: ResourcePolicy) {
  return {
    enabled: true,
    // A client that names no resource gets the MCP server (RFC 8707 §2: the server may use a
    // default). At the token endpoint `oneOf` lists the granted ones; ours is always the MCP URL.
    async defaultResource(_ctx: unknown, _client: unknown, oneOf?: readonly string[]) {
      if (oneOf) return oneOf.find((r) => isMcpResource(r, policy.mcpUrl)) ?? oneOf;
      return policy.mcpUrl;
    },
    // The token endpoint may omit `resource`: the granted one is used (RFC 8707 §2.2).
    async useGrantedResource() {
      return true;
    },
    async getResourceServerInfo(_ctx: unknown, indicator: string): Promise<ResourceServer> {
      if (!isMcpResource(indicator, policy.mcpUrl)) {
        throw new errors.InvalidTarget(`unknown resource; the only resource is ${policy.mcpUrl}`);
      }
      const kid = policy.keys.signingKid();
      await policy.keys.noteSigned(kid);
      return {
        scope: policy.scopes.join(' '),
        audience: policy.mcpUrl,
        accessTokenTTL: policy.accessTokenTtl,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: SIGNING_ALG, kid } },
      };
    },
  };
}
