// The account's money as a person sees it, and promotional credit granted by operators.
import type { Db } from '@pictor/migrations/db';
import type { TeamRole } from '@pictor/migrations/schema';
import { ensureUser, listTeams, resolveAccountId } from './accounts.ts';
import type { Actor } from './actor.ts';
import { InvalidInputError } from './errors.ts';
import { getFunds, postCredit } from './ledger.ts';

export interface BalanceView {
  accountId: string;
  /** The team whose account this is, or null for the person's own account. */
  teamId: string | null;
  /** Paid money. */
  balance: bigint;
  /** Promotional credit, spent before balance. */
  credit: bigint;
  total: bigint;
  /** Teams the user belongs to (their ids can be passed as team_id). */
  teams: Array<{ id: string; name: string; role: TeamRole }>;
}

export async function getBalance(db: Db, actor: Actor): Promise<BalanceView> {
  const accountId = await resolveAccountId(db, actor);
  const funds = await getFunds(db, accountId);
  return {
    accountId,
    teamId: actor.teamId ?? null,
    balance: funds.balance,
    credit: funds.credit,
    total: funds.balance + funds.credit,
    teams: await listTeams(db, actor.userId),
  };
}

export interface Granted {
  userId: string;
  accountId: string;
  amount: bigint;
  creditAfter: bigint;
}

/** Grants promotional credit to a person's own account (creating the user if they never signed in). */
export async function grantPromotionCredit(db: Db, email: string, amount: bigint, note = 'Promotion credit'): Promise<Granted> {
  if (!/^[^\s@]+@[^\s@]+$/.test(email.trim())) throw new InvalidInputError('email', 'expected an email address');
  if (amount <= 0n) throw new InvalidInputError('amount', 'must be more than 0');
  const user = await ensureUser(db, email);
  const accountId = await resolveAccountId(db, { userId: user.id });
  return db.transaction().execute(async (trx) => {
    await postCredit(trx, { accountId, kind: 'promotion', bucket: 'credit', amount, description: note });
    const funds = await getFunds(trx, accountId);
    return { userId: user.id, accountId, amount, creditAfter: funds.credit };
  });
}
