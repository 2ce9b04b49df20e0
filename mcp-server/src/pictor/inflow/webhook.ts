// InFlow's webhook, framework-neutral: raw body and headers in, status and JSON body out.
// The delivery only says "look at payment X": its signature proves it came from InFlow, then the
// payment is fetched from InFlow's API and applied through the same path as verify and sync.
// Fetching (rather than trusting the payload) means a leaked webhook secret cannot mint credit.
//
// Answers: 2xx tells Svix to stop. 400/401 for unsigned, stale or forged deliveries (never
// processed). 503 when InFlow's API cannot be reached, so Svix retries later (the sync job is
// the backstop). A delivery id already processed is acknowledged with 200 and not applied again.
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Db } from '@pictor/platform/db';
import type { Clock } from '@pictor/platform/clock';
import { UnavailableError } from '../errors.ts';
import type { InflowClient } from './client.ts';
import { applyPaymentSnapshot } from './settle.ts';
import { verifyWebhookSignature, webhookKey } from './signature.ts';

export interface WebhookDeps {
  db: Db;
  inflow: InflowClient;
  /** `whsec_…` secret shared with InFlow's webhook settings. */
  webhookSecret: string;
  clock: Clock;
  log?: Logger;
}

export interface WebhookRequest {
  /** The body exactly as received. */
  rawBody: Buffer | string;
  headers: Record<string, string | string[] | undefined>;
}

export interface WebhookResponse {
  status: number;
  body: Record<string, unknown>;
}

const deliverySchema = z.object({
  data: z
    .array(
      z.object({
        eventType: z.string(),
        payload: z.object({ id: z.string().min(1) }).loose(),
      }),
    )
    .min(1),
});

/** Svix expects an answer within 15 s; InFlow is asked with a budget well inside it. */
const FETCH_BUDGET = { timeoutMs: 4_000, retries: 1 };

export async function handleInflowWebhook(request: WebhookRequest, deps: WebhookDeps): Promise<WebhookResponse> {
  const header = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const check = verifyWebhookSignature(
    {
      id: header('svix-id'),
      timestamp: header('svix-timestamp'),
      signature: header('svix-signature'),
      rawBody: request.rawBody,
    },
    webhookKey(deps.webhookSecret),
    deps.clock.now(),
  );
  if (!check.ok) {
    deps.log?.warn({ reason: check.reason, svixId: header('svix-id')?.slice(0, 64) }, 'inflow webhook refused');
    return check.reason === 'bad_signature'
      ? { status: 401, body: { error: 'invalid_signature' } }
      : { status: 400, body: { error: check.reason === 'stale' ? 'stale_timestamp' : 'invalid_headers' } };
  }

  const seen = await deps.db.selectFrom('inflow_webhook_deliveries').select('svix_id').where('svix_id', '=', check.id).executeTakeFirst();
  if (seen) return { status: 200, body: { ok: true, duplicate: true } };

  let parsed: z.infer<typeof deliverySchema>;
  try {
    parsed = deliverySchema.parse(JSON.parse(Buffer.from(request.rawBody).toString('utf8')));
  } catch {
    deps.log?.error({ svixId: check.id }, 'inflow webhook with a valid signature but an unreadable body');
    return { status: 400, body: { error: 'invalid_body' } };
  }

  const paymentIds = [...new Set(parsed.data.map((event) => event.payload.id))];
  let applied = 0;
  for (const paymentId of paymentIds) {
    const row = await deps.db.selectFrom('inflow_transactions').select('id').where('payment_id', '=', paymentId).executeTakeFirst();
    if (!row) continue; // not a Pictor checkout (another integration on the same InFlow account)
    try {
      const payment = await deps.inflow.getPayment(paymentId, FETCH_BUDGET);
      await applyPaymentSnapshot(deps.db, row.id, payment, deps.clock.now(), deps.log);
      applied += 1;
    } catch (error) {
      if (!(error instanceof UnavailableError)) throw error;
      deps.log?.warn({ svixId: check.id, paymentId }, 'inflow webhook: InFlow unreachable, asking Svix to retry');
      return { status: 503, body: { error: 'inflow_unavailable', retry: true } };
    }
  }

  await deps.db
    .insertInto('inflow_webhook_deliveries')
    .values({
      svix_id: check.id,
      event_types: parsed.data.map((event) => event.eventType),
      payment_ids: paymentIds,
      received_at: deps.clock.now(),
    })
    .onConflict((oc) => oc.column('svix_id').doNothing())
    .execute();
  return { status: 200, body: { ok: true, applied } };
}
