// Reading instances: the list (cursor-paginated, newest first), one instance's detail, its logs.
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import type { InstanceState, LogSource } from '@pictor/migrations/schema';
import { resolveAccountId } from '../accounts.ts';
import type { Actor } from '../actor.ts';
import { InvalidInputError } from '../errors.ts';
import type { Trx } from '../ledger.ts';
import { findInstance, selectRecord, toView, type InstanceRecord, type InstanceView } from './records.ts';

type Reader = Db | Trx;

export const MAX_PAGE = 100;

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface ListInstancesInput {
  /** Only this state. Deleted instances are listed only when asked for by this filter. */
  state?: InstanceState;
  cursor?: string;
  limit?: number;
}

function pageSize(limit: number | undefined): number {
  const n = limit ?? 20;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw new InvalidInputError('limit', `must be a whole number from 1 to ${MAX_PAGE}`);
  return n;
}

const badCursor = (): InvalidInputError => new InvalidInputError('cursor', 'is not a cursor from a previous page; omit it to start from the first page');

function encodeCursor(parts: string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

function decodeCursor(cursor: string, arity: number): string[] {
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parts) && parts.length === arity && parts.every((p) => typeof p === 'string')) return parts as string[];
  } catch {
    // fall through
  }
  throw badCursor();
}

/** The account's instances, newest first, in a stable order (created_at, id). */
export async function listInstances(db: Db, actor: Actor, input: ListInstancesInput = {}): Promise<Page<InstanceView>> {
  const accountId = await resolveAccountId(db, actor, 'read');
  const limit = pageSize(input.limit);
  let query = selectRecord(db).where('instances.account_id', '=', accountId);
  query = input.state === undefined ? query.where('instances.state', '!=', 'deleted') : query.where('instances.state', '=', input.state);
  if (input.cursor !== undefined) {
    // The cursor names the last instance seen; its (created_at, id) is read back from the row, so
    // the order is exact whatever the timestamp precision. Instance rows are never removed.
    const [afterId] = decodeCursor(input.cursor, 1) as [string];
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(afterId)) throw badCursor();
    const anchor = await db.selectFrom('instances').select('id').where('id', '=', afterId).where('account_id', '=', accountId).executeTakeFirst();
    if (!anchor) throw badCursor();
    query = query.where(sql<boolean>`(instances.created_at, instances.id) < (SELECT a.created_at, a.id FROM instances a WHERE a.id = ${anchor.id}::uuid)`);
  }
  const rows = await query
    .orderBy('instances.created_at', 'desc')
    .orderBy('instances.id', 'desc')
    .limit(limit + 1)
    .execute();
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(toView),
    nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null,
  };
}

export interface AttachedKey {
  id: string;
  name: string;
  keyType: string;
  fingerprint: string;
}

export interface InstanceDetail extends InstanceView {
  sshKeys: AttachedKey[];
  /** What to do to reach the machine over SSH, when something is missing; null when ready. */
  sshHint: string | null;
}

export async function attachedKeys(db: Reader, instanceId: string): Promise<AttachedKey[]> {
  return db
    .selectFrom('instance_ssh_keys')
    .innerJoin('ssh_keys', 'ssh_keys.id', 'instance_ssh_keys.ssh_key_id')
    .select(['ssh_keys.id', 'ssh_keys.name', 'ssh_keys.key_type as keyType', 'ssh_keys.fingerprint'])
    .where('instance_ssh_keys.instance_id', '=', instanceId)
    .orderBy('instance_ssh_keys.attached_at')
    .orderBy('ssh_keys.name')
    .execute();
}

function sshHint(view: InstanceView, keys: AttachedKey[]): string | null {
  if (view.state === 'expired') return 'The instance has expired and its machine was released; SSH is no longer possible.';
  if (view.state === 'paused') {
    return `The instance is paused: its prepaid time ended and its GPUs were released; the disk is kept until ${view.deleteAt?.toISOString()}, when it is deleted. Start it with start-instance and rental_hours (dry_run first for the price).`;
  }
  if (keys.length === 0) {
    return (
      'No SSH key is attached, so nobody can log in. Add a public key with create-ssh-key (or pick one from list-ssh-keys), ' +
      'then attach it with add-ssh-keys-to-instance.'
    );
  }
  if (view.state === 'provisioning') return 'SSH becomes available when provisioning finishes, usually within seconds.';
  if (view.state === 'stopped') return 'The instance is stopped; start it with start-instance to connect over SSH.';
  if (view.pendingAction === 'start' || view.pendingAction === 'resume') return 'The machine is booting; SSH answers within seconds.';
  if (view.pendingAction === 'restart') return 'The machine is restarting; SSH answers again within seconds.';
  return null;
}

export async function detailFor(db: Reader, row: InstanceRecord): Promise<InstanceDetail> {
  const view = toView(row);
  const keys = await attachedKeys(db, row.id);
  return { ...view, sshKeys: keys, sshHint: sshHint(view, keys) };
}

export async function getInstanceDetail(db: Db, actor: Actor, instanceId: string): Promise<InstanceDetail> {
  const accountId = await resolveAccountId(db, actor, 'read');
  return detailFor(db, await findInstance(db, accountId, instanceId));
}

export interface LogEntry {
  at: Date;
  source: LogSource;
  message: string;
}

export interface LogsInput {
  cursor?: string;
  limit?: number;
}

/** The instance's log lines, oldest first (newest last), continuing after `cursor`. */
export async function getInstanceLogs(db: Db, actor: Actor, instanceId: string, input: LogsInput = {}): Promise<Page<LogEntry>> {
  const accountId = await resolveAccountId(db, actor, 'read');
  const limit = pageSize(input.limit);
  const instance = await findInstance(db, accountId, instanceId);
  let afterId = '0'; // line ids start at 1
  if (input.cursor !== undefined) {
    [afterId] = decodeCursor(input.cursor, 1) as [string];
    if (!/^\d{1,18}$/.test(afterId)) throw badCursor();
  }
  // The instance's lines as a range of instance_logs_instance (instance_id, id), not as
  // "instance_id = x ORDER BY id": with that equality Postgres may walk the primary key in id order
  // from the table's first line, filtering for this instance (a chatty instance's lines all come
  // late), reading the whole table for one page. Two row bounds select exactly this instance's
  // lines after the cursor and only the composite index gives their order.
  const rows = await db
    .selectFrom('instance_logs')
    .select(['id', 'at', 'source', 'message'])
    .where(sql<boolean>`(instance_id, id) > (${instance.id}::uuid, ${afterId}::bigint)`)
    .where(sql<boolean>`(instance_id, id) <= (${instance.id}::uuid, 9223372036854775807::bigint)`)
    .orderBy('instance_id')
    .orderBy('id')
    .limit(limit + 1)
    .execute();
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(({ at, source, message }) => ({ at, source, message })),
    nextCursor: rows.length > limit && last ? encodeCursor([String(last.id)]) : null,
  };
}
