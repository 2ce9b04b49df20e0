// Input and output fields shared by many tools, described once.
import { z } from 'zod';
import { formatCredits } from '@pictor/platform/money';
import type { Actor } from '../pictor/actor.ts';

export const cursorField = z.string().max(200).optional().describe("Opaque cursor from a previous page's next_cursor; omit for the first page.");

export const limitField = z.number().int().min(1).max(100).default(20).describe('Items per page, 1–100 (default 20).');

export const nextCursorOutput = z.string().nullable().describe('Pass as cursor to get the next page; null on the last page.');

/** Money crosses the API as exact decimal strings in credits (1 credit = 1 USD), never floats. */
export const moneyOutput = z
  .string()
  .regex(/^-?\d+\.\d{2,6}$/)
  .describe('Amount in credits as an exact decimal string, e.g. "12.50".');

export const money = formatCredits;

/** Whose money or keys a confirmation sentence speaks of (the person reads it). */
export function whose(actor: Actor): string {
  return actor.teamId === undefined ? 'your personal account' : `team "${actor.membership?.teamName ?? actor.teamId}"'s account`;
}
