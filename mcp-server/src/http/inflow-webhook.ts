// Koa routes for InFlow: POST /webhooks/inflow (signed Svix deliveries; a thin wrapper around
// handleInflowWebhook) and GET /inflow/return, the page InFlow sends the person back to after
// paying. Mount before anything that would consume the request body: the signature covers the
// raw bytes.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { webhookKey } from '../pictor/inflow/signature.ts';
import { handleInflowWebhook } from '../pictor/inflow/webhook.ts';
import type { Services } from '../tools/define.ts';

export const INFLOW_WEBHOOK_PATH = '/webhooks/inflow';
export const INFLOW_RETURN_PATH = '/inflow/return';

/** What a delivery came to, as the word the answer's body carries (see pictor/inflow/webhook.ts); a metrics label. */
export const WEBHOOK_OUTCOMES = [
  'processed',
  'duplicate',
  'invalid_signature',
  'stale_timestamp',
  'invalid_headers',
  'invalid_body',
  'inflow_unavailable',
  'webhooks_not_configured',
  'body_too_large',
  'error',
] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/** Svix payloads are small; anything larger is not a delivery. */
const MAX_WEBHOOK_BYTES = 256 * 1024;

/**
 * `services` is read on each request (services.inflow may be set after the app is built);
 * without services.inflow or a webhook secret, deliveries get 503 and Svix retries later, while
 * verify and the sync job carry the payments.
 */
export function inflowRoutes(
  services: Pick<Services, 'db' | 'clock' | 'log' | 'inflow'>,
  webhookSecret: string | undefined,
  /** Told what each delivery came to (metrics). */
  onOutcome?: (outcome: WebhookOutcome) => void,
) {
  if (webhookSecret) webhookKey(webhookSecret); // a bad secret fails at boot, not per delivery
  const router = new Router();

  const deliver = async (ctx: Context): Promise<WebhookOutcome> => {
    const inflow = services.inflow;
    if (!inflow || !webhookSecret) {
      ctx.status = 503;
      ctx.body = { error: 'webhooks_not_configured' };
      return 'webhooks_not_configured';
    }
    const rawBody = await readRaw(ctx, MAX_WEBHOOK_BYTES);
    if (rawBody === null) {
      ctx.status = 413;
      ctx.body = { error: 'body_too_large' };
      return 'body_too_large';
    }
    const log = (ctx.state as { log?: Logger }).log ?? services.log;
    const result = await handleInflowWebhook({ rawBody, headers: ctx.headers }, { db: services.db, clock: services.clock, inflow, webhookSecret, log });
    ctx.status = result.status;
    ctx.body = result.body;
    const error = result.body.error;
    if (typeof error === 'string') return (WEBHOOK_OUTCOMES as readonly string[]).includes(error) ? (error as WebhookOutcome) : 'error';
    return result.body.duplicate === true ? 'duplicate' : 'processed';
  };
  router.post(INFLOW_WEBHOOK_PATH, async (ctx) => {
    let outcome: WebhookOutcome = 'error';
    try {
      outcome = await deliver(ctx);
    } finally {
      onOutcome?.(outcome);
    }
  });

  router.get(INFLOW_RETURN_PATH, (ctx) => {
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = RETURN_PAGE;
  });

  return router.routes();
}

async function readRaw(ctx: Context, limit: number): Promise<Buffer | null> {
  const declared = Number(ctx.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

const RETURN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Payment sent · Pictor</title>
<style>
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #14171f; background: #f4f6fa; }
  main { max-width: 440px; margin: 64px auto; background: #fff; border: 1px solid #e3e6ec; border-radius: 12px; padding: 28px; }
  h1 { font-size: 20px; margin: 0 0 8px; }
  p { color: #5b6270; }
</style></head>
<body><main>
  <h1>Thanks, your payment was sent</h1>
  <p>You can close this tab and go back to Claude. Ask it to verify your top-up: your Pictor credit is added as soon as the payment has settled.</p>
</main></body></html>`;
