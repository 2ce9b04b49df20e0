// HTTP helpers for this server's own pages (oidc-provider handles its endpoints itself).
import type { Context } from 'koa';

/** An error with a page: `code` selects the text of views/errors.ts; never an internal message. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly description: string | undefined;
  constructor(status: number, code: string, description?: string) {
    super(code);
    this.status = status;
    this.code = code;
    this.description = description;
  }
}

const FORM_LIMIT = 16 * 1024;

/** Parses an application/x-www-form-urlencoded body (the only kind our forms send). */
export async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw new HttpError(415, 'invalid_request', 'expected a form submission');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > FORM_LIMIT) throw new HttpError(413, 'invalid_request', 'form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function sendHtml(ctx: Context, body: string, status = 200): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = body;
}

/** 303 so the browser follows with GET after a form POST (RFC 9110 §15.4.4). */
export function seeOther(ctx: Context, location: string): void {
  ctx.status = 303;
  ctx.redirect(location);
}
