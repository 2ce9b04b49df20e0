// Checks of what a caller asks for, shared by the instance operations: display names, rental
// hours, and SSH key ids (only the account's own keys; any other reads "SSH key not found").
import type { Db } from '@pictor/migrations/db';
import { MAX_RENTAL_HOURS, MIN_RENTAL_HOURS } from '../billing.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import type { Trx } from '../ledger.ts';
import { isUuid } from './records.ts';

type Reader = Db | Trx;

export const MAX_NAME_LENGTH = 64;

/** A trimmed display name of 1–64 characters without control characters. */
export function validateName(name: string, field = 'name'): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_NAME_LENGTH) throw new InvalidInputError(field, `must be 1–${MAX_NAME_LENGTH} characters after trimming`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw new InvalidInputError(field, 'must not contain control characters such as newlines');
  return trimmed;
}

export function validateRentalHours(hours: number, field = 'rental_hours'): number {
  if (!Number.isInteger(hours) || hours < MIN_RENTAL_HOURS || hours > MAX_RENTAL_HOURS) {
    throw new InvalidInputError(field, `must be a whole number of hours from ${MIN_RENTAL_HOURS} to ${MAX_RENTAL_HOURS}`);
  }
  return hours;
}

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
  const rows = await db.selectFrom('ssh_keys').select(['id', 'name', 'fingerprint'])
    .where('account_id', '=', accountId).where('id', 'in', unique).execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  const absent = unique.find((id) => !byId.has(id));
  if (absent !== undefined) throw new NotFoundError('SSH key', absent);
  return unique.map((id) => byId.get(id)!);
}
