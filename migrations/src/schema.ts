// The TypeScript shape of the one schema. Keep it in step with migrations/ (a test checks
// every table and column here exists in the migrated database).
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface UsersTable {
  id: Generated<string>;
  email: string;
  created_at: CreatedAt;
  last_login_at: Date | null;
}

export interface TeamsTable {
  id: Generated<string>;
  name: string;
  created_at: CreatedAt;
}

/** Least to most: what each may do is the table in mcp-server/src/pictor/roles.ts. */
export type TeamRole = 'owner' | 'admin' | 'member' | 'viewer';

export interface TeamMembersTable {
  team_id: string;
  user_id: string;
  role: TeamRole;
  created_at: CreatedAt;
}

export interface AccountsTable {
  id: Generated<string>;
  user_id: string | null;
  team_id: string | null;
  balance: Generated<bigint>;
  credit: Generated<bigint>;
  created_at: CreatedAt;
}

export interface RegionsTable {
  id: string;
  name: string;
  location: string;
}

export interface GpuPlansTable {
  id: string;
  gpu_model: string;
  vram_gb: number;
  vcpu_per_gpu: number;
  ram_gb_per_gpu: number;
  price_per_gpu_hour: bigint;
  allowed_gpu_counts: number[];
  min_storage_gb: number;
  max_storage_gb: number;
  storage_price_per_gb_month: bigint;
  active: Generated<boolean>;
}

export interface RegionCapacityTable {
  region_id: string;
  plan_id: string;
  total_gpus: number;
  free_gpus: number;
}

export interface SshKeysTable {
  id: Generated<string>;
  account_id: string;
  name: string;
  key_type: string;
  public_key: string;
  fingerprint: string;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

/** 'expired': only rows ended before migration 0012 (disk wiped); since then an unrenewed instance becomes 'paused'. */
export type InstanceState = 'provisioning' | 'running' | 'stopped' | 'paused' | 'expired' | 'deleted';
/** pause: power off and return the GPUs, keep the disk; resume: back on (new) GPUs from a pause; restart: reboot. */
export type PendingAction = 'provision' | 'start' | 'stop' | 'restart' | 'pause' | 'resume' | 'release';

export interface InstancesTable {
  id: Generated<string>;
  account_id: string;
  created_by: string | null;
  name: string;
  plan_id: string;
  region_id: string;
  gpu_count: number;
  storage_gb: number;
  price_per_gpu_hour: bigint;
  storage_price_per_gb_month: bigint;
  rental_hours: number;
  auto_renew: Generated<boolean>;
  state: InstanceState;
  pending_action: PendingAction | null;
  action_due_at: Date | null;
  /** Bumped with every new power action; a provisioner result applies only to its own action. */
  action_seq: Generated<number>;
  action_requested_at: Date | null;
  ssh_host: string | null;
  ssh_port: number | null;
  expires_at: Timestamp;
  ended_at: Date | null;
  end_reason: string | null;
  /** The app (OAuth client id) and person that turned auto-renew on: renewals count against its limit. */
  auto_renew_client_id: string | null;
  auto_renew_user_id: string | null;
  /** The image it was created with (migration 0011_images). */
  image_id: Generated<string>;
  /** HTTP ports exposed: the image's defaults and the ones asked for, sorted. */
  ports: Generated<number[]>;
  /** Names of the environment variables set at creation; their values are in instance_secrets, sealed. */
  env_names: Generated<string[]>;
  has_startup_script: Generated<boolean>;
  /** The public URL of each exposed port, as the provisioner reported it; null until provisioned. */
  exposed_ports: ColumnType<ExposedPort[] | null, string | null | undefined, string | null>;
  /** While paused (migration 0012): when it was paused, and when the worker deletes it unless started. */
  paused_at: Date | null;
  delete_after: Date | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ExposedPort {
  port: number;
  url: string;
}

/** A machine image of the catalog (migration 0011_images). Retired, never deleted. */
export interface ImagesTable {
  id: string;
  name: string;
  description: string;
  os: string;
  cuda_version: string;
  frameworks: Generated<string[]>;
  default_ports: Generated<number[]>;
  /** GPU memory per GPU the image needs, GB; 0 = any plan. */
  min_vram_gb: Generated<number>;
  retired: Generated<boolean>;
}

/** What an instance is launched with that nobody may read back: sealed, opened only for the provisioner. */
export interface InstanceSecretsTable {
  instance_id: string;
  /** The environment (a JSON object of name → value), sealed for this instance. */
  env_sealed: string | null;
  startup_script_sealed: string | null;
}

export interface InstanceSshKeysTable {
  instance_id: string;
  ssh_key_id: string;
  attached_at: CreatedAt;
}

export type LogSource = 'lifecycle' | 'boot' | 'billing';

export interface InstanceLogsTable {
  id: Generated<string>;
  instance_id: string;
  at: Timestamp;
  source: LogSource;
  message: string;
}

export type LedgerKind = 'payment' | 'charge' | 'promotion' | 'refund';
export type LedgerBucket = 'balance' | 'credit';

export interface LedgerEntriesTable {
  id: Generated<string>;
  account_id: string;
  kind: LedgerKind;
  bucket: LedgerBucket;
  amount: bigint;
  instance_id: string | null;
  reference: string | null;
  description: string;
  created_by: string | null;
  /** The app (OAuth client id) whose call caused this entry, if any; with created_by, what its limit counts. */
  client_id: string | null;
  created_at: CreatedAt;
}

/** Per person and app, what they allowed at consent or on the connected-apps page (migration 0008). */
export interface AppLimitsTable {
  user_id: string;
  client_id: string;
  /** Micro-credits per rolling 24 h; null = no limit. */
  daily_spend_limit_micro: bigint | null;
  /** 'personal' and team ids the app may act in; null = every workspace (no team to choose from then). */
  workspaces: string[] | null;
  updated_at: Timestamp;
}

// ── inflow: InFlow top-ups (migration 0004_inflow) ──────────────────────────────────────────
export type InflowCurrency = 'USD' | 'EUR';

export interface InflowTransactionsTable {
  id: Generated<string>;
  account_id: string;
  created_by: string | null;
  idempotency_key: string;
  /** Set in the transaction that inserts the row; never null once committed. */
  payment_id: string | null;
  /** Minor units (cents) of `currency`. */
  amount_minor: bigint;
  currency: InflowCurrency;
  /** InFlow's status as last applied. */
  status: string;
  purchase_url: string | null;
  inflow_updated_at: Date | null;
  credited_entry_id: string | null;
  credited_at: Date | null;
  refunded_minor: Generated<bigint>;
  reversed_micro: Generated<bigint>;
  uncovered_micro: Generated<bigint>;
  review_reason: string | null;
  last_checked_at: Date | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface InflowWebhookDeliveriesTable {
  svix_id: string;
  event_types: string[];
  payment_ids: string[];
  received_at: CreatedAt;
}

export type InflowTransaction = Selectable<InflowTransactionsTable>;
// ── end inflow ──────────────────────────────────────────────────────────────────────────────

// ── auth: the authorization server (migration 0003_auth) ────────────────────────────────────
export interface AuthOidcPayloadsTable {
  /** oidc-provider model name: Session, Grant, RefreshToken, Client, Interaction, ... */
  model: string;
  id: string;
  payload: unknown;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  expires_at: Date | null;
  consumed_at: Date | null;
  /** A rotated refresh token's successor (the one a refresh of it minted), set once. */
  rotated_to: string | null;
  created_at: CreatedAt;
}

export type MagicLinkFlow = 'interaction' | 'account';

export interface AuthMagicLinksTable {
  id: Generated<string>;
  /** SHA-256 of the link's token; the token itself is never stored. */
  token_hash: Buffer;
  email: string;
  flow_kind: MagicLinkFlow;
  /** The interaction uid (OAuth sign-in) or the account-page sign-in attempt id. */
  flow_id: string;
  /** Shown in the asking window only; typed on the confirm page when the link is opened elsewhere. */
  short_code: string;
  created_at: Date;
  expires_at: Date;
  confirmed_at: Date | null;
  user_id: string | null;
  completed_at: Date | null;
  /** SHA-256 of the secret cookie of the browser that asked for the link. */
  browser_hash: Buffer;
  /** Codes typed on the confirm page so far; at the limit the link is dead. */
  code_attempts: Generated<number>;
}

export interface AuthSigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: unknown;
  /** The private JWK sealed under KEY_ENCRYPTION_SECRET: a compact JWE (dir + A256GCM), or `v1.…` from before it. */
  private_jwk_sealed: string;
  created_at: Date;
  activates_at: Date;
  last_signed_at: Date | null;
}

export interface AuthRateLimitsTable {
  bucket: string;
  window_start: Date;
  hits: number;
}

export interface AuthConnectionsTable {
  user_id: string;
  client_id: string;
  /** The app's name when it last got a token (shown on the connected-apps page). */
  client_name: string | null;
  first_authorized_at: Date;
  last_used_at: Date;
}

export interface AuthAuditEventsTable {
  id: Generated<bigint>;
  at: CreatedAt;
  type: string;
  user_id: string | null;
  client_id: string | null;
  ip: string | null;
  detail: ColumnType<unknown, unknown, never>;
}
// ── end auth ────────────────────────────────────────────────────────────────────────────────

export interface TokenRevocationsTable {
  user_id: string;
  client_id: string;
  revoked_at: Date;
}

/** One tools/call that changed something or was refused by a rule (migration 0009_activity). */
export interface ActivityTable {
  id: Generated<bigint>;
  at: Date;
  user_id: string;
  client_id: string | null;
  account_id: string | null;
  tool: string;
  target_id: string | null;
  /** Money the ledger moved in the call: negative out of the account, positive into it. */
  amount_micro: Generated<bigint>;
  /** 'ok' or the refusal's tool-error code. */
  outcome: string;
  detail: ColumnType<Record<string, unknown>, Record<string, unknown> | string | undefined, never>;
}

/** The nonce of a requestState whose confirmed call ran (migration 0010_confirmations). */
export interface UsedConfirmationsTable {
  nonce: string;
  user_id: string;
  tool: string;
  used_at: Date;
  /** When the state itself expires; the row can go after it. */
  expires_at: Date;
}

export interface Database {
  users: UsersTable;
  teams: TeamsTable;
  team_members: TeamMembersTable;
  accounts: AccountsTable;
  regions: RegionsTable;
  gpu_plans: GpuPlansTable;
  region_capacity: RegionCapacityTable;
  ssh_keys: SshKeysTable;
  instances: InstancesTable;
  images: ImagesTable;
  instance_secrets: InstanceSecretsTable;
  instance_ssh_keys: InstanceSshKeysTable;
  instance_logs: InstanceLogsTable;
  ledger_entries: LedgerEntriesTable;
  token_revocations: TokenRevocationsTable;
  app_limits: AppLimitsTable;
  activity: ActivityTable;
  used_confirmations: UsedConfirmationsTable;
  inflow_transactions: InflowTransactionsTable; // inflow
  inflow_webhook_deliveries: InflowWebhookDeliveriesTable; // inflow
  auth_oidc_payloads: AuthOidcPayloadsTable; // auth
  auth_magic_links: AuthMagicLinksTable; // auth
  auth_signing_keys: AuthSigningKeysTable; // auth
  auth_rate_limits: AuthRateLimitsTable; // auth
  auth_connections: AuthConnectionsTable; // auth
  auth_audit_events: AuthAuditEventsTable; // auth
}

export type User = Selectable<UsersTable>;
export type Account = Selectable<AccountsTable>;
export type GpuPlan = Selectable<GpuPlansTable>;
export type Image = Selectable<ImagesTable>;
export type Instance = Selectable<InstancesTable>;
export type NewInstance = Insertable<InstancesTable>;
export type InstanceUpdate = Updateable<InstancesTable>;
export type SshKey = Selectable<SshKeysTable>;
export type LedgerEntry = Selectable<LedgerEntriesTable>;
