// Ended grants: access tokens are JWTs verified locally, so a revocation must reach every
// replica. Whenever a grant ends (the app disconnected, a token revoked, a refresh token reused),
// the auth server records a cut-off for that person and app in token_revocations and NOTIFYs;
// each replica LISTENs (a dedicated connection, re-established after errors) and also re-reads
// the table on an interval as a backstop. Tokens of that app for that person issued at or before
// the cut-off are refused: an in-memory lookup per call, no database round trip.
import pg from 'pg';
import type { Logger } from 'pino';
import type { Db } from '@pictor/platform/db';
import { REVOCATION_CHANNEL } from '@pictor/platform/revocations';

export interface RevocationList {
  /** True when a grant of this person's app ended at or after the second the token was issued. */
  isRevoked(userId: string, clientId: string, issuedAtSeconds: number): boolean;
  close(): Promise<void>;
}

export interface RevocationOptions {
  db: Db;
  databaseUrl: string;
  log: Logger;
  /** How far back revocations matter: the longest access token lifetime plus skew. Default 1 h 5 min. */
  windowMs?: number;
  /** Backstop re-read of the table. Default 10 s. */
  pollMs?: number;
}

export async function watchRevocations(options: RevocationOptions): Promise<RevocationList> {
  const { db, log } = options;
  const windowMs = options.windowMs ?? 65 * 60_000;
  const revokedAt = new Map<string, number>(); // "user client" → seconds
  let closed = false;
  let listener: pg.Client | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;

  const reload = async (userId?: string): Promise<void> => {
    let query = db
      .selectFrom('token_revocations')
      .select(['user_id', 'client_id', 'revoked_at'])
      .where('revoked_at', '>', new Date(Date.now() - windowMs));
    if (userId) query = query.where('user_id', '=', userId);
    const rows = await query.execute();
    for (const row of rows) revokedAt.set(`${row.user_id} ${row.client_id}`, Math.floor(row.revoked_at.getTime() / 1000));
  };
  const reloadQuietly = (userId?: string) => reload(userId).catch((err: unknown) => log.warn({ err }, 'could not read token revocations'));

  const listen = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: options.databaseUrl, application_name: 'pictor-mcp-revocations' });
    const retry = () => {
      if (closed || reconnectTimer) return;
      listener = undefined;
      client.end().catch(() => undefined);
      reconnectTimer = setTimeout(() => {
        reconnectTimer = undefined;
        void listen();
      }, 1000);
      reconnectTimer.unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', (message) => {
      if (message.channel === REVOCATION_CHANNEL) void reloadQuietly(message.payload || undefined);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${REVOCATION_CHANNEL}`);
      listener = client;
      await reloadQuietly(); // whatever happened while we were not listening
    } catch (err) {
      log.warn({ err }, 'could not listen for token revocations; retrying');
      retry();
    }
  };

  await reload();
  await listen();
  const poll = setInterval(() => void reloadQuietly(), options.pollMs ?? 10_000);
  poll.unref();

  return {
    isRevoked(userId, clientId, issuedAtSeconds) {
      const at = revokedAt.get(`${userId} ${clientId}`);
      // iat has whole seconds: a token from the same second as the revocation counts as revoked
      return at !== undefined && issuedAtSeconds <= at;
    },
    async close() {
      closed = true;
      clearInterval(poll);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await listener?.end().catch(() => undefined);
    },
  };
}
