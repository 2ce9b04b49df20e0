// Clients known ahead of time, and the policy for Client ID Metadata Documents (CIMD,
// draft-ietf-oauth-client-id-metadata-document): a client_id that is an https URL names its own
// metadata. Claude's document is stored here, so connecting from Claude never depends on
// fetching it; other documents are fetched, except from hosts that point inside a network.
import { isIP } from 'node:net';
import type { ClientMetadata } from 'oidc-provider';

export const CLAUDE_CLIENT_ID = 'https://claude.ai/oauth/mcp-oauth-client-metadata';

export const STATIC_CLIENTS: readonly ClientMetadata[] = [
  {
    client_id: CLAUDE_CLIENT_ID,
    client_name: 'Claude',
    client_uri: 'https://claude.ai',
    redirect_uris: ['https://claude.ai/api/mcp/auth_callback', 'https://claude.com/api/mcp/auth_callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    application_type: 'web',
  },
];

/** Clients whose name Pictor vouches for on the consent page. */
export function isVerifiedClient(clientId: string): boolean {
  return STATIC_CLIENTS.some((c) => c.client_id === clientId);
}

/** An app as pages and mails name it: a self-registered (or CIMD) app named itself, unverified. */
export interface AppIdentity {
  name: string;
  verified: boolean;
}

export function appIdentity(client: { clientId: string; clientName?: string }): AppIdentity {
  return { name: client.clientName ?? client.clientId, verified: isVerifiedClient(client.clientId) };
}

/** Refuses metadata URLs on loopback, private, link-local or internal hosts (SSRF). */
export function isPublicHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal') || host.endsWith('.local')) return false;
  const version = isIP(host);
  if (version === 4) {
    const [a = 0, b = 0] = host.split('.').map(Number);
    return !(
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127) ||
      a >= 224
    );
  }
  if (version === 6) return !(host === '::1' || host === '::' || /^(fc|fd|fe8|fe9|fea|feb|ff)/.test(host) || host.startsWith('::ffff:'));
  return host.includes('.');
}
