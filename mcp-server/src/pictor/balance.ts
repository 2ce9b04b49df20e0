// The account's money as a person sees it, and promotional credit granted by operators.
import { runPrepared, type Db, type Statement } from '@pictor/platform/db';
import type { TeamRole } from '@pictor/migrations/schema';
import { ensureUser, ensureUserAccount, recentTeams, resolveAccountId } from './accounts.ts';
import type { Actor } from './actor.ts';
import { InvalidInputError, NotFoundError } from './errors.ts';
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

// Every get-user-balance reads the funds: a prepared statement (see runPrepared), never cached.
const FUNDS: Statement = { name: 'pictor_funds', text: 'SELECT balance, credit FROM accounts WHERE id = $1' };

/** Funds, always the committed row, and the user's teams. */
export async function getBalance(db: Db, actor: Actor): Promise<BalanceView> {
  const accountId = await resolveAccountId(db, actor, 'read');
  const [[row], teams] = await Promise.all([runPrepared<{ balance: bigint; credit: bigint }>(db, FUNDS, [accountId]), recentTeams(db, actor.userId)]);
  if (!row) throw new NotFoundError('Account', accountId);
  return {
    accountId,
    teamId: actor.teamId ?? null,
    balance: row.balance,
    credit: row.credit,
    total: row.balance + row.credit,
    teams,
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
  const accountId = await ensureUserAccount(db, user.id);
  return db.transaction().execute(async (trx) => {
    await postCredit(trx, { accountId, kind: 'promotion', bucket: 'credit', amount, description: note });
    const funds = await getFunds(trx, accountId);
    return { userId: user.id, accountId, amount, creditAfter: funds.credit };
  });
}
