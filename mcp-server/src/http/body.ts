// Reads a JSON request body with a hard size limit, without trusting Content-Length alone.
import type { IncomingMessage } from 'node:http';

export type BodyResult = { ok: true; value: unknown } | { ok: false; reason: 'too_large' | 'invalid_json' | 'aborted' };

export const MAX_BODY_BYTES = 1024 * 1024;

export function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve({ ok: false, reason: 'too_large' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: BodyResult) => {
      if (done) return;
      done = true;
      chunks.length = 0;
      resolve(result);
    };
    // Past the limit we keep draining (and dropping) so the 413 can be written on a healthy socket.
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) return finish({ ok: false, reason: 'too_large' });
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
      try {
        finish({ ok: true, value: JSON.parse(text) });
      } catch {
        finish({ ok: false, reason: 'invalid_json' });
      }
    });
    req.on('error', () => finish({ ok: false, reason: 'aborted' }));
    req.on('close', () => finish({ ok: false, reason: 'aborted' }));
  });
}
