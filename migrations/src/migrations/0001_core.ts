import { sql, type Kysely } from 'kysely';

// The platform core: accounts, catalog, SSH keys, instances, ledger.
// Money columns are bigint micro-credits (1 credit = 1,000,000 micro-credits).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_login_at timestamptz
    );
    CREATE UNIQUE INDEX users_email_lower ON users (lower(email));

    CREATE TABLE teams (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE team_members (
      team_id uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (team_id, user_id)
    );
    CREATE INDEX team_members_user ON team_members (user_id);

    -- Every resource belongs to exactly one account: a person's own or a team's.
    -- balance (paid money) and credit (promotional) are caches of the ledger, kept in
    -- the same transaction as each ledger entry; the account row is the lock for spending.
    CREATE TABLE accounts (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid UNIQUE REFERENCES users(id) ON DELETE CASCADE,
      team_id uuid UNIQUE REFERENCES teams(id) ON DELETE CASCADE,
      balance bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
      credit bigint NOT NULL DEFAULT 0 CHECK (credit >= 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      CHECK ((user_id IS NULL) <> (team_id IS NULL))
    );

    CREATE TABLE regions (
      id text PRIMARY KEY,
      name text NOT NULL,
      location text NOT NULL
    );

    CREATE TABLE gpu_plans (
      id text PRIMARY KEY,
      gpu_model text NOT NULL,
      vram_gb integer NOT NULL CHECK (vram_gb > 0),
      vcpu_per_gpu integer NOT NULL CHECK (vcpu_per_gpu > 0),
      ram_gb_per_gpu integer NOT NULL CHECK (ram_gb_per_gpu > 0),
      price_per_gpu_hour bigint NOT NULL CHECK (price_per_gpu_hour > 0),
      allowed_gpu_counts integer[] NOT NULL,
      min_storage_gb integer NOT NULL CHECK (min_storage_gb > 0),
      max_storage_gb integer NOT NULL CHECK (max_storage_gb >= min_storage_gb),
      storage_price_per_gb_month bigint NOT NULL CHECK (storage_price_per_gb_month >= 0),
      active boolean NOT NULL DEFAULT true
    );

    -- free_gpus never goes below zero: the CHECK is the last line of defence behind row locks.
    CREATE TABLE region_capacity (
      region_id text NOT NULL REFERENCES regions(id),
      plan_id text NOT NULL REFERENCES gpu_plans(id),
      total_gpus integer NOT NULL CHECK (total_gpus >= 0),
      free_gpus integer NOT NULL CHECK (free_gpus >= 0 AND free_gpus <= total_gpus),
      PRIMARY KEY (region_id, plan_id)
    );

    CREATE TABLE ssh_keys (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      name text NOT NULL,
      key_type text NOT NULL,
      public_key text NOT NULL,
      fingerprint text NOT NULL,
      created_by uuid REFERENCES users(id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (account_id, fingerprint),
      UNIQUE (account_id, name)
    );

    CREATE TABLE instances (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id uuid NOT NULL REFERENCES accounts(id),
      created_by uuid REFERENCES users(id) ON DELETE SET NULL,
      name text NOT NULL,
      plan_id text NOT NULL REFERENCES gpu_plans(id),
      region_id text NOT NULL REFERENCES regions(id),
      gpu_count integer NOT NULL CHECK (gpu_count > 0),
      storage_gb integer NOT NULL CHECK (storage_gb > 0),
      -- prices are copied at creation so later catalog changes never reprice a rental
      price_per_gpu_hour bigint NOT NULL,
      storage_price_per_gb_month bigint NOT NULL,
      rental_hours integer NOT NULL CHECK (rental_hours > 0),
      auto_renew boolean NOT NULL DEFAULT false,
      state text NOT NULL CHECK (state IN ('provisioning', 'running', 'stopped', 'expired', 'deleted')),
      -- a pending power action for the provisioner: 'provision' | 'start' | 'stop' | 'release'
      pending_action text,
      action_due_at timestamptz,
      ssh_host text,
      ssh_port integer,
      expires_at timestamptz NOT NULL,
      ended_at timestamptz,
      end_reason text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX instances_account ON instances (account_id, created_at, id);
    CREATE INDEX instances_expiry ON instances (expires_at) WHERE state IN ('provisioning', 'running', 'stopped');
    CREATE INDEX instances_pending ON instances (action_due_at) WHERE pending_action IS NOT NULL;

    CREATE TABLE instance_ssh_keys (
      instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
      ssh_key_id uuid NOT NULL REFERENCES ssh_keys(id) ON DELETE CASCADE,
      attached_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (instance_id, ssh_key_id)
    );

    CREATE TABLE instance_logs (
      id bigserial PRIMARY KEY,
      instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
      at timestamptz NOT NULL,
      source text NOT NULL CHECK (source IN ('lifecycle', 'boot', 'billing')),
      message text NOT NULL
    );
    CREATE INDEX instance_logs_instance ON instance_logs (instance_id, id);

    -- The one ledger: immutable entries, signed amounts in micro-credits per bucket.
    CREATE TABLE ledger_entries (
      id bigserial PRIMARY KEY,
      account_id uuid NOT NULL REFERENCES accounts(id),
      kind text NOT NULL CHECK (kind IN ('payment', 'charge', 'promotion', 'refund')),
      bucket text NOT NULL CHECK (bucket IN ('balance', 'credit')),
      amount bigint NOT NULL CHECK (amount <> 0),
      instance_id uuid REFERENCES instances(id),
      -- an external reference (e.g. an InFlow payment id) that must be applied once
      reference text,
      description text NOT NULL,
      created_by uuid REFERENCES users(id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX ledger_account ON ledger_entries (account_id, id);
    CREATE UNIQUE INDEX ledger_reference_once ON ledger_entries (kind, reference) WHERE reference IS NOT NULL;

    CREATE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'ledger entries are immutable';
    END $$;
    CREATE TRIGGER ledger_no_update BEFORE UPDATE OR DELETE ON ledger_entries
      FOR EACH ROW EXECUTE FUNCTION ledger_immutable();
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE ledger_entries, instance_logs, instance_ssh_keys, instances, ssh_keys,
      region_capacity, gpu_plans, regions, accounts, team_members, teams, users CASCADE;
    DROP FUNCTION ledger_immutable();
  `.execute(db);
}
