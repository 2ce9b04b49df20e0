// The scopes: the MCP server's own list (one source of truth, mcp-server/src/tools/define.ts),
// plus the two that describe the connection rather than a permission on Pictor data.
import { SCOPES } from '@pictor/platform/scopes';

export type McpScope = keyof typeof SCOPES;

export const MCP_SCOPES = Object.keys(SCOPES) as McpScope[];

/** What a request naming no MCP scope gets, and what every connection includes. */
export const DEFAULT_SCOPE: McpScope = 'pictor:read';

/** Granted with the connection when requested: refresh tokens, and an ID token with `sub`. */
export const CONNECTION_SCOPES = ['openid', 'offline_access'];

/**
 * scopes_supported. Claude requests every advertised scope, so each one here is grantable;
 * openid is kept because oidc-provider always supports it.
 */
export const SUPPORTED_SCOPES = [...CONNECTION_SCOPES, ...MCP_SCOPES];

export function describe(scope: McpScope): string {
  return SCOPES[scope];
}
