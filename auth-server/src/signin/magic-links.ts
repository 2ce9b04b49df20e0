// Magic-link storage. A link is a 32-byte random token; only its SHA-256 is stored. It belongs to
// one sign-in flow (an OAuth interaction, or a connected-apps sign-in), is confirmed once (its
// POST), and the confirmation is then claimed once by the window that asked for it.
import { sql } from 'kysely';
import type { Db } from '@pictor/migrations/db';
import type { MagicLinkFlow } from '@pictor/migrations/schema';
import type { Clock } from '@pictor/mcp-server/pictor/clock';
import { randomToken, sha256, shortCode } from '../secrets.ts';

export interface Flow {
  kind: MagicLinkFlow;
  id: string;
}

export interface IssuedLink {
  id: string;
  token: string;
  code: string;
}

/** Stores a new link for the flow. It is not live for older links until `supersede` (after mailing). */
export async function issueLink(db: Db, clock: Clock, email: string, flow: Flow, ttlSeconds: number): Promise<IssuedLink> {
  const token = randomToken(32);
  const code = shortCode();
  const now = clock.now();
  const row = await db.insertInto('auth_magic_links').values({
    token_hash: sha256(token),
    email,
    flow_kind: flow.kind,
    flow_id: flow.id,
    short_code: code,
    created_at: now,
    expires_at: new Date(now.getTime() + ttlSeconds * 1000),
  }).returning('id').executeTakeFirstOrThrow();
  return { id: row.id, token, code };
}

/** The mail went out: older unconfirmed links of the flow stop working (the newest mail wins). */
export async function supersede(db: Db, clock: Clock, flow: Flow, keepId: string): Promise<void> {
  await db.updateTable('auth_magic_links').set({ expires_at: clock.now() })
    .where('flow_kind', '=', flow.kind).where('flow_id', '=', flow.id)
    .where('id', '!=', keepId).where('confirmed_at', 'is', null).where('expires_at', '>', clock.now())
    .execute();
}

/** The mail could not be sent: the link never existed. */
export async function withdraw(db: Db, id: string): Promise<void> {
  await db.deleteFrom('auth_magic_links').where('id', '=', id).execute();
}

export type Refusal = 'unknown' | 'used' | 'expired' | 'foreign';

export interface LinkInfo {
  email: string;
  code: string;
  flow: Flow;
}

/** What a link is, without using it (the GET of the link, which mail scanners also make). */
export async function inspect(db: Db, clock: Clock, token: string, flow: Flow): Promise<{ link: LinkInfo } | { refused: Refusal }> {
  const row = await db.selectFrom('auth_magic_links')
    .select(['email', 'short_code', 'flow_kind', 'flow_id', 'confirmed_at', 'expires_at'])
    .where('token_hash', '=', sha256(token)).executeTakeFirst();
  if (!row) return { refused: 'unknown' };
  if (row.flow_kind !== flow.kind || row.flow_id !== flow.id) return { refused: 'foreign' };
  if (row.confirmed_at) return { refused: 'used' };
  if (row.expires_at <= clock.now()) return { refused: 'expired' };
  return { link: { email: row.email, code: row.short_code, flow: { kind: row.flow_kind, id: row.flow_id } } };
}

/**
 * Uses the link: marks it confirmed for `userId` exactly once. `resolveUser` (find-or-create by
 * email) runs only for a live link; a concurrent second use loses the conditional update.
 */
export async function confirm(
  db: Db, clock: Clock, token: string, flow: Flow, resolveUser: (email: string) => Promise<string>,
): Promise<{ userId: string; code: string } | { refused: Refusal }> {
  const seen = await inspect(db, clock, token, flow);
  if ('refused' in seen) return seen;
  const userId = await resolveUser(seen.link.email);
  const now = clock.now();
  const row = await db.updateTable('auth_magic_links').set({ confirmed_at: now, user_id: userId })
    .where('token_hash', '=', sha256(token)).where('confirmed_at', 'is', null).where('expires_at', '>', now)
    .returning('short_code').executeTakeFirst();
  return row ? { userId, code: row.short_code } : { refused: 'used' };
}

export type FlowStatus = 'pending' | 'confirmed' | 'none';

/** Whether the flow's window may finish: its link was confirmed (anywhere) and not yet claimed. */
export async function status(db: Db, clock: Clock, flow: Flow): Promise<FlowStatus> {
  const row = await db.selectFrom('auth_magic_links')
    .select([
      sql<boolean>`bool_or(confirmed_at IS NOT NULL AND completed_at IS NULL)`.as('confirmed'),
      sql<boolean>`bool_or(confirmed_at IS NULL AND expires_at > ${clock.now()})`.as('pending'),
    ])
    .where('flow_kind', '=', flow.kind).where('flow_id', '=', flow.id).executeTakeFirst();
  return row?.confirmed ? 'confirmed' : row?.pending ? 'pending' : 'none';
}

/** The flow's live link, to show the waiting page again (its email and code). */
export async function pending(db: Db, clock: Clock, flow: Flow): Promise<{ email: string; code: string } | undefined> {
  const row = await db.selectFrom('auth_magic_links').select(['email', 'short_code'])
    .where('flow_kind', '=', flow.kind).where('flow_id', '=', flow.id)
    .where('completed_at', 'is', null)
    .where((eb) => eb.or([eb('confirmed_at', 'is not', null), eb('expires_at', '>', clock.now())]))
    .orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  return row ? { email: row.email, code: row.short_code } : undefined;
}

/** Takes the flow's confirmation, once: the sign-in it proves is then finished by the caller. */
export async function claim(db: Db, clock: Clock, flow: Flow): Promise<{ userId: string } | undefined> {
  const row = await db.updateTable('auth_magic_links').set({ completed_at: clock.now() })
    .where('id', '=', (eb) => eb.selectFrom('auth_magic_links').select('id')
      .where('flow_kind', '=', flow.kind).where('flow_id', '=', flow.id)
      .where('confirmed_at', 'is not', null).where('completed_at', 'is', null)
      .orderBy('confirmed_at', 'desc').limit(1))
    .where('completed_at', 'is', null)
    .returning('user_id').executeTakeFirst();
  return row?.user_id ? { userId: row.user_id } : undefined;
}

/** Links are kept a day past expiry (to tell "expired" from "unknown"), then deleted. */
export async function sweepLinks(db: Db, clock: Clock): Promise<void> {
  await db.deleteFrom('auth_magic_links').where('expires_at', '<', new Date(clock.now().getTime() - 86_400_000)).execute();
}
