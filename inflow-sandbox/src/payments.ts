// The sandbox's payments: in memory (the sandbox stands for a network outside Pictor), shaped
// like InFlow's getPayment response, moved through InFlow's statuses by the checkout page and
// by the test controls. Every change is announced to the webhook sender.
import { randomBytes } from 'node:crypto';

export const STATUSES = [
  'INITIATION',
  'CHECKOUT_PENDING',
  'CHECKOUT_SUCCESS',
  'PAYMENT_RECEIVED',
  'PAYMENT_SUCCESS',
  'PAYMENT_FAILED',
  'CANCELED',
  'REFUND_PENDING',
  'PARTIAL_REFUNDED',
  'FULLY_REFUNDED',
  'REFUND_FAILED',
] as const;
export type PaymentStatus = (typeof STATUSES)[number];

export interface Product {
  name: string;
  /** Minor units (cents). */
  price: number;
  quantity: number;
}

export interface Payment {
  id: string;
  amountInCents: number;
  currency: 'USD' | 'EUR';
  status: PaymentStatus;
  customerEmail: string;
  customerId: string | null;
  products: Product[];
  metadatas: Record<string, unknown>;
  successUrl: string | null;
  /**
   * Sandbox extension: how much has been refunded, in cents. InFlow's documented payload does
   * not state a refunded amount; a client must not depend on this field being present.
   */
  refundedAmountInCents: number;
  timeline: Array<{ status: PaymentStatus; timestamp: string }>;
  createdAt: string;
  updatedAt: string;
}

export interface NewPayment {
  products: Product[];
  currency: 'USD' | 'EUR';
  customerEmail: string;
  successUrl?: string;
  metadatas?: Record<string, unknown>;
}

export class TransitionError extends Error {}

/** Which statuses each status may move to (the sandbox refuses anything else with a 409). */
const NEXT: Record<PaymentStatus, readonly PaymentStatus[]> = {
  INITIATION: ['CHECKOUT_PENDING', 'CHECKOUT_SUCCESS', 'CANCELED', 'PAYMENT_FAILED'],
  CHECKOUT_PENDING: ['CHECKOUT_SUCCESS', 'CANCELED', 'PAYMENT_FAILED'],
  CHECKOUT_SUCCESS: ['PAYMENT_RECEIVED', 'PAYMENT_SUCCESS', 'PAYMENT_FAILED', 'REFUND_PENDING'],
  PAYMENT_RECEIVED: ['PAYMENT_SUCCESS', 'PAYMENT_FAILED', 'REFUND_PENDING'],
  PAYMENT_SUCCESS: ['REFUND_PENDING'],
  PAYMENT_FAILED: [],
  CANCELED: [],
  REFUND_PENDING: ['PARTIAL_REFUNDED', 'FULLY_REFUNDED', 'REFUND_FAILED'],
  PARTIAL_REFUNDED: ['REFUND_PENDING'],
  REFUND_FAILED: ['REFUND_PENDING'],
  FULLY_REFUNDED: [],
};

export class PaymentStore {
  readonly #payments = new Map<string, Payment>();
  readonly #onChange: (payment: Payment, created: boolean) => void;
  readonly #now: () => Date;

  constructor(onChange: (payment: Payment, created: boolean) => void, now: () => Date = () => new Date()) {
    this.#onChange = onChange;
    this.#now = now;
  }

  create(input: NewPayment): Payment {
    const at = this.#now().toISOString();
    const payment: Payment = {
      id: `pay_${randomBytes(12).toString('hex')}`,
      amountInCents: input.products.reduce((sum, p) => sum + p.price * p.quantity, 0),
      currency: input.currency,
      status: 'INITIATION',
      customerEmail: input.customerEmail,
      customerId: null,
      products: input.products.map((p) => ({ ...p })),
      metadatas: { ...(input.metadatas ?? {}) },
      successUrl: input.successUrl ?? null,
      refundedAmountInCents: 0,
      timeline: [{ status: 'INITIATION', timestamp: at }],
      createdAt: at,
      updatedAt: at,
    };
    this.#payments.set(payment.id, payment);
    this.#onChange(snapshot(payment), true);
    return snapshot(payment);
  }

  get(id: string): Payment | undefined {
    const payment = this.#payments.get(id);
    return payment && snapshot(payment);
  }

  all(): Payment[] {
    return [...this.#payments.values()].map(snapshot);
  }

  /** Moves a payment along one allowed edge; throws TransitionError (→ 409) otherwise. */
  move(id: string, to: PaymentStatus, changes: { refundedAmountInCents?: number } = {}): Payment {
    const payment = this.#payments.get(id);
    if (!payment) throw new TransitionError(`payment ${id} not found`);
    if (!NEXT[payment.status].includes(to)) {
      throw new TransitionError(`a payment in ${payment.status} cannot move to ${to}`);
    }
    const at = this.#now().toISOString();
    payment.status = to;
    if (changes.refundedAmountInCents !== undefined) payment.refundedAmountInCents = changes.refundedAmountInCents;
    if (to === 'CHECKOUT_SUCCESS' && payment.customerId === null) payment.customerId = `cust_${randomBytes(6).toString('hex')}`;
    payment.timeline.push({ status: to, timestamp: at });
    payment.updatedAt = at;
    this.#onChange(snapshot(payment), false);
    return snapshot(payment);
  }

  /** Walks a path of statuses, e.g. CHECKOUT_SUCCESS → PAYMENT_RECEIVED → PAYMENT_SUCCESS. */
  walk(id: string, path: PaymentStatus[]): Payment {
    let last = this.get(id);
    for (const status of path) last = this.move(id, status);
    if (!last) throw new TransitionError(`payment ${id} not found`);
    return last;
  }

  /**
   * Refunds `amountInCents` more (default: everything not yet refunded): REFUND_PENDING, then
   * PARTIAL_REFUNDED / FULLY_REFUNDED, or REFUND_FAILED; `complete: false` leaves it pending.
   */
  refund(id: string, options: { amountInCents?: number; outcome?: 'complete' | 'pending' | 'failed' } = {}): Payment {
    const payment = this.#payments.get(id);
    if (!payment) throw new TransitionError(`payment ${id} not found`);
    const remaining = payment.amountInCents - payment.refundedAmountInCents;
    const amount = options.amountInCents ?? remaining;
    if (!Number.isInteger(amount) || amount <= 0 || amount > remaining) {
      throw new TransitionError(`refund amount must be a whole number of cents between 1 and ${remaining}`);
    }
    if (payment.status !== 'REFUND_PENDING') this.move(id, 'REFUND_PENDING');
    const outcome = options.outcome ?? 'complete';
    if (outcome === 'pending') return snapshot(payment);
    if (outcome === 'failed') return this.move(id, 'REFUND_FAILED');
    const refunded = payment.refundedAmountInCents + amount;
    return this.move(id, refunded === payment.amountInCents ? 'FULLY_REFUNDED' : 'PARTIAL_REFUNDED', {
      refundedAmountInCents: refunded,
    });
  }
}

function snapshot(payment: Payment): Payment {
  return structuredClone(payment);
}
