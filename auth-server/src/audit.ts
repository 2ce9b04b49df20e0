// Audit trail of security-relevant events. Holds who, which app and what happened, never a
// token, link or code.
import type { Db } from '@pictor/platform/db';
import type { Logger } from './log.ts';

export type AuditType =
  | 'signin.link_sent'
  | 'signin.link_failed'
  | 'signin.confirmed'
  | 'signin.code_wrong'
  | 'signin.completed'
  | 'consent.granted'
  | 'consent.denied'
  | 'client.registered'
  | 'client.purged'
  | 'app.revoked'
  | 'app.limits_changed'
  | 'key.created';

export interface AuditEvent {
  type: AuditType;
  userId?: string | null;
  clientId?: string | null;
  ip?: string | null;
  detail?: Record<string, unknown>;
}

export interface Audit {
  record(event: AuditEvent): Promise<void>;
}

/**
 * An audit write failing must not fail the person's request: it is logged instead. Every event is
 * also counted here (`counted`, the metrics), the one place sign-ins, consents and revocations pass.
 */
export function createAudit(db: Db, log: Logger, counted?: (type: AuditType) => void): Audit {
  return {
    async record(event) {
      counted?.(event.type);
      try {
        await db
          .insertInto('auth_audit_events')
          .values({
            type: event.type,
            user_id: event.userId ?? null,
            client_id: event.clientId ?? null,
            ip: event.ip ?? null,
            detail: JSON.stringify(event.detail ?? {}),
          })
          .execute();
      } catch (error) {
        log.error({ err: error, audit: event.type }, 'audit event not recorded');
      }
    },
  };
}
