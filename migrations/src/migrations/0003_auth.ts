import { sql, type Kysely } from 'kysely';

// The authorization server's state (auth-server/). What each table holds and for how long:
// - auth_oidc_payloads: every oidc-provider artifact (sessions, interactions, grants, codes,
//   refresh tokens, registered clients, ...) as its JSON payload. Rows expire with the artifact
//   (expires_at) and are swept; registered clients have no expiry but unused ones are purged.
//   JWT access tokens are self-contained and never stored.
// - auth_magic_links: one sign-in link per row. Only the SHA-256 of the link's token is kept;
//   the token exists only in the mail. A link is confirmed once, then claimed once by the window
//   that asked for it. Swept a day after expiry.
// - auth_signing_keys: ES256 keys that sign access tokens, the private half sealed with
//   AES-256-GCM under KEY_ENCRYPTION_SECRET. Published from creation, used from activates_at,
//   kept published while tokens signed with them can still be valid.
// - auth_rate_limits: fixed-window counters (bucket = what is limited, e.g. a hashed email).
// - auth_connections: which person connected which app, and when it last got a token; the
//   connected-apps page and the purge of never-used clients read it.
// - auth_audit_events: sign-ins, consents, revocations, registrations. Never tokens or links.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE auth_oidc_payloads (
      model text NOT NULL,
      id text NOT NULL,
      payload jsonb NOT NULL,
      grant_id text,
      user_code text,
      uid text,
      expires_at timestamptz,
      consumed_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (model, id)
    );
    CREATE INDEX auth_oidc_payloads_grant ON auth_oidc_payloads (grant_id) WHERE grant_id IS NOT NULL;
    CREATE INDEX auth_oidc_payloads_uid ON auth_oidc_payloads (model, uid) WHERE uid IS NOT NULL;
    CREATE INDEX auth_oidc_payloads_user_code ON auth_oidc_payloads (model, user_code) WHERE user_code IS NOT NULL;
    CREATE INDEX auth_oidc_payloads_expiry ON auth_oidc_payloads (expires_at) WHERE expires_at IS NOT NULL;
    CREATE INDEX auth_oidc_payloads_grant_account ON auth_oidc_payloads ((payload->>'accountId'))
      WHERE model = 'Grant';

    CREATE TABLE auth_magic_links (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      token_hash bytea NOT NULL UNIQUE,
      email text NOT NULL,
      flow_kind text NOT NULL CHECK (flow_kind IN ('interaction', 'account')),
      flow_id text NOT NULL,
      short_code text NOT NULL,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      confirmed_at timestamptz,
      user_id uuid REFERENCES users(id) ON DELETE CASCADE,
      completed_at timestamptz,
      CHECK ((confirmed_at IS NULL) = (user_id IS NULL)),
      CHECK (completed_at IS NULL OR confirmed_at IS NOT NULL)
    );
    CREATE INDEX auth_magic_links_flow ON auth_magic_links (flow_kind, flow_id, created_at DESC);
    CREATE INDEX auth_magic_links_expiry ON auth_magic_links (expires_at);

    CREATE TABLE auth_signing_keys (
      kid text PRIMARY KEY,
      alg text NOT NULL,
      public_jwk jsonb NOT NULL,
      private_jwk_sealed text NOT NULL,
      created_at timestamptz NOT NULL,
      activates_at timestamptz NOT NULL,
      last_signed_at timestamptz,
      CHECK (activates_at >= created_at)
    );

    CREATE TABLE auth_rate_limits (
      bucket text NOT NULL,
      window_start timestamptz NOT NULL,
      hits integer NOT NULL CHECK (hits > 0),
      PRIMARY KEY (bucket, window_start)
    );
    CREATE INDEX auth_rate_limits_window ON auth_rate_limits (window_start);

    CREATE TABLE auth_connections (
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      client_id text NOT NULL,
      client_name text,
      first_authorized_at timestamptz NOT NULL,
      last_used_at timestamptz NOT NULL,
      PRIMARY KEY (user_id, client_id)
    );
    CREATE INDEX auth_connections_client ON auth_connections (client_id);

    CREATE TABLE auth_audit_events (
      id bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT now(),
      type text NOT NULL,
      user_id uuid REFERENCES users(id) ON DELETE SET NULL,
      client_id text,
      ip text,
      detail jsonb NOT NULL DEFAULT '{}'
    );
    CREATE INDEX auth_audit_events_user ON auth_audit_events (user_id, at);
    CREATE INDEX auth_audit_events_at ON auth_audit_events (at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE auth_audit_events, auth_connections, auth_rate_limits, auth_signing_keys,
      auth_magic_links, auth_oidc_payloads;
  `.execute(db);
}
