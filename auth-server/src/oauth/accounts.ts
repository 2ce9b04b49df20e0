// Accounts as oidc-provider sees them: the subject is the Pictor user id. Access tokens also
// carry the email (the MCP server shows whose account it acts on; it is verified, since every
// sign-in goes through a link mailed to it) and the id of the grant they were issued under.
import type { AccessToken, Account, ClientCredentials } from 'oidc-provider';
import type { Db } from '@pictor/platform/db';
import { recall, remember } from '../request-memo.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function userById(db: Db, id: string): Promise<{ id: string; email: string } | undefined> {
  if (!UUID.test(id)) return undefined;
  return db.selectFrom('users').select(['id', 'email']).where('id', '=', id).executeTakeFirst();
}

export type AccountUser = { id: string; email: string } | undefined;

/** The memo key of a user read during a request (see adapter.ts, which reads it with the refresh token). */
export const userMemoKey = (id: string) => `user:${id}`;

export function accountHooks(db: Db) {
  // findAccount and extraTokenClaims both need the user in the same token request: read it once.
  async function userOf(ctx: object, id: string): Promise<AccountUser> {
    const hit = recall<AccountUser>(ctx, userMemoKey(id));
    if (hit) return hit.value;
    const user = await userById(db, id);
    remember(ctx, userMemoKey(id), user);
    return user;
  }
  return {
    async findAccount(ctx: object, sub: string): Promise<Account | undefined> {
      const user = await userOf(ctx, sub);
      if (!user) return undefined;
      return { accountId: user.id, claims: () => ({ sub: user.id, email: user.email, email_verified: true }) };
    },
    async extraTokenClaims(ctx: object, token: AccessToken | ClientCredentials): Promise<Record<string, unknown> | undefined> {
      if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
      const user = await userOf(ctx, token.accountId);
      // grant_id: revoking the access token (RFC 7009) ends the grant it came from
      return user ? { email: user.email, grant_id: token.grantId } : undefined;
    },
  };
}
