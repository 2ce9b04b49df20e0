import { sql, type Kysely } from 'kysely';

// InFlow top-ups. One row per checkout; the money itself only ever moves through ledger_entries
// (a `payment` entry whose reference is the InFlow payment id, unique per kind), so this table
// is bookkeeping about the payment, never a second source of balance.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE inflow_transactions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_id uuid NOT NULL REFERENCES accounts(id),
      created_by uuid REFERENCES users(id) ON DELETE SET NULL,
      -- chosen by the caller; a retry with the same key returns this checkout instead of a new one
      idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
      -- set in the same database transaction that inserts the row, so never NULL once committed
      payment_id text UNIQUE,
      -- what the person pays, in the currency's minor units (cents); credits are 1:1 with the unit
      amount_minor bigint NOT NULL CHECK (amount_minor > 0),
      currency text NOT NULL CHECK (currency IN ('USD', 'EUR')),
      -- InFlow's status as last applied (INITIATION … PAYMENT_SUCCESS, CANCELED, refund states)
      status text NOT NULL,
      purchase_url text,
      -- InFlow's updatedAt of the snapshot last applied: an older snapshot never overwrites a newer one
      inflow_updated_at timestamptz,
      -- the one ledger entry that credited this payment; NULL until credited
      credited_entry_id bigint REFERENCES ledger_entries(id),
      credited_at timestamptz,
      -- refunded amount as InFlow reports it (minor units)
      refunded_minor bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
      -- of the refunded value, what was taken back from the balance (micro-credits) …
      reversed_micro bigint NOT NULL DEFAULT 0 CHECK (reversed_micro >= 0),
      -- … and what could not be, because the credit had already been spent (owed to Pictor)
      uncovered_micro bigint NOT NULL DEFAULT 0 CHECK (uncovered_micro >= 0),
      -- set when a snapshot needs a person (amount mismatch, failure after credit, unknown partial refund)
      review_reason text,
      last_checked_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (account_id, idempotency_key)
    );
    CREATE INDEX inflow_transactions_account ON inflow_transactions (account_id, created_at DESC);
    -- what the sync job scans: payments that may still change into something we must act on
    CREATE INDEX inflow_transactions_pending ON inflow_transactions (last_checked_at NULLS FIRST)
      WHERE status IN ('INITIATION', 'CHECKOUT_PENDING', 'CHECKOUT_SUCCESS', 'PAYMENT_RECEIVED', 'REFUND_PENDING');

    -- Svix delivers at least once; a delivery id already processed is acknowledged and ignored.
    CREATE TABLE inflow_webhook_deliveries (
      svix_id text PRIMARY KEY,
      event_types text[] NOT NULL,
      payment_ids text[] NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now()
    );
    -- kept longer than Svix keeps retrying a message (about a day), then pruned by the sync job
    CREATE INDEX inflow_webhook_deliveries_received ON inflow_webhook_deliveries (received_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE inflow_webhook_deliveries, inflow_transactions`.execute(db);
}
