// Webhook deliveries the way Svix makes them for InFlow: one message id per event batch, kept
// across retries; every attempt signed afresh with its own timestamp; retried with backoff until
// the receiver answers 2xx within the attempt timeout.
import { createHmac, randomBytes } from 'node:crypto';

/** `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed by the base64 part of a `whsec_` secret. */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** A fresh Svix-style secret: `whsec_` + 24 random bytes in base64. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export interface WebhookEvent {
  eventType: 'payment_created' | 'payment_status_updated';
  payload: unknown;
}

export interface DeliveryAttempt {
  at: string;
  /** HTTP status of the receiver's answer, or null when it did not answer (network error, timeout). */
  status: number | null;
  error?: string;
}

export interface Delivery {
  /** The svix-id: the same on every attempt of this message. */
  id: string;
  body: string;
  eventTypes: string[];
  paymentIds: string[];
  state: 'pending' | 'delivered' | 'failed';
  attempts: DeliveryAttempt[];
}

export interface WebhookSenderOptions {
  url?: string;
  secret: string;
  /**
   * Delay before each attempt, in ms; the first is usually 0. When the list runs out the message
   * is marked failed. Default: 0, 1 s, 5 s, 30 s, 2 min, 10 min (Svix spreads over hours).
   */
  retryScheduleMs?: number[];
  /** Per-attempt timeout: a receiver that has not answered 2xx by then counts as failed. Default 15 s. */
  timeoutMs?: number;
}

export class WebhookSender {
  #url: string | undefined;
  #secret: string;
  #schedule: number[];
  #timeoutMs: number;
  #enabled = true;
  #timers = new Set<NodeJS.Timeout>();
  #inFlight = new Set<AbortController>();
  #pending = 0;
  #idleWaiters: Array<() => void> = [];
  readonly deliveries: Delivery[] = [];

  constructor(options: WebhookSenderOptions) {
    this.#url = options.url;
    this.#secret = options.secret;
    this.#schedule = options.retryScheduleMs ?? [0, 1_000, 5_000, 30_000, 120_000, 600_000];
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  get url(): string | undefined {
    return this.#url;
  }

  setUrl(url: string | undefined): void {
    this.#url = url;
  }

  /** While disabled, new events are dropped (as if no endpoint were registered). */
  setEnabled(enabled: boolean): void {
    this.#enabled = enabled;
  }

  send(events: WebhookEvent[]): Delivery | undefined {
    if (!this.#url || !this.#enabled) return undefined;
    const delivery: Delivery = {
      id: `msg_${randomBytes(12).toString('hex')}`,
      body: JSON.stringify({ data: events }),
      eventTypes: events.map((e) => e.eventType),
      paymentIds: events.map((e) => String((e.payload as { id?: unknown }).id ?? '')),
      state: 'pending',
      attempts: [],
    };
    this.deliveries.push(delivery);
    this.#pending += 1;
    this.#plan(delivery, 0);
    return delivery;
  }

  /** Sends an already delivered message again with the same svix-id, as Svix's "resend" does. */
  async resend(id: string): Promise<DeliveryAttempt> {
    const delivery = this.deliveries.find((d) => d.id === id);
    if (!delivery) throw new Error(`no delivery ${id}`);
    return this.#attempt(delivery);
  }

  /** Resolves when no message is waiting for a retry or an answer. */
  idle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const controller of this.#inFlight) controller.abort();
    for (const d of this.deliveries) if (d.state === 'pending') d.state = 'failed';
    this.#pending = 0;
    this.#wakeIdle();
  }

  #plan(delivery: Delivery, attemptIndex: number): void {
    const delay = this.#schedule[attemptIndex];
    if (delay === undefined) {
      delivery.state = 'failed';
      this.#settled();
      return;
    }
    const timer = setTimeout(async () => {
      this.#timers.delete(timer);
      const attempt = await this.#attempt(delivery);
      if (attempt.status !== null && attempt.status >= 200 && attempt.status < 300) {
        delivery.state = 'delivered';
        this.#settled();
      } else if (delivery.state === 'pending') {
        this.#plan(delivery, attemptIndex + 1);
      }
    }, delay);
    this.#timers.add(timer);
  }

  async #attempt(delivery: Delivery): Promise<DeliveryAttempt> {
    const url = this.#url;
    const at = new Date();
    const record = (attempt: DeliveryAttempt) => {
      delivery.attempts.push(attempt);
      return attempt;
    };
    if (!url) return record({ at: at.toISOString(), status: null, error: 'no webhook URL configured' });
    const timestamp = Math.floor(at.getTime() / 1000);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
    this.#inFlight.add(controller);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'svix-id': delivery.id,
          'svix-timestamp': String(timestamp),
          'svix-signature': signWebhook(this.#secret, delivery.id, timestamp, delivery.body),
          'user-agent': 'Svix-Webhooks/1.0 (inflow-sandbox)',
        },
        body: delivery.body,
        signal: controller.signal,
      });
      await response.arrayBuffer().catch(() => undefined);
      return record({ at: at.toISOString(), status: response.status });
    } catch (error) {
      const reason = controller.signal.aborted ? `no answer within ${this.#timeoutMs} ms` : (error as Error).message;
      return record({ at: at.toISOString(), status: null, error: reason });
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(controller);
    }
  }

  #settled(): void {
    this.#pending = Math.max(0, this.#pending - 1);
    if (this.#pending === 0) this.#wakeIdle();
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
