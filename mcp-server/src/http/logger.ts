// Structured logs. Secrets never reach them: we do not log headers or bodies, and redaction
// catches the fields that could carry a token, a key or a sign-in link if someone logs one.
import { pino, type Logger } from 'pino';
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

export function createLogger(config: Pick<Config, 'logLevel' | 'nodeEnv'>, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: { service: 'mcp-server' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
  };
  // stdout written asynchronously: lines logged while a write is in flight go out together in the
  // next one, instead of one blocking write per line on every request; pino flushes what is left
  // synchronously when the process exits.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}
