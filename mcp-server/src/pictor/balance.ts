// The account's money as a person sees it, and promotional credit granted by operators.
import { runPrepared, type Db, type Statement } from '@pictor/migrations/db';
import type { TeamRole } from '@pictor/migrations/schema';
import { ensureUser, resolveAccountId } from './accounts.ts';
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

// Every get-user-balance runs this: a prepared statement (see runPrepared).
const BALANCE: Statement = {
  name: 'pictor_balance',
  text: `SELECT a.balance, a.credit, coalesce((
      SELECT json_agg(json_build_object('id', t.id, 'name', t.name, 'role', m.role) ORDER BY t.created_at, t.id)
      FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = $2), '[]') AS teams
    FROM accounts a WHERE a.id = $1`,
};

/** Funds (never cached: always the committed row) and the user's teams, in one query. */
export async function getBalance(db: Db, actor: Actor): Promise<BalanceView> {
  const accountId = await resolveAccountId(db, actor);
  const [row] = await runPrepared<{ balance: bigint; credit: bigint; teams: BalanceView['teams'] }>(db, BALANCE, [accountId, actor.userId]);
  if (!row) throw new NotFoundError('Account', accountId);
  return {
    accountId,
    teamId: actor.teamId ?? null,
    balance: row.balance,
    credit: row.credit,
    total: row.balance + row.credit,
    teams: row.teams,
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
