// One logger for the service. Secrets never reach it: request lines carry the path without the
// query string (codes, magic-link tokens), and any field that could hold a credential is censored
// by name wherever it appears.
import type { DestinationStream, Logger } from 'pino';
import { serviceLogger } from '@pictor/platform/logging';

const SECRET_FIELDS = [
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'code_verifier',
  'client_secret',
  'registration_access_token',
  'cookie',
  'authorization',
  'password',
  'secret',
  'link',
  'url',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return serviceLogger({
    service: 'auth-server',
    level,
    redact: [
      'code', // an authorization code; not '*.code', which is how errors name their kind
      ...SECRET_FIELDS,
      ...SECRET_FIELDS.map((f) => `*.${f}`),
      'req.headers.cookie',
      'req.headers.authorization',
      'res.headers["set-cookie"]',
    ],
    destination,
  });
}

export type { Logger };
