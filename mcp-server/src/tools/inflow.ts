// The InFlow top-up tools: thin declarations over pictor/inflow/payments.ts. They talk to the
// payment network (openWorldHint); none is read-only. Verify and sync are idempotent (a payment
// credits once however often it is checked); so is create, because a retry with the same
// idempotency_key returns the same checkout.
import { z } from 'zod';
import { UnavailableError } from '../pictor/errors.ts';
import type { InflowClient } from '../pictor/inflow/client.ts';
import {
  CURRENCIES,
  MAX_TOP_UP_CREDITS,
  MIN_TOP_UP_CREDITS,
  createCheckout,
  parseTopUpAmount,
  peekTransaction,
  syncPending,
  verifyTransaction,
  type InflowDeps,
  type InflowTransactionView,
  type VerifyResult,
} from '../pictor/inflow/payments.ts';
import { resolveAccountId } from '../pictor/accounts.ts';
import { MICRO_PER_MINOR } from '../pictor/inflow/status.ts';
import { money, moneyOutput, whose } from './common.ts';
import { defineTool, type ToolContext, type ToolDefinition } from './define.ts';

const transactionOutput = {
  transaction_id: z.string().describe("Pictor's id for this top-up: pass it to verify-inflow-transaction."),
  payment_id: z.string().describe("InFlow's payment id (pay_…), as shown on the person's receipt."),
  status: z
    .string()
    .describe(
      "InFlow's payment status: INITIATION, CHECKOUT_PENDING, CHECKOUT_SUCCESS, PAYMENT_RECEIVED, PAYMENT_SUCCESS (settled), PAYMENT_FAILED, CANCELED, REFUND_PENDING, PARTIAL_REFUNDED, FULLY_REFUNDED or REFUND_FAILED.",
    ),
  amount: moneyOutput.describe('The top-up amount in credits (1 credit = 1 unit of the currency), e.g. "25.00".'),
  currency: z.enum(CURRENCIES).describe('The currency the person pays in.'),
  credited: z.boolean().describe('True once the amount has been added to the Pictor balance. Only then has the credit arrived.'),
  credited_at: z.string().nullable().describe('When it was credited (ISO 8601, UTC); null if not credited.'),
  refunded_amount: moneyOutput.describe('How much of the payment InFlow has refunded to the person.'),
  refund_taken_back: moneyOutput.describe('Of the refunded amount, what was taken back out of the Pictor balance.'),
  refund_uncovered: moneyOutput.describe('Refunded credits that had already been spent and could not be taken back (Pictor support follows up).'),
  needs_review: z.boolean().describe('True when Pictor support must look at this payment (e.g. an amount mismatch).'),
  purchase_url: z.string().nullable().describe('The InFlow checkout page where the person pays.'),
  team_id: z.string().nullable().describe("The team whose account is topped up; null for the person's own account."),
  created_at: z.string().describe('When the checkout was created (ISO 8601, UTC).'),
};

const checkOutput = {
  transaction: z.object(transactionOutput),
  credited_now: z.boolean().describe('True if this call added the credit. Tell the person their credit arrived only when credited is true.'),
  balance: moneyOutput.describe("The account's paid balance after this check, in credits."),
  message: z.string().describe('What the status means, in a sentence to relay to the person.'),
};

function transactionJson(t: InflowTransactionView): z.infer<z.ZodObject<typeof transactionOutput>> {
  return {
    transaction_id: t.id,
    payment_id: t.paymentId,
    status: t.status,
    amount: money(t.amountMicro),
    currency: t.currency,
    credited: t.credited,
    credited_at: t.creditedAt?.toISOString() ?? null,
    refunded_amount: money(t.refundedMicro),
    refund_taken_back: money(t.reversedMicro),
    refund_uncovered: money(t.uncoveredMicro),
    needs_review: t.reviewReason !== null,
    purchase_url: t.purchaseUrl,
    team_id: t.teamId,
    created_at: t.createdAt.toISOString(),
  };
}

function checkJson(r: VerifyResult): z.infer<z.ZodObject<typeof checkOutput>> {
  return { transaction: transactionJson(r.transaction), credited_now: r.creditedNow, balance: money(r.balanceMicro), message: r.summary };
}

/** What one check moved in the ledger: the credited amount, less refunded credits taken back. */
function movedBy(r: VerifyResult): bigint {
  return (r.creditedNow ? r.transaction.amountMicro : 0n) - r.reversedNowMicro;
}

function deps(ctx: ToolContext): InflowDeps {
  const inflow: InflowClient | undefined = ctx.inflow;
  if (!inflow)
    throw new UnavailableError('Top-ups through InFlow are not configured on this Pictor server; the person can top up on the Pictor website instead.');
  return { db: ctx.db, inflow, clock: ctx.clock, log: ctx.log };
}

const amountText = (amount: string | number): string => (typeof amount === 'number' ? String(amount) : amount);

export const createInflowCheckoutTool = defineTool({
  name: 'create-inflow-checkout',
  title: 'Create a top-up checkout',
  description:
    "Creates an InFlow checkout (card or bank payment) to add credit to the person's Pictor account, or to a team's account when team_id is given. " +
    `Credits are 1:1 with the currency (1 credit = 1 USD or 1 EUR); the smallest top-up is ${MIN_TOP_UP_CREDITS} credits. ` +
    'Before calling, confirm the exact amount and currency with the person. Creating the checkout charges nothing: ' +
    'give the person the returned purchase_url to open and pay in their browser. ' +
    'No credit arrives until the payment settles: never tell the person the credit has arrived until verify-inflow-transaction returns credited: true. ' +
    'Choose a fresh idempotency_key for each new top-up and reuse it only when retrying this same request (e.g. after an error or timeout): ' +
    'the same key returns the same checkout instead of creating a second one.',
  scope: 'billing:write',
  workspace: true,
  input: {
    amount: z
      .union([z.string().max(20), z.number()])
      .describe(
        `Credits to add, at most 2 decimals, e.g. "25" or "25.50"; minimum ${MIN_TOP_UP_CREDITS}, maximum ${MAX_TOP_UP_CREDITS}. The person pays the same number of currency units.`,
      ),
    currency: z.enum(CURRENCIES).default('USD').describe('Currency the person pays in: USD (default) or EUR.'),
    idempotency_key: z
      .string()
      .min(1, 'idempotency_key must not be empty')
      .max(200, 'idempotency_key must be at most 200 characters')
      .describe(
        'A unique string you make up for this top-up, e.g. a UUID. Retrying with the same key returns the same checkout; a new top-up needs a new key.',
      ),
  },
  output: {
    ...transactionOutput,
    created: z.boolean().describe('False when this idempotency_key had already created the checkout and the existing one is returned.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  // not the idempotency key: a client may use anything there
  activity: { args: ['amount', 'currency'] },
  async confirm(input, ctx) {
    deps(ctx); // not configured: say so rather than ask
    const micro = parseTopUpAmount(amountText(input.amount)) * MICRO_PER_MINOR;
    await resolveAccountId(ctx.db, ctx.actor, 'billing:checkout'); // a role that cannot top up is refused before the form
    return {
      message: `Add ${money(micro)} credits to ${whose(ctx.actor)}: you pay ${money(micro)} ${input.currency} on InFlow's checkout page; nothing is charged before that.`,
      amountMicro: micro,
    };
  },
  async handler(input, ctx) {
    const amount = amountText(input.amount);
    const { transaction, created } = await createCheckout(deps(ctx), ctx.actor, {
      amount,
      currency: input.currency,
      idempotencyKey: input.idempotency_key,
    });
    const what = `${money(transaction.amountMicro)} ${transaction.currency}`;
    const text = [
      created
        ? `Created a checkout for ${what} (transaction ${transaction.id}).`
        : `This checkout already exists: ${what} (transaction ${transaction.id}), status ${transaction.status}.`,
      `Give the person this link to pay: ${transaction.purchaseUrl}`,
      'No credit has been added yet. After they pay, call verify-inflow-transaction with this transaction_id; the credit has arrived only when it reports credited: true.',
    ].join('\n');
    return { structured: { ...transactionJson(transaction), created }, text, activity: { targetId: transaction.id } };
  },
});

export const verifyInflowTransactionTool = defineTool({
  name: 'verify-inflow-transaction',
  title: 'Verify a top-up payment',
  description:
    'Checks one InFlow top-up with InFlow and, if the payment has settled (status PAYMENT_SUCCESS), credits the amount to the Pictor account that created it, exactly once. ' +
    'Safe to call repeatedly: a payment is never credited twice. Use it after the person says they have paid, and confirm with them before ' +
    'crediting: name the amount and the account (personal or which team) it goes to, and call only once they agree. ' +
    'Other statuses are reported as they are (e.g. CHECKOUT_PENDING: not paid yet; PAYMENT_RECEIVED: paid but not settled, check again later; CANCELED or PAYMENT_FAILED: nothing to credit). ' +
    'A refund after crediting is taken back from the balance and reported. ' +
    'Tell the person their credit has arrived only when the result says credited: true. Pass team_id if the top-up was for a team.',
  scope: 'billing:write',
  workspace: true,
  input: {
    transaction_id: z
      .string()
      .min(1)
      .max(100)
      .describe("The transaction_id from create-inflow-checkout, or InFlow's payment id (pay_…) from the person's receipt."),
  },
  output: checkOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  activity: { args: [], target: 'transaction_id' },
  async confirm(input, ctx) {
    deps(ctx);
    const t = await peekTransaction(ctx.db, ctx.actor, input.transaction_id.trim());
    if (t.credited) return null; // checking again credits nothing
    return {
      message: `Check top-up ${t.id} (${money(t.amountMicro)} ${t.currency}) with InFlow and, if it is paid, add ${money(t.amountMicro)} credits to ${whose(ctx.actor)}.`,
      amountMicro: t.amountMicro,
    };
  },
  async handler(input, ctx) {
    const result = await verifyTransaction(deps(ctx), ctx.actor, input.transaction_id.trim());
    const t = result.transaction;
    const text = `Top-up ${t.id} (${money(t.amountMicro)} ${t.currency}): ${t.status}. ${result.summary} Balance: ${money(result.balanceMicro)} credits.`;
    return { structured: checkJson(result), text, activity: { targetId: t.id, amountMicro: movedBy(result) } };
  },
});

export const syncPendingInflowTransactionsTool = defineTool({
  name: 'sync-pending-inflow-transactions',
  title: 'Sync pending top-ups',
  description:
    "Re-checks with InFlow every top-up of the person's account (or the team's, with team_id) that has not finished yet, " +
    'and credits those whose payment has settled, each exactly once. Use it when the person paid but does not know the transaction id, ' +
    'or to see which checkouts are still open. Pictor also does this in the background. ' +
    'It credits every settled payment it finds: confirm with the person before calling, naming the account (personal or which team). ' +
    'Tell the person credit has arrived only for transactions reported with credited: true.',
  scope: 'billing:write',
  workspace: true,
  input: {},
  output: {
    checked: z.number().int().describe('How many pending top-ups were checked with InFlow.'),
    credited_now: z.number().int().describe('How many of them were credited by this call.'),
    unreachable: z.number().int().describe('How many could not be checked because InFlow did not answer; they stay pending and nothing is lost.'),
    transactions: z.array(z.object(checkOutput)).describe('Each checked top-up, newest first.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  activity: { args: [] },
  async handler(_input, ctx) {
    const { results, unreachable } = await syncPending(deps(ctx), ctx.actor);
    const creditedNow = results.filter((r) => r.creditedNow).length;
    const lines = results.map(
      (r) =>
        `- ${r.transaction.id} (${money(r.transaction.amountMicro)} ${r.transaction.currency}): ${r.transaction.status}${r.creditedNow ? ', credited now' : ''}`,
    );
    const text =
      results.length === 0 && unreachable === 0
        ? 'No pending top-ups.'
        : [
            `Checked ${results.length} pending top-up(s); ${creditedNow} credited now.`,
            ...lines,
            ...(unreachable > 0 ? [`${unreachable} could not be checked (InFlow did not answer); they stay pending and nothing is lost.`] : []),
          ].join('\n');
    return {
      structured: { checked: results.length, credited_now: creditedNow, unreachable, transactions: results.map(checkJson) },
      text,
      activity: { amountMicro: results.reduce((sum, r) => sum + movedBy(r), 0n) },
    };
  },
});

export const inflowTools: ToolDefinition[] = [createInflowCheckoutTool, verifyInflowTransactionTool, syncPendingInflowTransactionsTool];
