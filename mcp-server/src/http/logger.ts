// Structured logs. Secrets never reach them: we do not log headers or bodies, and redaction
// catches the fields that could carry a token, a key or a sign-in link if someone logs one.
import type { DestinationStream, Logger } from 'pino';
import { serviceLogger } from '@pictor/platform/logging';
import type { Config } from '../config.ts';

export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'refresh_token',
  '*.refresh_token',
  'id_token',
  '*.id_token',
  'private_key',
  '*.private_key',
  'public_key',
  '*.public_key',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'link',
  '*.link',
  'magic_link',
  '*.magic_link',
  'url',
  '*.url',
];

export function createLogger(config: Pick<Config, 'logLevel' | 'nodeEnv'>, destination?: DestinationStream): Logger {
  return serviceLogger({ service: 'mcp-server', level: config.logLevel, redact: REDACT_PATHS, destination });
}
