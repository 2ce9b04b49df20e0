// SSH keys on instances: a key can be attached only to an instance of the account that owns it.
// A key of another account, a malformed id and a missing key all read "SSH key not found".
import type { Db } from '@pictor/platform/db';
import { resolveAccountId } from '../accounts.ts';
import type { Actor } from '../actor.ts';
import type { Clock } from '@pictor/platform/clock';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import type { Trx } from '../ledger.ts';
import { detailFor, type InstanceDetail } from './read.ts';
import { isUuid, lockInstance, writeLogs } from './records.ts';
import { assertAllowed } from './state.ts';

type Reader = Db | Trx;

export const MAX_KEYS_PER_CALL = 20;

export interface OwnedKey {
  id: string;
  name: string;
  fingerprint: string;
}

/** The account's keys for these ids (deduplicated, in the given order); NotFound for any other. */
export async function resolveSshKeys(db: Reader, accountId: string, ids: string[], field = 'ssh_key_ids'): Promise<OwnedKey[]> {
  const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
  if (unique.length > MAX_KEYS_PER_CALL) throw new InvalidInputError(field, `at most ${MAX_KEYS_PER_CALL} keys at a time`);
  if (unique.length === 0) return [];
  const missing = unique.find((id) => !isUuid(id));
  if (missing !== undefined) throw new NotFoundError('SSH key', missing.slice(0, 40));
  const rows = await db.selectFrom('ssh_keys').select(['id', 'name', 'fingerprint']).where('account_id', '=', accountId).where('id', 'in', unique).execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  const absent = unique.find((id) => !byId.has(id));
  if (absent !== undefined) throw new NotFoundError('SSH key', absent);
  return unique.map((id) => byId.get(id)!);
}

export interface AttachResult extends InstanceDetail {
  /** Keys newly attached by this call (already attached ones are skipped). */
  attached: OwnedKey[];
}

/** Attaches keys; attaching a key that is already attached is a no-op. */
export async function attachSshKeys(db: Db, actor: Actor, instanceId: string, sshKeyIds: string[], clock: Clock): Promise<AttachResult> {
  const accountId = await resolveAccountId(db, actor, 'instance:attach-keys');
  if (sshKeyIds.length === 0) throw new InvalidInputError('ssh_key_ids', 'give at least one SSH key id (see list-ssh-keys)');
  return db.transaction().execute(async (trx) => {
    const row = await lockInstance(trx, accountId, instanceId);
    const keys = await resolveSshKeys(trx, accountId, sshKeyIds);
    assertAllowed('attach_ssh_keys', row.state);
    const now = clock.now();
    const inserted = await trx
      .insertInto('instance_ssh_keys')
      .values(keys.map((k) => ({ instance_id: row.id, ssh_key_id: k.id, attached_at: now })))
      .onConflict((oc) => oc.columns(['instance_id', 'ssh_key_id']).doNothing())
      .returning('ssh_key_id')
      .execute();
    const fresh = new Set(inserted.map((r) => r.ssh_key_id));
    const attached = keys.filter((k) => fresh.has(k.id));
    const installed = row.state === 'running' ? '; installed in authorized_keys on the machine' : '; installed at next boot';
    await writeLogs(
      trx,
      attached.map((k) => ({
        instanceId: row.id,
        at: now,
        source: 'lifecycle' as const,
        message: `SSH key "${k.name}" (${k.fingerprint}) attached${installed}`,
      })),
    );
    if (attached.length > 0) await trx.updateTable('instances').set({ updated_at: now }).where('id', '=', row.id).execute();
    return { ...(await detailFor(trx, row)), attached };
  });
}
