// What both services' logs share: JSON lines on stdout, written asynchronously (lines logged while
// a write is in flight go out together in the next one, instead of one blocking write per line on
// every request; pino flushes what is left synchronously when the process exits), fields that could
// carry a secret censored by path, and an access line that skips that redaction pass.
import { pino, type DestinationStream, type Logger } from 'pino';

export interface ServiceLoggerOptions {
  service: string;
  level: string;
  /** pino redaction paths; a wildcard path (`*.token`) costs a pass over every field of every line. */
  redact: string[];
  /** Tests capture lines here; default stdout, asynchronously. */
  destination?: DestinationStream | undefined;
}

export function serviceLogger(o: ServiceLoggerOptions): Logger {
  return pino(
    {
      level: o.level,
      base: { service: o.service },
      redact: { paths: o.redact, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    o.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * For the one access line per request, whose fields are a fixed list that cannot carry a secret
 * (method, path without the query, status, time, ids): a child logger without the redaction paths.
 * With wildcard paths pino runs its redactor on every field of every line, which cost more than the
 * rest of the line.
 */
export function accessLogger(log: Logger): Logger {
  return log.child({}, { redact: [] });
}
