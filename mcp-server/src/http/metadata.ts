// OAuth 2.0 Protected Resource Metadata (RFC 9728) for the MCP endpoint: tells a client which
// authorization server issues tokens for it and which scopes exist.
import type { Context } from 'koa';

export interface ResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: ['header'];
  resource_name: string;
}

/** RFC 9728 §3.1: the well-known segment goes between the host and the resource's path. */
export function metadataPaths(resource: string): { primary: string; root: string } {
  const path = new URL(resource).pathname.replace(/\/+$/, '');
  const root = '/.well-known/oauth-protected-resource';
  return { primary: `${root}${path}`, root };
}

export function metadataUrl(resource: string): string {
  return new URL(metadataPaths(resource).primary, resource).href;
}

export function resourceMetadata(resource: string, issuer: string, scopes: readonly string[]): ResourceMetadata {
  return {
    resource,
    authorization_servers: [issuer],
    scopes_supported: [...scopes],
    bearer_methods_supported: ['header'],
    resource_name: 'Pictor',
  };
}

/** Public document: any origin may read it (browser-based MCP clients discover it cross-origin). */
export function serveMetadata(document: ResourceMetadata) {
  const body = JSON.stringify(document);
  return function metadata(ctx: Context): void {
    ctx.set('Access-Control-Allow-Origin', '*');
    if (ctx.method === 'OPTIONS') {
      ctx.set('Access-Control-Allow-Methods', 'GET, OPTIONS');
      ctx.set('Access-Control-Allow-Headers', 'MCP-Protocol-Version, Content-Type, Authorization');
      ctx.set('Access-Control-Max-Age', '86400');
      ctx.status = 204;
      return;
    }
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.type = 'application/json';
    ctx.body = body;
  };
}
