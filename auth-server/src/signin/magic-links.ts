// Magic-link storage. A link is a 32-byte random token; only its SHA-256 is stored. It belongs to
// one sign-in flow (an OAuth interaction, or a connected-apps sign-in) and to the browser that
// asked for it (the SHA-256 of a secret cookie set in that browser). It is confirmed once (its
// POST): from the asking browser as is, from any other only with the code the asking window
// shows, within a few tries. The confirmation is then claimed once by the asking browser.
import { sql } from 'kysely';
import type { Db } from '@pictor/platform/db';
import type { MagicLinkFlow } from '@pictor/migrations/schema';
import type { Clock } from '@pictor/platform/clock';
import { randomToken, safeEqual, sha256, shortCode } from '../secrets.ts';

/** Codes that may be typed for one link; the last one wrong, the link is dead (see shortCode for the odds). */
export const CODE_TRIES = 5;

export interface Flow {
  kind: MagicLinkFlow;
  id: string;
}

export interface IssuedLink {
  id: string;
  token: string;
}

/** Stores a new link for the flow. It is not live for older links until `supersede` (after mailing). */
export async function issueLink(db: Db, clock: Clock, email: string, flow: Flow, browserHash: Buffer, ttlSeconds: number): Promise<IssuedLink> {
  const token = randomToken(32);
  const now = clock.now();
  const row = await db
    .insertInto('auth_magic_links')
    .values({
      token_hash: sha256(token),
      email,
      flow_kind: flow.kind,
      flow_id: flow.id,
      short_code: shortCode(),
      browser_hash: browserHash,
      created_at: now,
      expires_at: new Date(now.getTime() + ttlSeconds * 1000),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, token };
}

/** The mail went out: older unconfirmed links of the flow stop working (the newest mail wins). */
export async function supersede(db: Db, clock: Clock, flow: Flow, keepId: string): Promise<void> {
  await db
    .updateTable('auth_magic_links')
    .set({ expires_at: clock.now() })
    .where('flow_kind', '=', flow.kind)
    .where('flow_id', '=', flow.id)
    .where('id', '!=', keepId)
    .where('confirmed_at', 'is', null)
    .where('expires_at', '>', clock.now())
    .execute();
}

/** The mail could not be sent: the link never existed. */
export async function withdraw(db: Db, id: string): Promise<void> {
  await db.deleteFrom('auth_magic_links').where('id', '=', id).execute();
}

export type Refusal = 'unknown' | 'used' | 'expired' | 'foreign' | 'locked';

export interface LinkInfo {
  email: string;
  flow: Flow;
  browserHash: Buffer;
}

/** What a link is, without using it (the GET of the link, which mail scanners also make). */
export async function inspect(db: Db, clock: Clock, token: string, flow: Flow): Promise<{ link: LinkInfo } | { refused: Refusal }> {
  const row = await db
    .selectFrom('auth_magic_links')
    .select(['email', 'flow_kind', 'flow_id', 'confirmed_at', 'expires_at', 'browser_hash', 'code_attempts'])
    .where('token_hash', '=', sha256(token))
    .executeTakeFirst();
  if (!row) return { refused: 'unknown' };
  if (row.flow_kind !== flow.kind || row.flow_id !== flow.id) return { refused: 'foreign' };
  if (row.confirmed_at) return { refused: 'used' };
  if (row.code_attempts >= CODE_TRIES) return { refused: 'locked' };
  if (row.expires_at <= clock.now()) return { refused: 'expired' };
  return { link: { email: row.email, flow: { kind: row.flow_kind, id: row.flow_id }, browserHash: row.browser_hash } };
}

/** Whether `browserSecret` (the cookie of the browser at hand) is the one that asked for the link. */
export function askedFrom(link: LinkInfo, browserSecret: string | undefined): boolean {
  return browserSecret !== undefined && link.browserHash.length > 0 && safeEqual(sha256(browserSecret).toString('hex'), link.browserHash.toString('hex'));
}

/** How the confirming browser proves the sign-in is the person's: it asked, or it knows the code. */
export type Proof = { askedHere: true } | { code: string };

export type Confirmation =
  | { userId: string }
  | { refused: Refusal }
  /** The code was wrong; `triesLeft` more before the link dies (0: it just did). */
  | { wrongCode: number };

/**
 * Uses the link: marks it confirmed for `userId` exactly once. From another browser than the one
 * that asked, every code typed counts against CODE_TRIES first (atomically, so parallel guesses
 * get no extra tries), then is compared in constant time. `resolveUser` (find-or-create by email)
 * runs only once the link is proven; a concurrent second use loses the conditional update.
 */
export async function confirm(
  db: Db,
  clock: Clock,
  token: string,
  flow: Flow,
  proof: Proof,
  resolveUser: (email: string) => Promise<string>,
): Promise<Confirmation> {
  const seen = await inspect(db, clock, token, flow);
  if ('refused' in seen) return seen;
  if (!('askedHere' in proof)) {
    const tried = await db
      .updateTable('auth_magic_links')
      .set((eb) => ({ code_attempts: eb('code_attempts', '+', 1) }))
      .where('token_hash', '=', sha256(token))
      .where('confirmed_at', 'is', null)
      .where('expires_at', '>', clock.now())
      .where('code_attempts', '<', CODE_TRIES)
      .returning(['short_code', 'code_attempts'])
      .executeTakeFirst();
    if (!tried) return inspect(db, clock, token, flow).then((again) => ('refused' in again ? again : { refused: 'used' }));
    if (!safeEqual(normalizeCode(proof.code), normalizeCode(tried.short_code))) {
      const triesLeft = CODE_TRIES - tried.code_attempts;
      if (triesLeft === 0) await expire(db, clock, token);
      return { wrongCode: triesLeft };
    }
  }
  const userId = await resolveUser(seen.link.email);
  const now = clock.now();
  const row = await db
    .updateTable('auth_magic_links')
    .set({ confirmed_at: now, user_id: userId })
    .where('token_hash', '=', sha256(token))
    .where('confirmed_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('id')
    .executeTakeFirst();
  return row ? { userId } : { refused: 'used' };
}

/** The link dies now (its last code try was wrong): the asking window shows the email form again. */
async function expire(db: Db, clock: Clock, token: string): Promise<void> {
  await db.updateTable('auth_magic_links').set({ expires_at: clock.now() }).where('token_hash', '=', sha256(token)).where('confirmed_at', 'is', null).execute();
}

/** The code as typed: any case, with or without the dash or spaces. */
function normalizeCode(code: string): string {
  return code.toUpperCase().replace(/[^0-9A-Z]/g, '');
}

export type FlowStatus = 'pending' | 'confirmed' | 'none';

/** Whether the flow's window may finish: its link was confirmed (anywhere) and not yet claimed. */
export async function status(db: Db, clock: Clock, flow: Flow): Promise<FlowStatus> {
  const row = await db
    .selectFrom('auth_magic_links')
    .select([
      sql<boolean>`bool_or(confirmed_at IS NOT NULL AND completed_at IS NULL)`.as('confirmed'),
      sql<boolean>`bool_or(confirmed_at IS NULL AND expires_at > ${clock.now()})`.as('pending'),
    ])
    .where('flow_kind', '=', flow.kind)
    .where('flow_id', '=', flow.id)
    .executeTakeFirst();
  return row?.confirmed ? 'confirmed' : row?.pending ? 'pending' : 'none';
}

/** The flow's live link asked for by this browser, to show its waiting page again (email and code). */
export async function pending(db: Db, clock: Clock, flow: Flow, browserSecret: string | undefined): Promise<{ email: string; code: string } | undefined> {
  if (browserSecret === undefined) return undefined;
  const row = await db
    .selectFrom('auth_magic_links')
    .select(['email', 'short_code'])
    .where('flow_kind', '=', flow.kind)
    .where('flow_id', '=', flow.id)
    .where('browser_hash', '=', sha256(browserSecret))
    .where('completed_at', 'is', null)
    .where((eb) => eb.or([eb('confirmed_at', 'is not', null), eb('expires_at', '>', clock.now())]))
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { email: row.email, code: row.short_code } : undefined;
}

/**
 * Takes the flow's confirmation, once, for the browser that asked for it (its cookie secret):
 * the sign-in it proves is then finished by the caller. Any other browser claims nothing.
 */
export async function claim(db: Db, clock: Clock, flow: Flow, browserSecret: string | undefined): Promise<{ userId: string } | undefined> {
  if (browserSecret === undefined) return undefined;
  const row = await db
    .updateTable('auth_magic_links')
    .set({ completed_at: clock.now() })
    .where('id', '=', (eb) =>
      eb
        .selectFrom('auth_magic_links')
        .select('id')
        .where('flow_kind', '=', flow.kind)
        .where('flow_id', '=', flow.id)
        .where('browser_hash', '=', sha256(browserSecret))
        .where('confirmed_at', 'is not', null)
        .where('completed_at', 'is', null)
        .orderBy('confirmed_at', 'desc')
        .limit(1),
    )
    .where('completed_at', 'is', null)
    .returning('user_id')
    .executeTakeFirst();
  return row?.user_id ? { userId: row.user_id } : undefined;
}

/** Links are kept a day past expiry (to tell "expired" from "unknown"), then deleted. */
export async function sweepLinks(db: Db, clock: Clock): Promise<void> {
  await db
    .deleteFrom('auth_magic_links')
    .where('expires_at', '<', new Date(clock.now().getTime() - 86_400_000))
    .execute();
}
