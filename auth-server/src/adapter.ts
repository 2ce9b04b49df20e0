// oidc-provider's storage on Postgres: one table for every model (see migration 0003_auth).
// All times come from the database clock, so replicas on different machines agree on expiry.
import { sql, type ExpressionBuilder } from 'kysely';
import type { Adapter, AdapterPayload, KoaContextWithOIDC } from 'oidc-provider';
import type { Clock } from '@pictor/platform/clock';
import { systemClock } from '@pictor/platform/clock';
import { runPrepared, type Db, type Statement } from '@pictor/platform/db';
import type { Database } from '@pictor/migrations/schema';
import { recordTokenRevocations } from '@pictor/platform/revocations';
import { type AccountUser, userMemoKey } from './oauth/accounts.ts';
import { currentRequest, recall, remember, take } from './request-memo.ts';

const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

// The refresh grant's two statements, prepared once per connection (planned once, not per request).

/** #readRefresh: $1 the presented token, $2 the client (null: none), $3 the consumption grace (s). */
const READ_REFRESH: Statement = {
  name: 'auth_read_refresh',
  text: `
    SELECT c.payload AS client, rt.payload, rt.grant_id, g.payload AS grant, u.id AS user_id, u.email,
      CASE WHEN rt.consumed_at <= now() - make_interval(secs => $3::int) THEN extract(epoch FROM rt.consumed_at)::int END AS consumed
    FROM (SELECT 1) AS one
    LEFT JOIN auth_oidc_payloads c ON c.model = 'Client' AND c.id = $2::text AND (c.expires_at IS NULL OR c.expires_at > now())
    LEFT JOIN auth_oidc_payloads rt ON rt.model = 'RefreshToken' AND rt.id = $1::text AND (rt.expires_at IS NULL OR rt.expires_at > now())
    LEFT JOIN auth_oidc_payloads g ON g.model = 'Grant' AND g.id = rt.grant_id AND (g.expires_at IS NULL OR g.expires_at > now())
    LEFT JOIN users u ON u.id = CASE WHEN rt.payload->>'accountId' ~* '${UUID_PATTERN}' THEN (rt.payload->>'accountId')::uuid END`,
};

/**
 * #saveSuccessor: $1 presented, $2 minted, $3 its payload, $4 its grant, $5 its lifetime (s, null:
 * none), $6 the person, $7 the client, $8 the client's name, $9 now (auth_connections' clock).
 * The app's last use is rewritten only when a minute older than this one (the connected-apps page
 * shows it to the minute) or the app's name changed: an upsert on every refresh locked the
 * person's connection row until commit, so the refreshes of one app waited on each other.
 */
const SAVE_SUCCESSOR: Statement = {
  name: 'auth_save_successor',
  text: `
    WITH claimed AS (
      UPDATE auth_oidc_payloads
      SET rotated_to = $2::text, consumed_at = coalesce(consumed_at, now())
      WHERE model = 'RefreshToken' AND id = $1::text AND rotated_to IS NULL
      RETURNING 1
    ), stored AS (
      INSERT INTO auth_oidc_payloads (model, id, payload, grant_id, expires_at)
      SELECT 'RefreshToken', $2::text, $3::jsonb, $4::text, now() + make_interval(secs => $5::int)
      FROM claimed
    ), connected AS (
      INSERT INTO auth_connections (user_id, client_id, client_name, first_authorized_at, last_used_at)
      SELECT $6::uuid, $7::text, $8::text, $9::timestamptz, $9::timestamptz
      FROM claimed
      ON CONFLICT (user_id, client_id) DO NOTHING
    ), used AS (
      UPDATE auth_connections SET last_used_at = $9::timestamptz, client_name = $8::text
      WHERE user_id = $6::uuid AND client_id = $7::text AND EXISTS (SELECT 1 FROM claimed)
        AND (last_used_at <= $9::timestamptz - interval '1 minute' OR client_name IS DISTINCT FROM $8::text)
    )
    SELECT count(*)::text AS claimed FROM claimed`,
};

export interface AdapterOptions {
  /**
   * Seconds during which a consumed artifact still reads as unconsumed, per model. For rotated
   * refresh tokens this is the grace for two parallel refreshes presenting the same token: the
   * second is answered with the first one's successor (see #saveSuccessor) instead of tripping
   * reuse detection (which revokes the grant).
   */
  consumeGraceSeconds?: Partial<Record<string, number>>;
  /** The clock of auth_connections' times (see recordConnections). Default the system clock. */
  clock?: Clock;
}

export function createAdapterFactory(db: Db, options: AdapterOptions = {}): (model: string) => Adapter {
  const grace = (model: string) => options.consumeGraceSeconds?.[model] ?? 0;
  return (model) => new PostgresAdapter(db, model, grace(model), grace('RefreshToken'), options.clock ?? systemClock);
}

/** A refresh in progress: the presented token's consumption waits for its successor's save. */
interface Rotation {
  presented: string;
  /** Set by the save: whether this request's successor became the presented token's one. */
  claimed?: boolean;
}
const ROTATION = 'rotation';

/**
 * What the refresh grant of this request did with the presented token: `claimed` when the
 * successor it minted was recorded as the one successor (and stored, and the connection's use
 * recorded); not claimed when another request's successor already was (this one was not stored).
 */
export function rotationOf(ctx: object): Rotation | undefined {
  return recall<Rotation>(ctx, ROTATION)?.value;
}

/** The request being served when it is a refresh grant presenting `id` (any token when id is omitted). */
function refreshPresenting(id?: string): { ctx: KoaContextWithOIDC; presented: string } | undefined {
  const ctx = currentRequest() as KoaContextWithOIDC | undefined;
  const params = ctx?.oidc?.params;
  const presented = params?.refresh_token;
  if (params?.grant_type !== 'refresh_token' || typeof presented !== 'string' || !presented) return undefined;
  return id === undefined || presented === id ? { ctx: ctx!, presented } : undefined;
}

/** A row #readRefresh read ahead for this request, until the model's find asks for it (once). */
const readAheadKey = (model: string, id: string) => `${model}:${id}`;

class PostgresAdapter implements Adapter {
  readonly #db: Db;
  readonly #model: string;
  readonly #grace: number;
  readonly #refreshGrace: number;
  readonly #clock: Clock;

  constructor(db: Db, model: string, graceSeconds: number, refreshGraceSeconds: number, clock: Clock) {
    this.#db = db;
    this.#model = model;
    this.#grace = graceSeconds;
    this.#refreshGrace = refreshGraceSeconds;
    this.#clock = clock;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void> {
    if (this.#model === 'RefreshToken') {
      const ctx = currentRequest();
      const rotation = ctx && rotationOf(ctx);
      if (ctx && rotation && rotation.claimed === undefined) {
        rotation.claimed = await this.#saveSuccessor(ctx as KoaContextWithOIDC, rotation.presented, id, payload, expiresIn);
        return;
      }
    }
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
    const ctx = currentRequest();
    if (ctx) {
      const read = take<AdapterPayload | undefined>(ctx, readAheadKey(this.#model, id));
      if (read) return Promise.resolve(read.value);
      // A refresh grant: the client's read (client authentication, first) brings the presented
      // token and what the grant reads after it in the same round trip.
      if (this.#model === 'Client') {
        const refresh = refreshPresenting();
        if (refresh) return this.#readRefresh(refresh.ctx, refresh.presented, id);
      }
    }
    const refresh = this.#model === 'RefreshToken' ? refreshPresenting(id) : undefined;
    if (refresh) return this.#readRefresh(refresh.ctx, id);
    return this.#findBy('id', id);
  }

  findByUid(uid: string) {
    return this.#findBy('uid', uid);
  }

  findByUserCode(userCode: string) {
    return this.#findBy('user_code', userCode);
  }

  async consume(id: string): Promise<void> {
    // The refresh grant consumes the presented token and saves its successor right after: the
    // save does both in one statement (#saveSuccessor), which also decides the one successor.
    const refresh = this.#model === 'RefreshToken' ? refreshPresenting(id) : undefined;
    if (refresh) return remember(refresh.ctx, ROTATION, { presented: id } satisfies Rotation);
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

  /**
   * The refresh token a refresh grant presents, with what the grant reads next in the same round
   * trip: its grant (Grant.find, validateGrant) and its person (findAccount, extraTokenClaims),
   * remembered for this request; and, asked by the client's read (clientId given), the client,
   * which is returned while the token waits in the memo for find('RefreshToken'). Same conditions
   * as #findBy for each row; the CASE keeps a subject that is not a uuid from failing the cast
   * (userById's rule).
   */
  async #readRefresh(ctx: object, id: string, clientId?: string): Promise<AdapterPayload | undefined> {
    const rows = await runPrepared<{
      client: AdapterPayload | null;
      payload: AdapterPayload | null;
      consumed: number | null;
      grant_id: string | null;
      grant: AdapterPayload | null;
      user_id: string | null;
      email: string | null;
    }>(this.#db, READ_REFRESH, [id, clientId ?? null, this.#refreshGrace]);
    const row = rows[0]!;
    let token: AdapterPayload | undefined;
    if (row.payload) {
      if (row.grant_id) remember(ctx, readAheadKey('Grant', row.grant_id), row.grant ?? undefined);
      const accountId = row.payload.accountId;
      if (typeof accountId === 'string')
        remember(ctx, userMemoKey(accountId), (row.user_id && row.email ? { id: row.user_id, email: row.email } : undefined) satisfies AccountUser);
      token = row.consumed === null ? row.payload : { ...row.payload, consumed: row.consumed };
    }
    if (clientId === undefined) return token;
    remember(ctx, readAheadKey('RefreshToken', id), token);
    return row.client ?? undefined;
  }

  /**
   * One statement for a refresh's writes: records `minted` as the one successor of `presented`
   * unless another rotation was recorded first (a conditional update on the presented row: one
   * winner across every request and replica), consuming it; only the winner's successor is
   * stored, and its use of the app recorded (as recordConnections does for other grants).
   * Returns whether this one won. A loser's response then carries the winner's successor
   * (oauth/token-lifecycle.ts singleRefreshChain).
   */
  async #saveSuccessor(ctx: KoaContextWithOIDC, presented: string, minted: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<boolean> {
    const now = this.#clock.now();
    const rows = await runPrepared<{ claimed: string }>(this.#db, SAVE_SUCCESSOR, [
      presented,
      minted,
      JSON.stringify(payload),
      payload.grantId ?? null,
      expiresIn ?? null,
      payload.accountId,
      ctx.oidc.client?.clientId ?? payload.clientId,
      ctx.oidc.client?.clientName ?? null,
      now,
    ]);
    return rows[0]?.claimed === '1';
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
 * The successor in effect of a rotated refresh token whose own successor lost the race (see
 * #saveSuccessor): the newest token of its chain (a client may have refreshed again since), or
 * undefined when the presented token is gone (its grant was revoked meanwhile).
 */
export async function successorInEffect(db: Db, presented: string): Promise<string | undefined> {
  // A new statement sees the winner's committed link (READ COMMITTED).
  const { rows } = await sql<{ id: string; depth: number }>`
    WITH RECURSIVE chain(id, next, depth) AS (
      SELECT id, rotated_to, 0 FROM auth_oidc_payloads WHERE model = 'RefreshToken' AND id = ${presented}
      UNION ALL
      SELECT p.id, p.rotated_to, c.depth + 1 FROM chain c
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
