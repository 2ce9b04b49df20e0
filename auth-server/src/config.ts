// The authorization server's configuration: the only place that reads the environment. Parsed
// once at start; a bad value stops the process with a message naming the variable. Development
// defaults exist for every secret so `npm start` works out of the box, and each of them is
// refused when NODE_ENV=production.
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const DEV_COOKIE_KEY = 'dev-only-cookie-key-change-me-0123456789abcdef';
const DEV_KEY_ENCRYPTION_SECRET = 'dev-only-key-encryption-secret-change-me-0123456789';
const DEV_MAIL_FROM = 'Pictor <no-reply@pictor.localhost>';

const flag = (name: string) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { error: `${name} must be true or false` })
    .optional()
    .transform((v) => v !== undefined && ['true', '1', 'yes', 'on'].includes(v));

const httpUrl = (name: string) => z.url({ protocol: /^https?$/, error: `${name} must be an absolute http(s) URL` });

const int = (name: string, unit: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a number of ${unit}` })
    .int()
    .min(min, { error: `${name} must be at least ${min} ${unit}` })
    .max(max, { error: `${name} must be at most ${max} ${unit}` });

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { error: 'NODE_ENV must be development, production or test' }).default('development'),
  /** Issuer identifier: the public root URL of this server. Default http://localhost:4000. */
  AUTH_ISSUER: httpUrl('AUTH_ISSUER').default('http://localhost:4000'),
  /** TCP port. Default 4000. */
  AUTH_PORT: int('AUTH_PORT', 'port number', 0, 65535).default(4000),
  /** Interface to listen on. Default 127.0.0.1 (this machine only); the image sets 0.0.0.0. */
  AUTH_HOST: z.string().min(1).default('127.0.0.1'),
  /** Port of GET /metrics (Prometheus), on AUTH_HOST. Unset: no metrics listener. 0 picks a free port. */
  AUTH_METRICS_PORT: int('AUTH_METRICS_PORT', 'port number', 0, 65535).optional(),
  /** The MCP endpoint: the only resource (RFC 8707) and the `aud` of every access token. */
  MCP_URL: httpUrl('MCP_URL').default('http://localhost:3000/mcp'),
  DATABASE_URL: z
    .string({ error: 'DATABASE_URL is required (a postgres:// connection URL)' })
    .regex(/^postgres(ql)?:\/\//, { error: 'DATABASE_URL must be a postgres:// connection URL' }),
  /** smtp(s)://user:pass@host:port. Unset in development: mail goes to the dev outbox. */
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, { error: 'SMTP_URL must be an smtp:// or smtps:// URL' })
    .optional(),
  MAIL_FROM: z.string().min(3).optional(),
  /** Comma-separated keys signing cookies, newest first (older ones still verify). ≥ 32 characters each. */
  COOKIE_KEYS: z.string().optional(),
  /** Seals the private signing keys stored in the database. ≥ 32 characters. */
  KEY_ENCRYPTION_SECRET: z.string().optional(),
  /** Access token lifetime in seconds. Default 3600, at most 3600. */
  ACCESS_TOKEN_TTL: int('ACCESS_TOKEN_TTL', 'seconds', 60, 3600).default(3600),
  /** Refresh token lifetime in weeks, renewed on each rotation. Default 4. */
  REFRESH_TOKEN_TTL_WEEKS: int('REFRESH_TOKEN_TTL_WEEKS', 'weeks', 1, 52).default(4),
  /** How long one consent (a grant) lasts in weeks; after it the person connects again. Default 26. */
  GRANT_TTL_WEEKS: int('GRANT_TTL_WEEKS', 'weeks', 1, 104).default(26),
  /** Sign-in session lifetime in days: within it, connecting another app skips the email. Default 14. */
  SESSION_TTL_DAYS: int('SESSION_TTL_DAYS', 'days', 1, 90).default(14),
  /** Days after which a new signing key is prepared. Default 90. */
  SIGNING_KEY_ROTATION_DAYS: int('SIGNING_KEY_ROTATION_DAYS', 'days', 1, 3650).default(90),
  /** Trust X-Forwarded-* from a TLS-terminating reverse proxy. Required when AUTH_ISSUER is https. */
  TRUST_PROXY: flag('TRUST_PROXY'),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
});

export interface RateLimit {
  /** Requests allowed per window. */
  limit: number;
  windowSeconds: number;
}

export interface AuthConfig {
  nodeEnv: 'development' | 'production' | 'test';
  /** Root URL, no trailing slash. */
  issuer: string;
  port: number;
  host: string;
  /** Where GET /metrics listens; undefined: nowhere. */
  metricsPort: number | undefined;
  /** Canonical resource URL, exactly as configured (the MCP server uses the same string). */
  mcpUrl: string;
  databaseUrl: string;
  /** Unset: the dev outbox (never in production). */
  smtpUrl: string | undefined;
  mailFrom: string;
  cookieKeys: string[];
  keyEncryptionSecret: string;
  trustProxy: boolean;
  logLevel: (typeof LOG_LEVELS)[number];
  ttl: {
    /** Seconds, ≤ 3600. */
    accessToken: number;
    /** Seconds. */
    refreshToken: number;
    /** Seconds. */
    grant: number;
    /** Seconds. */
    session: number;
    /** Seconds a sign-in (interaction) may take. */
    interaction: number;
    /** Seconds a magic link stays valid. */
    magicLink: number;
    /** Seconds a rotated refresh token may still be presented (parallel refreshes race). */
    refreshReuseGrace: number;
    /** Seconds after which a registered client that never got a token is purged. */
    unusedClient: number;
  };
  keys: {
    /** Seconds after which the signing key is replaced. */
    rotateAfter: number;
    /** Seconds a new key is published before it signs (longer than any JWKS cache). */
    publishLead: number;
  };
  limits: {
    magicLinkPerEmail: RateLimit;
    magicLinkPerIp: RateLimit;
    /** POSTs of a link's confirm page (each typed code is one), per IP and per link. */
    linkConfirmPerIp: RateLimit;
    linkConfirmPerLink: RateLimit;
    registrationPerIp: RateLimit;
    metadataFetchPerIp: RateLimit;
  };
  /** Seconds between housekeeping passes (expired rows, unused clients, key rotation). */
  maintenanceInterval: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const DAY = 86_400;

/** Parses an environment (process.env in production, a plain object in tests). Throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AuthConfig {
  // Empty strings mean "unset": `FOO= npm start` takes the default instead of failing.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) fail(parsed.error.issues.map((issue) => issue.message));
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const problems: string[] = [];

  const issuer = new URL(e.AUTH_ISSUER);
  if (issuer.pathname !== '/' || issuer.search || issuer.hash) {
    problems.push('AUTH_ISSUER must be a root URL such as https://auth.example.com (no path, query or fragment)');
  }
  const mcpUrl = new URL(e.MCP_URL);
  if (mcpUrl.search || mcpUrl.hash) problems.push('MCP_URL must not have a query or fragment');
  if (issuer.protocol === 'https:' && !e.TRUST_PROXY) {
    // This process speaks plain HTTP; with an https issuer its cookies are Secure, so it must
    // learn from the proxy (X-Forwarded-Proto) that the browser's connection is encrypted.
    problems.push('AUTH_ISSUER is https: set TRUST_PROXY=true and run behind a TLS-terminating proxy');
  }

  const cookieKeys = (e.COOKIE_KEYS ?? DEV_COOKIE_KEY)
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (cookieKeys.some((k) => k.length < 32)) problems.push('COOKIE_KEYS: each key must be at least 32 characters');
  const keyEncryptionSecret = e.KEY_ENCRYPTION_SECRET ?? DEV_KEY_ENCRYPTION_SECRET;
  if (keyEncryptionSecret.length < 32) problems.push('KEY_ENCRYPTION_SECRET must be at least 32 characters');
  if (e.GRANT_TTL_WEEKS < e.REFRESH_TOKEN_TTL_WEEKS) {
    problems.push('GRANT_TTL_WEEKS must be at least REFRESH_TOKEN_TTL_WEEKS (a refresh token cannot outlive its grant)');
  }

  if (production) {
    if (cookieKeys.includes(DEV_COOKIE_KEY)) problems.push('COOKIE_KEYS must be set in production (the development key is public)');
    if (keyEncryptionSecret === DEV_KEY_ENCRYPTION_SECRET) {
      problems.push('KEY_ENCRYPTION_SECRET must be set in production (the development secret is public)');
    }
    if (!e.SMTP_URL) problems.push('SMTP_URL must be set in production (the dev outbox prints sign-in links)');
    if (!e.MAIL_FROM) problems.push('MAIL_FROM must be set in production');
    if (issuer.protocol !== 'https:') problems.push('AUTH_ISSUER must be https in production');
  }
  if (problems.length > 0) fail(problems);

  return {
    nodeEnv: e.NODE_ENV,
    issuer: issuer.origin,
    port: e.AUTH_PORT,
    host: e.AUTH_HOST,
    metricsPort: e.AUTH_METRICS_PORT,
    mcpUrl: e.MCP_URL,
    databaseUrl: e.DATABASE_URL,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM ?? DEV_MAIL_FROM,
    cookieKeys,
    keyEncryptionSecret,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    ttl: {
      accessToken: e.ACCESS_TOKEN_TTL,
      refreshToken: e.REFRESH_TOKEN_TTL_WEEKS * 7 * DAY,
      grant: e.GRANT_TTL_WEEKS * 7 * DAY,
      session: e.SESSION_TTL_DAYS * DAY,
      interaction: 60 * 60,
      magicLink: 15 * 60,
      refreshReuseGrace: 5,
      unusedClient: 7 * DAY,
    },
    keys: { rotateAfter: e.SIGNING_KEY_ROTATION_DAYS * DAY, publishLead: DAY },
    limits: {
      magicLinkPerEmail: { limit: 5, windowSeconds: 15 * 60 },
      magicLinkPerIp: { limit: 30, windowSeconds: 15 * 60 },
      linkConfirmPerIp: { limit: 60, windowSeconds: 15 * 60 },
      linkConfirmPerLink: { limit: 10, windowSeconds: 15 * 60 },
      registrationPerIp: { limit: 30, windowSeconds: 60 * 60 },
      metadataFetchPerIp: { limit: 60, windowSeconds: 60 * 60 },
    },
    maintenanceInterval: 10 * 60,
  };
}

function fail(problems: string[]): never {
  const lines = [...new Set(problems)].map((p) => `  - ${p}`);
  throw new ConfigError(`Invalid authorization server configuration:\n${lines.join('\n')}`);
}
