// Connected apps: the person's live grants grouped by app, and disconnecting one, which ends its
// grants and every token issued under them at once (see revokeGrants).
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import { appLimitsOfUser, type AppLimits } from '@pictor/platform/app-limits';
import { grantsOfAccount, revokeGrants } from '../adapter.ts';
import { STATIC_CLIENTS } from '../oauth/clients.ts';
import { isMcpResource } from '../oauth/resource.ts';
import { MCP_SCOPES } from '../oauth/scopes.ts';

export interface ConnectedApp {
  clientId: string;
  name: string;
  scopes: string[];
  lastUsed: Date | null;
  /** What the person chose for it; undefined for an app connected before limits existed (no limit, every workspace). */
  limits: AppLimits | undefined;
  /** Micro-credits its calls charged the person in the last 24 h. */
  spentLast24h: bigint;
}

export async function connectedApps(db: Db, userId: string, mcpUrl: string): Promise<ConnectedApp[]> {
  const grants = await grantsOfAccount(db, userId);
  if (grants.length === 0) return [];
  const scopesByClient = new Map<string, Set<string>>();
  for (const grant of grants) {
    const scopes = scopesByClient.get(grant.clientId) ?? new Set<string>();
    for (const [resource, granted] of Object.entries(grant.resources)) {
      if (isMcpResource(resource, mcpUrl)) for (const s of granted.split(' ')) if (s) scopes.add(s);
    }
    scopesByClient.set(grant.clientId, scopes);
  }
  const clientIds = [...scopesByClient.keys()];
  const [connections, registered, limits] = await Promise.all([
    db
      .selectFrom('auth_connections')
      .select(['client_id', 'client_name', 'last_used_at'])
      .where('user_id', '=', userId)
      .where('client_id', 'in', clientIds)
      .execute(),
    db
      .selectFrom('auth_oidc_payloads')
      .select(['id', sql<string | null>`payload->>'client_name'`.as('name')])
      .where('model', '=', 'Client')
      .where('id', 'in', clientIds)
      .execute(),
    appLimitsOfUser(db, userId),
  ]);
  return clientIds.map((clientId) => {
    const connection = connections.find((c) => c.client_id === clientId);
    const name = connection?.client_name ?? registered.find((r) => r.id === clientId)?.name ?? knownName(clientId);
    const scopes = scopesByClient.get(clientId) ?? new Set();
    const limit = limits.find((l) => l.clientId === clientId);
    return {
      clientId,
      name,
      scopes: MCP_SCOPES.filter((s) => scopes.has(s)),
      lastUsed: connection?.last_used_at ?? null,
      limits: limit && { dailyLimit: limit.dailyLimit, workspaces: limit.workspaces },
      spentLast24h: limit?.spentLast24h ?? 0n,
    };
  });
}

function knownName(clientId: string): string {
  return STATIC_CLIENTS.find((c) => c.client_id === clientId)?.client_name ?? clientId;
}

/**
 * The name the person saw for an app they connected (after disconnecting, for the notice), from
 * the database only: the client id comes from the URL, so one that is not among the person's apps
 * names nothing rather than echoing text someone put in a link.
 */
export async function connectedAppName(db: Db, userId: string, clientId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('auth_connections')
    .select(['client_id', 'client_name'])
    .where('user_id', '=', userId)
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return row ? (row.client_name ?? knownName(row.client_id)) : undefined;
}

/** Ends every grant of `clientId` for the person, and so its tokens. False when the app was not connected. */
export async function disconnectApp(db: Db, userId: string, clientId: string): Promise<boolean> {
  const grantIds = (await grantsOfAccount(db, userId)).filter((g) => g.clientId === clientId).map((g) => g.grantId);
  await revokeGrants(db, grantIds);
  return grantIds.length > 0;
}
