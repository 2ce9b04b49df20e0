// One logger for the service. Secrets never reach it: request lines carry the path without the
// query string (codes, magic-link tokens), and any field that could hold a credential is censored
// by name wherever it appears.
import pino, { type Logger } from 'pino';

const SECRET_FIELDS = [
  'token', 'access_token', 'refresh_token', 'id_token', 'code', 'code_verifier', 'client_secret',
  'registration_access_token', 'cookie', 'authorization', 'password', 'secret', 'link', 'url',
];

export function createLogger(level: string, base: Record<string, unknown> = { service: 'auth-server' }): Logger {
  return pino({
    level,
    base,
    redact: {
      paths: [
        ...SECRET_FIELDS,
        ...SECRET_FIELDS.map((f) => `*.${f}`),
        'req.headers.cookie',
        'req.headers.authorization',
        'res.headers["set-cookie"]',
      ],
      censor: '[redacted]',
    },
  });
}

export type { Logger };
