// What an InFlow status means for Pictor's money. Pure functions: the rules in one place.
//
// Only PAYMENT_SUCCESS credits. InFlow's statuses before it are, in its own words:
//   CHECKOUT_SUCCESS  the person authorized the payment; "not guaranteed yet" (it can still fail);
//   PAYMENT_RECEIVED  InFlow's settlement partner holds the money; InFlow calls this guaranteed,
//                     but it is not yet in the merchant account and can still end in PAYMENT_FAILED.
// Credit becomes GPU time within seconds and GPU time cannot be taken back, so Pictor waits
// for money that has actually arrived (PAYMENT_SUCCESS): one settled status is also the one a
// payout reconciles against. The cost is a short wait between RECEIVED and SUCCESS.
//
// After a credit, a refund takes the refunded value back out of the paid balance (never out of
// promotional credit). What the balance no longer covers (already spent) is recorded on the
// transaction as uncovered and flagged for review; the balance never goes below zero and always
// equals the sum of its ledger entries.
import { INFLOW_STATUSES, type InflowPayment, type InflowStatus } from './client.ts';

/** Micro-credits per minor unit: 1 credit = 1 currency unit = 100 cents = 1,000,000 micro. */
export const MICRO_PER_MINOR = 10_000n;

/** Statuses that may still change into something Pictor must act on: what sync re-checks. */
export const PENDING_STATUSES = ['INITIATION', 'CHECKOUT_PENDING', 'CHECKOUT_SUCCESS', 'PAYMENT_RECEIVED', 'REFUND_PENDING'] as const;

/** Progress order; a snapshot ranked below what is stored is an old one arriving late. */
const RANK: Record<InflowStatus, number> = {
  INITIATION: 0,
  CHECKOUT_PENDING: 1,
  CHECKOUT_SUCCESS: 2,
  PAYMENT_RECEIVED: 3,
  PAYMENT_SUCCESS: 4,
  PAYMENT_FAILED: 4,
  CANCELED: 4,
  REFUND_PENDING: 5,
  REFUND_FAILED: 5,
  PARTIAL_REFUNDED: 5,
  FULLY_REFUNDED: 6,
};

export function isInflowStatus(status: string): status is InflowStatus {
  return (INFLOW_STATUSES as readonly string[]).includes(status);
}

export interface StoredState {
  status: string;
  inflowUpdatedAt: Date | null;
  credited: boolean;
  amountMinor: bigint;
  currency: string;
  refundedMinor: bigint;
  /** Refunded value already accounted for (reversed + uncovered), in minor units. */
  accountedMinor: bigint;
}

export interface Plan {
  /** False for a stale or unusable snapshot: only the check time is recorded. */
  apply: boolean;
  status: string;
  /** Post the one payment credit now. */
  credit: boolean;
  refundedMinor: bigint;
  /** Refunded value to take back now, in minor units. */
  reverseMinor: bigint;
  review: string | null;
}

export function planSettlement(stored: StoredState, payment: InflowPayment): Plan {
  const keep: Plan = { apply: false, status: stored.status, credit: false, refundedMinor: stored.refundedMinor, reverseMinor: 0n, review: null };
  const seen = payment.status;
  if (!isInflowStatus(seen)) return { ...keep, review: `InFlow reported an unknown status ${JSON.stringify(seen)}` };
  const updatedAt = payment.updatedAt ? new Date(payment.updatedAt) : null;
  if (stored.inflowUpdatedAt && updatedAt && updatedAt < stored.inflowUpdatedAt) return keep;
  if (isInflowStatus(stored.status) && RANK[seen] < RANK[stored.status]) return keep;

  const amountMatches = BigInt(payment.amountInCents) === stored.amountMinor && payment.currency === stored.currency;
  let review: string | null = amountMatches
    ? null
    : `InFlow reports ${payment.amountInCents} ${payment.currency} (minor units) for a checkout of ${stored.amountMinor} ${stored.currency}; not credited`;

  // A refund state means the payment got at least as far as CHECKOUT_SUCCESS; it was settled
  // only if its timeline shows PAYMENT_SUCCESS. A pending refund is waited out, never credited.
  const reachedSuccess = (payment.timeline ?? []).some((step) => step.status === 'PAYMENT_SUCCESS');
  const settled = seen === 'PAYMENT_SUCCESS' || ((seen === 'PARTIAL_REFUNDED' || seen === 'REFUND_FAILED') && reachedSuccess);
  const credit = !stored.credited && amountMatches && settled;

  let refundedMinor = stored.refundedMinor;
  if (seen === 'FULLY_REFUNDED') refundedMinor = stored.amountMinor;
  else if (seen === 'PARTIAL_REFUNDED') {
    if (payment.refundedAmountInCents == null) review ??= 'InFlow reports a partial refund without its amount; reconcile by hand';
    else refundedMinor = BigInt(payment.refundedAmountInCents);
  }
  if (refundedMinor < stored.refundedMinor) refundedMinor = stored.refundedMinor;
  if (refundedMinor > stored.amountMinor) refundedMinor = stored.amountMinor;

  const creditedAfter = stored.credited || credit;
  const reverseMinor = creditedAfter && refundedMinor > stored.accountedMinor ? refundedMinor - stored.accountedMinor : 0n;
  if (stored.credited && (seen === 'PAYMENT_FAILED' || seen === 'CANCELED')) {
    review ??= `InFlow reports ${seen} for a payment already credited; reconcile by hand`;
  }
  return { apply: true, status: seen, credit, refundedMinor, reverseMinor, review };
}

/** One sentence on what a status means for the person, for tool output. */
export function describeStatus(status: string, credited: boolean): string {
  switch (status) {
    case 'INITIATION':
      return 'The checkout is created; the person has not paid yet. No credit has been added.';
    case 'CHECKOUT_PENDING':
      return 'The person has opened the payment page but not finished paying. No credit has been added.';
    case 'CHECKOUT_SUCCESS':
      return 'The payment is authorized but not settled yet. Credit is added once InFlow reports PAYMENT_SUCCESS; check again later.';
    case 'PAYMENT_RECEIVED':
      return "InFlow has received the money but it has not reached Pictor's account yet. Credit is added once it settles (PAYMENT_SUCCESS); check again later.";
    case 'PAYMENT_SUCCESS':
      return credited
        ? 'The payment settled and the credit has been added to the account.'
        : 'The payment settled but could not be credited automatically; Pictor support will reconcile it.';
    case 'PAYMENT_FAILED':
      return credited
        ? 'InFlow reports the payment failed after it was credited; Pictor support will reconcile it.'
        : 'The payment failed. No credit was added and the person was not charged.';
    case 'CANCELED':
      return 'The checkout was canceled. No credit was added and the person was not charged.';
    case 'REFUND_PENDING':
      return 'A refund of this payment is in progress.';
    case 'REFUND_FAILED':
      return credited ? 'A refund was attempted and failed; the credit stays on the account.' : 'A refund was attempted and failed.';
    case 'PARTIAL_REFUNDED':
      return 'Part of this payment was refunded to the person; that part was taken back from the account.';
    case 'FULLY_REFUNDED':
      return credited
        ? 'This payment was refunded to the person in full; its credit was taken back from the account.'
        : 'This payment was refunded in full before it was credited; no credit was added.';
    default:
      return `InFlow reports the status ${status}.`;
  }
}
