// The HTTP client for InFlow (Inflow Pay). Configuration is passed in (config.ts reads the
// environment). Network errors, timeouts, 429 and 5xx are retried with exponential backoff and
// then reported as UnavailableError; 4xx answers map to the domain error a person can act on.
// The API key goes only into the X-Inflow-Api-Key header: it is never logged or put in an error.
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConflictError, InvalidInputError, NotFoundError, UnavailableError } from '../errors.ts';

export const INFLOW_STATUSES = [
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
export type InflowStatus = (typeof INFLOW_STATUSES)[number];

export interface InflowClientOptions {
  /** Base URL, e.g. https://api.inflowpay.xyz (no /api suffix). */
  apiUrl: string;
  apiKey: string;
  /** Where InFlow sends the person after paying (our return page). */
  successUrl?: string;
  /** Per-attempt timeout in ms. Default 10000. */
  timeoutMs?: number;
  /** Extra attempts after the first on a retryable failure. Default 2. */
  retries?: number;
  /** First backoff in ms, doubled each retry, with jitter. Default 250. */
  backoffMs?: number;
  log?: Logger;
  /** For tests; default the global fetch. */
  fetch?: typeof fetch;
}

/** Per-call overrides, e.g. a webhook must answer within Svix's 15 s. */
export interface CallOptions {
  timeoutMs?: number;
  retries?: number;
}

export interface CreatePaymentRequest {
  products: Array<{ name: string; price: number; quantity: number }>;
  currency: 'USD' | 'EUR';
  customerEmail: string;
  successUrl?: string;
  metadatas?: Record<string, string>;
}

const createdSchema = z.object({ paymentId: z.string().min(1), purchaseUrl: z.url() });

/** The fields of InFlow's payment object Pictor relies on; the rest is ignored. */
const paymentSchema = z.object({
  id: z.string().min(1),
  status: z.string(),
  amountInCents: z.number().int().nonnegative(),
  currency: z.string(),
  metadatas: z.record(z.string(), z.unknown()).nullish(),
  timeline: z.array(z.object({ status: z.string(), timestamp: z.string() })).nullish(),
  /** Not in InFlow's documented payload (the sandbox sends it); used for partial refunds when present. */
  refundedAmountInCents: z.number().int().nonnegative().nullish(),
  updatedAt: z.string().nullish(),
});
export type InflowPayment = z.infer<typeof paymentSchema>;

const errorSchema = z.object({ message: z.union([z.string(), z.array(z.string())]).optional() }).loose();

/** A retryable failure: no answer, a timeout, 429 or 5xx. */
class Retryable extends Error {}

export class InflowClient {
  readonly successUrl: string | undefined;
  readonly #base: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #log: Logger | undefined;
  readonly #fetch: typeof fetch;

  constructor(options: InflowClientOptions) {
    if (!options.apiKey) throw new Error('InflowClient needs an API key');
    this.#base = new URL(options.apiUrl).toString().replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.successUrl = options.successUrl;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retries = options.retries ?? 2;
    this.#backoffMs = options.backoffMs ?? 250;
    this.#log = options.log;
    this.#fetch = options.fetch ?? fetch;
  }

  /**
   * Creates a hosted-checkout payment. A retry after a lost answer can leave an extra, never
   * shown and so never paid, payment at InFlow; no money can move through it.
   */
  async createPayment(request: CreatePaymentRequest, options: CallOptions = {}): Promise<{ paymentId: string; purchaseUrl: string }> {
    const body = await this.#request('POST', '/api/payment', request, options);
    return parse(createdSchema, body, 'create payment');
  }

  async getPayment(paymentId: string, options: CallOptions = {}): Promise<InflowPayment> {
    const body = await this.#request('GET', `/api/payment/${encodeURIComponent(paymentId)}`, undefined, options, paymentId);
    return parse(paymentSchema, body, 'get payment');
  }

  /** Hides the key from console.log / util.inspect of the client. */
  toJSON(): Record<string, unknown> {
    return { apiUrl: this.#base, successUrl: this.successUrl };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `InflowClient { apiUrl: '${this.#base}' }`;
  }

  async #request(method: 'GET' | 'POST', path: string, body: unknown, options: CallOptions, paymentId?: string): Promise<unknown> {
    const retries = options.retries ?? this.#retries;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    let lastReason = '';
    for (let attempt = 0; attempt <= retries; attempt += 1) {
      if (attempt > 0) await sleep(this.#backoff(attempt));
      try {
        return await this.#once(method, path, body, timeoutMs, paymentId);
      } catch (error) {
        if (!(error instanceof Retryable)) throw error;
        lastReason = error.message;
        this.#log?.warn({ method, path, attempt: attempt + 1, of: retries + 1, reason: lastReason }, 'inflow request failed');
      }
    }
    throw new UnavailableError(`InFlow, the payment network, could not be reached (${lastReason}). Nothing was changed; try again in a minute.`, {
      dependency: 'inflow',
    });
  }

  async #once(method: string, path: string, body: unknown, timeoutMs: number, paymentId?: string): Promise<unknown> {
    let response: Response;
    try {
      response = await this.#fetch(`${this.#base}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          'x-inflow-api-key': this.#apiKey,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } };
      throw new Retryable(e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message));
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new Retryable(`answer cut off: ${(error as Error).message}`);
    }
    if (response.status === 429 || response.status >= 500) throw new Retryable(`HTTP ${response.status}`);
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      if (response.ok) throw new Error(`InFlow answered ${method} ${path} with something that is not JSON`);
    }
    if (response.ok) return json;
    const parsed = errorSchema.safeParse(json);
    const raw = parsed.success ? parsed.data.message : undefined;
    const message = Array.isArray(raw) ? raw.join('; ') : (raw ?? `HTTP ${response.status}`);
    if (response.status === 404) throw new NotFoundError('InFlow payment', paymentId);
    if (response.status === 401 || response.status === 403) {
      this.#log?.error({ method, path, status: response.status }, 'inflow refused the API key');
      throw new UnavailableError(
        "InFlow refused Pictor's API credentials (a configuration problem on Pictor's side); top-ups are unavailable until it is fixed.",
        { dependency: 'inflow' },
      );
    }
    if (response.status === 409) throw new ConflictError(`InFlow: ${message}`);
    if (response.status === 400 || response.status === 422) throw new InvalidInputError('payment', `InFlow refused the request: ${message}`);
    throw new Error(`InFlow answered ${method} ${path} with HTTP ${response.status}: ${message}`);
  }

  #backoff(attempt: number): number {
    const base = this.#backoffMs * 2 ** (attempt - 1);
    return Math.round(base / 2 + Math.random() * (base / 2));
  }
}

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (!result.success)
    throw new Error(`InFlow's answer to ${what} has an unexpected shape: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return result.data;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The client for a loaded configuration (config.inflow); undefined when InFlow is not configured. */
export function inflowClientFromConfig(
  config: { apiUrl: string; apiKey: string; successUrl?: string } | null | undefined,
  log?: Logger,
): InflowClient | undefined {
  if (!config) return undefined;
  return new InflowClient({
    apiUrl: config.apiUrl,
    apiKey: config.apiKey,
    ...(config.successUrl ? { successUrl: config.successUrl } : {}),
    ...(log ? { log: log.child({ component: 'inflow' }) } : {}),
  });
}
