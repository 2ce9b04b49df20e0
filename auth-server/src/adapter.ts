// oidc-provider's storage on Postgres: one table for every model (see migration 0003_auth).
// All times come from the database clock, so replicas on different machines agree on expiry.
import { sql, type ExpressionBuilder } from 'kysely';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Db } from '@pictor/platform/db';
import type { Database } from '@pictor/migrations/schema';
import { recordTokenRevocations } from '@pictor/platform/revocations';

export interface AdapterOptions {
  /**
   * Seconds during which a consumed artifact still reads as unconsumed, per model. For rotated
   * refresh tokens this is the grace for two parallel refreshes presenting the same token: the
   * second is answered with the first one's successor (see recordSuccessor) instead of tripping
   * reuse detection (which revokes the grant).
   */
  consumeGraceSeconds?: Partial<Record<string, number>>;
}

export function createAdapterFactory(db: Db, options: AdapterOptions = {}): (model: string) => Adapter {
  return (model) => new PostgresAdapter(db, model, options.consumeGraceSeconds?.[model] ?? 0);
}

class PostgresAdapter implements Adapter {
  readonly #db: Db;
  readonly #model: string;
  readonly #grace: number;

  constructor(db: Db, model: string, graceSeconds: number) {
    this.#db = db;
    this.#model = model;
    this.#grace = graceSeconds;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void> {
    const expiresAt = expiresIn ? sql<Date>`now() + make_interval(secs => ${expiresIn})` : null;
    const row = {
      payload: JSON.stringify(payload),
      grant_id: payload.grantId ?? null,
      user_code: payload.userCode ?? null,
      uid: payload.uid ?? null,
      expires_at: expiresAt,
    };
    await this.#db
      .insertInto('auth_oidc_payloads')
      .values({ model: this.#model, id, ...row })
      .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(row))
      .execute();
  }

  find(id: string) {
    return this.#findBy('id', id);
  }

  findByUid(uid: string) {
    return this.#findBy('uid', uid);
  }

  findByUserCode(userCode: string) {
    return this.#findBy('user_code', userCode);
  }

  async consume(id: string): Promise<void> {
    // The first consumption time is kept: a racing second consume must not restart the grace.
    await this.#db
      .updateTable('auth_oidc_payloads')
      .set({ consumed_at: sql<Date>`coalesce(consumed_at, now())` })
      .where('model', '=', this.#model)
      .where('id', '=', id)
      .execute();
  }

  async destroy(id: string): Promise<void> {
    // oidc-provider destroys a grant only to revoke it (revocation endpoint, refresh token reuse,
    // a replayed code): its access tokens must end too, as when the person disconnects the app.
    // (It revokes the grant's codes and tokens itself, in parallel: deleting them here as well
    // could deadlock with it.)
    if (this.#model === 'Grant') return revokeGrants(this.#db, [id], { artifacts: false });
    await this.#db.deleteFrom('auth_oidc_payloads').where('model', '=', this.#model).where('id', '=', id).execute();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#db.deleteFrom('auth_oidc_payloads').where('model', '=', this.#model).where('grant_id', '=', grantId).execute();
  }

  async #findBy(column: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
    const row = await this.#db
      .selectFrom('auth_oidc_payloads')
      .select([
        'payload',
        sql<number | null>`CASE WHEN consumed_at <= now() - make_interval(secs => ${this.#grace})
          THEN extract(epoch FROM consumed_at)::int END`.as('consumed'),
      ])
      .where('model', '=', this.#model)
      .where(column, '=', value)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
      .executeTakeFirst();
    if (!row) return undefined;
    const payload = row.payload as AdapterPayload;
    return row.consumed === null ? payload : { ...payload, consumed: row.consumed };
  }
}

/**
 * Records `minted` as the one successor of the rotated refresh token `presented`, unless another
 * rotation was recorded first (a conditional update on the presented token's row: one winner
 * across every request and replica). Returns the successor in effect: `minted` when it won,
 * otherwise the newest token of the chain (a client may have refreshed again since), or
 * undefined when the presented token is gone (its grant was revoked meanwhile). The link lives
 * in the payload under `rotatedTo`, which oidc-provider ignores.
 */
export async function recordSuccessor(db: Db, presented: string, minted: string): Promise<string | undefined> {
  const claimed = await db
    .updateTable('auth_oidc_payloads')
    .set({ payload: sql`payload || jsonb_build_object('rotatedTo', ${minted}::text)`, consumed_at: sql`coalesce(consumed_at, now())` })
    .where('model', '=', 'RefreshToken')
    .where('id', '=', presented)
    .where(sql<string>`payload->>'rotatedTo'`, 'is', null)
    .executeTakeFirst();
  if (claimed.numUpdatedRows === 1n) return minted;
  // A new statement sees the winner's committed link (READ COMMITTED).
  const { rows } = await sql<{ id: string; depth: number }>`
    WITH RECURSIVE chain(id, next, depth) AS (
      SELECT id, payload->>'rotatedTo', 0 FROM auth_oidc_payloads WHERE model = 'RefreshToken' AND id = ${presented}
      UNION ALL
      SELECT p.id, p.payload->>'rotatedTo', c.depth + 1 FROM chain c
        JOIN auth_oidc_payloads p ON p.model = 'RefreshToken' AND p.id = c.next
      WHERE c.depth < 20
    )
    SELECT id, depth FROM chain ORDER BY depth DESC LIMIT 1`.execute(db);
  const head = rows[0];
  return head && head.depth > 0 ? head.id : undefined;
}

/** Deletes expired artifacts in batches, so a large backlog never holds long locks. */
export async function sweepExpired(db: Db, batch = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await sql`
      DELETE FROM auth_oidc_payloads WHERE ctid IN (
        SELECT ctid FROM auth_oidc_payloads WHERE expires_at < now() LIMIT ${batch})`.execute(db);
    const deleted = Number(result.numAffectedRows ?? 0n);
    total += deleted;
    if (deleted < batch) return total;
  }
}

/** Removes dynamically registered clients older than `olderThanSeconds` that never obtained a token. */
export async function purgeUnusedClients(db: Db, olderThanSeconds: number): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    const purged = await trx
      .deleteFrom('auth_oidc_payloads')
      .where('model', '=', 'Client')
      .where('created_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanSeconds})`)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('auth_connections').select(sql`1`.as('one')).whereRef('auth_connections.client_id', '=', 'auth_oidc_payloads.id'))),
      )
      .returning('id')
      .execute();
    const ids = purged.map((row) => row.id);
    if (ids.length > 0) {
      // Their registration access tokens (RFC 7592) go with them.
      await trx.deleteFrom('auth_oidc_payloads').where('model', '=', 'RegistrationAccessToken').where(sql<string>`payload->>'clientId'`, 'in', ids).execute();
    }
    return ids;
  });
}

export interface StoredGrant {
  grantId: string;
  clientId: string;
  /** Scopes per resource indicator, as granted at consent. */
  resources: Record<string, string>;
}

/** The person's live grants (one per consent), newest first. */
export async function grantsOfAccount(db: Db, accountId: string): Promise<StoredGrant[]> {
  const rows = await db
    .selectFrom('auth_oidc_payloads')
    .select(['id', 'payload'])
    .where('model', '=', 'Grant')
    .where(sql<string>`payload->>'accountId'`, '=', accountId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map((row) => {
    const payload = row.payload as { clientId: string; resources?: Record<string, string> };
    return { grantId: row.id, clientId: payload.clientId, resources: payload.resources ?? {} };
  });
}

/**
 * Ends grants at once, the one way every grant ends: the grants and every code and refresh token
 * issued under them go, and the access tokens already issued (JWTs the MCP server checks itself)
 * are cut off on every MCP replica through the recorded revocation of each person's app.
 */
export async function revokeGrants(db: Db, grantIds: string[], options: { artifacts?: boolean } = {}): Promise<void> {
  if (grantIds.length === 0) return;
  const grants = (eb: ExpressionBuilder<Database, 'auth_oidc_payloads'>) => eb.and([eb('model', '=', 'Grant'), eb('id', 'in', grantIds)]);
  await db.transaction().execute(async (trx) => {
    const ended = await trx
      .deleteFrom('auth_oidc_payloads')
      .where((eb) => (options.artifacts === false ? grants(eb) : eb.or([eb('grant_id', 'in', grantIds), grants(eb)])))
      .returning(['model', sql<string | null>`payload->>'accountId'`.as('accountId'), sql<string | null>`payload->>'clientId'`.as('clientId')])
      .execute();
    const apps = ended.flatMap((row) => (row.model === 'Grant' && row.accountId && row.clientId ? [{ userId: row.accountId, clientId: row.clientId }] : []));
    await recordTokenRevocations(trx, apps);
    await forgetDisconnectedLimits(trx, apps);
  });
}

/** No live grant of the row's person (`a.user_id`) and app (`a.client_id`) is left. */
const NO_LIVE_GRANT = sql`NOT EXISTS (
  SELECT 1 FROM auth_oidc_payloads g
  WHERE g.model = 'Grant' AND g.payload->>'accountId' = a.user_id::text AND g.payload->>'clientId' = a.client_id
    AND (g.expires_at IS NULL OR g.expires_at > now()))`;

/**
 * An app's spending limit and workspaces go with its last live grant: a disconnected app imposes
 * no limit (the renewals it turned on are then charged to no one's limit), and connecting it again
 * asks again. While another grant of the app lives, they stay.
 */
async function forgetDisconnectedLimits(trx: Db, apps: Array<{ userId: string; clientId: string }>): Promise<void> {
  if (apps.length === 0) return;
  await sql`
    DELETE FROM app_limits a
    USING unnest(${apps.map((a) => a.userId)}::text[], ${apps.map((a) => a.clientId)}::text[]) AS v(user_id, client_id)
    WHERE a.user_id::text = v.user_id AND a.client_id = v.client_id AND ${NO_LIVE_GRANT}`.execute(trx);
}

/**
 * Housekeeping: the limits of apps whose grants all ended by expiry (GRANT_TTL_WEEKS) rather than
 * by a revocation. Only rows older than `olderThanSeconds`, because consent writes the limits just
 * before it saves the grant.
 */
export async function forgetLimitsOfEndedGrants(db: Db, olderThanSeconds = 3600): Promise<number> {
  const result = await sql`
    DELETE FROM app_limits a WHERE a.updated_at < now() - make_interval(secs => ${olderThanSeconds}) AND ${NO_LIVE_GRANT}`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}
