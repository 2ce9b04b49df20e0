// SSH keys: named OpenSSH public keys of an account (a person's own or a team's), attachable
// to instances. Only public keys are ever stored; parsing and validation live in ssh-key-format.ts.
// Another account's key, a missing one and a malformed id all answer NotFoundError('SSH key').
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import type { Actor } from './actor.ts';
import { resolveAccountId } from './accounts.ts';
import { systemClock, type Clock } from '@pictor/platform/clock';
import { ConflictError, InvalidInputError, NotFoundError } from './errors.ts';
import { parsePublicKey, type SshKeyType } from './ssh-key-format.ts';

export const MAX_KEY_NAME_LENGTH = 64;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** What callers see of a key: never more than needed to recognise and choose it. */
export interface SshKeyView {
  id: string;
  name: string;
  type: SshKeyType;
  fingerprint: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface SshKeyPage {
  items: SshKeyView[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Instances whose machine has the key installed: a paused one keeps its disk, so it counts. */
const ACTIVE_INSTANCE_STATES = ['provisioning', 'running', 'stopped', 'paused'] as const;
const VIEW_COLUMNS = ['id', 'name', 'key_type', 'fingerprint', 'created_at', 'updated_at'] as const;

interface KeyRow {
  id: string;
  name: string;
  key_type: string;
  fingerprint: string;
  created_at: Date;
  updated_at: Date;
}

function toView(row: KeyRow): SshKeyView {
  return {
    id: row.id,
    name: row.name,
    type: row.key_type as SshKeyType,
    fingerprint: row.fingerprint,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function notFound(): NotFoundError {
  return new NotFoundError('SSH key');
}

/** Trimmed, NFC-normalised, 1–64 characters, no control or bidirectional-override characters. */
export function normalizeKeyName(name: unknown): string {
  if (typeof name !== 'string') throw new InvalidInputError('name', `must be text of 1 to ${MAX_KEY_NAME_LENGTH} characters`);
  const normalized = name.normalize('NFC').trim();
  const length = [...normalized].length;
  if (length === 0) throw new InvalidInputError('name', 'must not be empty (give the key a name such as "laptop")');
  if (length > MAX_KEY_NAME_LENGTH) throw new InvalidInputError('name', `must be at most ${MAX_KEY_NAME_LENGTH} characters (this one has ${length})`);
  if (/\p{Cc}/u.test(normalized)) throw new InvalidInputError('name', 'must not contain control characters such as line breaks or tabs');
  // Bidirectional overrides can make a name display as a different one.
  if (/[\u202a-\u202e\u2066-\u2069]/u.test(normalized)) throw new InvalidInputError('name', 'must not contain bidirectional text controls');
  return normalized;
}

// Keyset cursor over (created_at, id). The timestamp travels as Postgres's own microsecond text
// so no precision is lost to JavaScript's millisecond Date.
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function encodeCursor(createdKey: string, id: string): string {
  return Buffer.from(JSON.stringify([createdKey, id])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  const bad = () => new InvalidInputError('cursor', 'is not a cursor from a previous list-ssh-keys page; omit it to start from the first page');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(value) || value.length !== 2) throw bad();
  const [time, id] = value as unknown[];
  if (typeof time !== 'string' || !CURSOR_TIME.test(time) || typeof id !== 'string' || !UUID.test(id)) throw bad();
  return [time, id];
}

export interface ListSshKeysInput {
  cursor?: string | undefined;
  limit?: number | undefined;
}

/** The account's keys, oldest first (stable under inserts: new keys land on later pages). */
export async function listSshKeys(db: Db, actor: Actor, input: ListSshKeysInput = {}): Promise<SshKeyPage> {
  const limit = input.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new InvalidInputError('limit', `must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  const after = input.cursor === undefined ? null : decodeCursor(input.cursor);
  const accountId = await resolveAccountId(db, actor, 'read');
  let query = db
    .selectFrom('ssh_keys')
    .select(VIEW_COLUMNS)
    .select(sql<string>`to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('created_key'))
    .where('account_id', '=', accountId);
  if (after) query = query.where(sql<boolean>`(created_at, id) > (${after[0]}::timestamptz, ${after[1]}::uuid)`);
  const rows = await query
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(toView),
    nextCursor: rows.length > limit && last ? encodeCursor(last.created_key, last.id) : null,
  };
}

export async function getSshKey(db: Db, actor: Actor, id: string): Promise<SshKeyView> {
  if (!UUID.test(id)) throw notFound();
  const accountId = await resolveAccountId(db, actor, 'read');
  const row = await db.selectFrom('ssh_keys').select(VIEW_COLUMNS).where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
  if (!row) throw notFound();
  return toView(row);
}

export interface CreateSshKeyInput {
  name: string;
  /** One OpenSSH public key line; a private key is refused. */
  publicKey: string;
}

export async function createSshKey(db: Db, actor: Actor, input: CreateSshKeyInput): Promise<SshKeyView> {
  const name = normalizeKeyName(input.name);
  const key = parsePublicKey(input.publicKey);
  const accountId = await resolveAccountId(db, actor, 'ssh-key:create');
  const conflict = await findConflict(db, accountId, { name, fingerprint: key.fingerprint });
  if (conflict) throw conflict;
  try {
    const row = await db
      .insertInto('ssh_keys')
      .values({
        account_id: accountId,
        name,
        key_type: key.type,
        public_key: key.line,
        fingerprint: key.fingerprint,
        created_by: actor.userId,
      })
      .returning(VIEW_COLUMNS)
      .executeTakeFirstOrThrow();
    return toView(row);
  } catch (error) {
    // Lost a race with a concurrent create: report it exactly like the checked case.
    if (isUniqueViolation(error)) throw (await findConflict(db, accountId, { name, fingerprint: key.fingerprint })) ?? raceConflict();
    throw error;
  }
}

export interface UpdateSshKeyInput {
  name?: string | undefined;
  publicKey?: string | undefined;
}

/**
 * Renames a key and/or replaces its public key. The key keeps its id, so instances it is
 * attached to stay attached and use the new public key from then on (their logs say so).
 */
export async function updateSshKey(db: Db, actor: Actor, id: string, input: UpdateSshKeyInput, clock: Clock = systemClock): Promise<SshKeyView> {
  if (input.name === undefined && input.publicKey === undefined) {
    throw new InvalidInputError('name', 'nothing to change: give a new name, a new public_key, or both');
  }
  const name = input.name === undefined ? undefined : normalizeKeyName(input.name);
  const key = input.publicKey === undefined ? undefined : parsePublicKey(input.publicKey);
  if (!UUID.test(id)) throw notFound();
  const accountId = await resolveAccountId(db, actor, 'ssh-key:update');
  const wanted = { name, fingerprint: key?.fingerprint };
  try {
    return await db.transaction().execute(async (trx) => {
      const current = await trx
        .selectFrom('ssh_keys')
        .select(['id', 'fingerprint'])
        .where('id', '=', id)
        .where('account_id', '=', accountId)
        .forUpdate()
        .executeTakeFirst();
      if (!current) throw notFound();
      const conflict = await findConflict(trx, accountId, wanted, id);
      if (conflict) throw conflict;
      const row = await trx
        .updateTable('ssh_keys')
        .set({
          ...(name === undefined ? {} : { name }),
          ...(key === undefined ? {} : { key_type: key.type, public_key: key.line, fingerprint: key.fingerprint }),
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .returning(VIEW_COLUMNS)
        .executeTakeFirstOrThrow();
      if (row.fingerprint !== current.fingerprint) {
        await logOnLiveInstances(trx, id, clock, `SSH key "${row.name}" replaced: ${current.fingerprint} → ${row.fingerprint}`);
      }
      return toView(row);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw (await findConflict(db, accountId, wanted, id)) ?? raceConflict();
    throw error;
  }
}

export interface DeletedSshKey {
  key: SshKeyView;
  /** Live instances (provisioning, running or stopped) the key was detached from. */
  detachedInstances: number;
}

/**
 * Deletes a key and detaches it from every instance it was attached to, in one transaction;
 * each live instance's log records the detachment.
 */
export async function deleteSshKey(db: Db, actor: Actor, id: string, clock: Clock = systemClock): Promise<DeletedSshKey> {
  if (!UUID.test(id)) throw notFound();
  const accountId = await resolveAccountId(db, actor, 'ssh-key:delete');
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('ssh_keys').select(VIEW_COLUMNS).where('id', '=', id).where('account_id', '=', accountId).forUpdate().executeTakeFirst();
    if (!row) throw notFound();
    const live = await logOnLiveInstances(trx, id, clock, `SSH key "${row.name}" (${row.fingerprint}) detached: the key was deleted from the account`);
    await trx.deleteFrom('instance_ssh_keys').where('ssh_key_id', '=', id).execute();
    await trx.deleteFrom('ssh_keys').where('id', '=', id).execute();
    return { key: toView(row), detachedInstances: live };
  });
}

/**
 * What delete-ssh-key would do, for the person to confirm (tools/confirm.ts): the key and how
 * many live instances it would be detached from. Needs the role that deleting needs; changes nothing.
 */
export async function previewSshKeyDeletion(db: Db, actor: Actor, id: string): Promise<DeletedSshKey> {
  if (!UUID.test(id)) throw notFound();
  const accountId = await resolveAccountId(db, actor, 'ssh-key:delete');
  const row = await db.selectFrom('ssh_keys').select(VIEW_COLUMNS).where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
  if (!row) throw notFound();
  return { key: toView(row), detachedInstances: (await liveInstancesWith(db, id)).length };
}

function liveInstancesWith(db: Db, keyId: string) {
  return db
    .selectFrom('instance_ssh_keys')
    .innerJoin('instances', 'instances.id', 'instance_ssh_keys.instance_id')
    .select('instances.id')
    .where('instance_ssh_keys.ssh_key_id', '=', keyId)
    .where('instances.state', 'in', ACTIVE_INSTANCE_STATES)
    .execute();
}

/** Writes one log line on each live instance the key is attached to; returns how many. */
async function logOnLiveInstances(trx: Db, keyId: string, clock: Clock, message: string): Promise<number> {
  const live = await liveInstancesWith(trx, keyId);
  if (live.length > 0) {
    const at = clock.now();
    await trx
      .insertInto('instance_logs')
      .values(live.map((instance) => ({ instance_id: instance.id, at, source: 'lifecycle' as const, message })))
      .execute();
  }
  return live.length;
}

/** The conflict a new name or fingerprint would cause in the account, naming the key that has it. */
async function findConflict(
  db: Db,
  accountId: string,
  wanted: { name?: string | undefined; fingerprint?: string | undefined },
  excludeId?: string,
): Promise<ConflictError | null> {
  if (wanted.fingerprint !== undefined) {
    let query = db
      .selectFrom('ssh_keys')
      .select(['id', 'name', 'fingerprint'])
      .where('account_id', '=', accountId)
      .where('fingerprint', '=', wanted.fingerprint);
    if (excludeId !== undefined) query = query.where('id', '<>', excludeId);
    const same = await query.executeTakeFirst();
    if (same) {
      return new ConflictError(
        `this public key is already saved as the SSH key "${same.name}" (id ${same.id}, ${same.fingerprint}); use that key instead of adding it again`,
        {
          field: 'public_key',
          existing_key_id: same.id,
          existing_key_name: same.name,
          fingerprint: same.fingerprint,
        },
      );
    }
  }
  if (wanted.name !== undefined) {
    let query = db.selectFrom('ssh_keys').select(['id', 'name', 'fingerprint']).where('account_id', '=', accountId).where('name', '=', wanted.name);
    if (excludeId !== undefined) query = query.where('id', '<>', excludeId);
    const same = await query.executeTakeFirst();
    if (same) {
      return new ConflictError(
        `an SSH key named "${same.name}" already exists (id ${same.id}, ${same.fingerprint}); choose another name, or update or delete that key`,
        {
          field: 'name',
          existing_key_id: same.id,
          existing_key_name: same.name,
          fingerprint: same.fingerprint,
        },
      );
    }
  }
  return null;
}

function raceConflict(): ConflictError {
  return new ConflictError("another change to this account's SSH keys happened at the same moment; list the keys and try again");
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}
