// The requestState of a confirmation form (MCP 2026-07-28 multi-round-trip requests): it goes to
// the client and comes back on the retry, so it is attacker-controlled input. It is signed with
// HMAC-SHA256 (the first of CONFIRMATION_SECRETS signs, every one verifies, for rotation) and
// binds the confirmation to the person, the app, the tool, the exact arguments, the quoted
// amount, an expiry and a one-time nonce. Format: `c1.<base64url(JSON payload)>.<base64url(mac)>`.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

const PREFIX = 'c1';
/** A state we minted is far shorter; anything longer is refused before any work. */
const MAX_STATE_LENGTH = 1024;

/** What a confirmation is bound to: who, through which app, which tool and which exact arguments. */
export interface Binding {
  userId: string;
  clientId: string | null;
  tool: string;
  /** argumentsDigest() of the validated arguments, team_id included. */
  args: string;
}

export interface ConfirmationState extends Binding {
  /** The amount the form stated, micro-credits. */
  amountMicro: bigint;
  /** Milliseconds since the epoch after which the state is refused. */
  expiresAt: number;
  nonce: string;
}

const payloadSchema = z.strictObject({
  u: z.string(),
  c: z.string().nullable(),
  t: z.string(),
  a: z.string(),
  p: z.string().regex(/^-?\d{1,30}$/),
  e: z.number().int(),
  n: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
});

/** Sorted keys at every level, so the same arguments give the same digest however they were sent. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** SHA-256 of the canonical JSON of a call's validated arguments (defaults applied, team_id kept). */
export function argumentsDigest(args: Record<string, unknown>): string {
  return createHash('sha256').update(canonical(args)).digest('base64url');
}

function mac(secret: string, body: string): Buffer {
  return createHmac('sha256', secret).update(`pictor-confirmation:${body}`).digest();
}

export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

export function signState(state: ConfirmationState, secrets: readonly string[]): string {
  const payload = {
    u: state.userId,
    c: state.clientId,
    t: state.tool,
    a: state.args,
    p: state.amountMicro.toString(),
    e: state.expiresAt,
    n: state.nonce,
  };
  const body = `${PREFIX}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${body}.${mac(secrets[0]!, body).toString('base64url')}`;
}

/** The state if one of `secrets` signed it exactly as given; null for anything else. */
export function verifyState(text: string, secrets: readonly string[]): ConfirmationState | null {
  if (text.length > MAX_STATE_LENGTH) return null;
  const parts = text.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return null;
  const body = `${parts[0]}.${parts[1]}`;
  const given = Buffer.from(parts[2]!, 'base64url');
  // Buffer.from ignores characters outside the alphabet: require the canonical encoding.
  if (given.toString('base64url') !== parts[2]) return null;
  const signed = secrets.some((secret) => {
    const expected = mac(secret, body);
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
  if (!signed) return null;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const p = payloadSchema.safeParse(decoded);
  if (!p.success) return null;
  return { userId: p.data.u, clientId: p.data.c, tool: p.data.t, args: p.data.a, amountMicro: BigInt(p.data.p), expiresAt: p.data.e, nonce: p.data.n };
}

/** Whether a verified state was minted for this very call. */
export function sameBinding(state: Binding, call: Binding): boolean {
  return state.userId === call.userId && state.clientId === call.clientId && state.tool === call.tool && state.args === call.args;
}
