// The MCP server's configuration: the only place that reads the environment. Parsed once at
// start; a bad value stops the process with a message naming the variable and what it expects.
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const flag = (name: string, fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], {
      error: `${name} must be true or false`,
    })
    .optional()
    .transform((v) => (v === undefined ? fallback : ['true', '1', 'yes', 'on'].includes(v)));

const httpUrl = (name: string) => z.url({ protocol: /^https?$/, error: `${name} must be an absolute http(s) URL` });

/**
 * The webhook secret `npm start` and the compose dev profile give the InFlow sandbox. It is in
 * this repository, so anyone could sign a webhook with it: refused in production.
 */
/** Seals instance environment values and startup scripts outside production. Public: refused in production. */
export const DEV_INSTANCE_SECRETS_KEY = 'dev-only-instance-secrets-key-change-me-0123456789';
/** Where exposed instance ports are published outside production (nothing answers there). */
export const DEV_INSTANCE_PROXY_DOMAIN = 'proxy.pictor.localhost';

export const DEV_INFLOW_WEBHOOK_SECRET = 'whsec_ZGV2LW9ubHktaW5mbG93LXNhbmRib3gtc2VjcmV0';

/**
 * The key `npm start` and the tests sign confirmation states with (tools/confirmation-state.ts).
 * It is in this repository, so anyone could forge a confirmation with it: refused in production.
 */
export const DEV_CONFIRMATION_SECRET = 'dev-only-confirmation-secret-change-me-0123456789';

/** How confirmations are asked for and protected (issue 11 §2; tools/confirm.ts). */
export interface ConfirmationSettings {
  /** HMAC-SHA256 keys, newest first: the first signs, every one verifies (rotation). */
  secrets: readonly string[];
  /** How long a confirmation form stays valid, in minutes. */
  ttlMinutes: number;
  /** Refuse spending and destructive calls from clients that cannot show a confirmation form. */
  required: boolean;
}

/** What `npm start` and tests that build services by hand use. */
export const DEV_CONFIRMATION: ConfirmationSettings = { secrets: [DEV_CONFIRMATION_SECRET], ttlMinutes: 10, required: false };

const envSchema = z.object({
  /** Postgres connection URL. Required; `npm start` provides a local one when unset. */
  DATABASE_URL: z
    .string({ error: 'DATABASE_URL is required (a postgres:// connection URL)' })
    .regex(/^postgres(ql)?:\/\//, { error: 'DATABASE_URL must be a postgres:// connection URL' }),
  /** TCP port to listen on. Default 3000. */
  MCP_PORT: z.coerce.number({ error: 'MCP_PORT must be a port number' }).int().min(0).max(65535).default(3000),
  /** Interface to listen on. Default 127.0.0.1 (this machine only); the image sets 0.0.0.0. */
  MCP_HOST: z.string().min(1).default('127.0.0.1'),
  /** Port of GET /metrics (Prometheus), on MCP_HOST. Unset: no metrics listener. 0 picks a free port. */
  MCP_METRICS_PORT: z.coerce.number({ error: 'MCP_METRICS_PORT must be a port number' }).int().min(0).max(65535).optional(),
  /** The public, canonical resource URL of the MCP endpoint: token audience and metadata `resource`. */
  MCP_URL: httpUrl('MCP_URL').default('http://localhost:3000/mcp'),
  /** The authorization server's issuer identifier; tokens must carry exactly this `iss`. */
  AUTH_ISSUER: httpUrl('AUTH_ISSUER').default('http://localhost:4000'),
  /** Where the issuer's signing keys are published. Default `${AUTH_ISSUER}/jwks`. */
  AUTH_JWKS_URL: httpUrl('AUTH_JWKS_URL').optional(),
  /**
   * Longest access token lifetime (exp - iat) accepted, in seconds; 30 s of clock skew is added.
   * Default 3600, the authorization server's ACCESS_TOKEN_TTL ceiling. Also how long a
   * revocation is remembered.
   */
  ACCESS_TOKEN_MAX_TTL: z.coerce
    .number({ error: 'ACCESS_TOKEN_MAX_TTL must be a number of seconds' })
    .int()
    .min(60, { error: 'ACCESS_TOKEN_MAX_TTL must be at least 60 seconds' })
    .max(86_400, { error: 'ACCESS_TOKEN_MAX_TTL must be at most 86400 seconds' })
    .default(3600),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  NODE_ENV: z
    .enum(['development', 'production', 'test'], {
      error: 'NODE_ENV must be development, production or test',
    })
    .default('development'),
  /** Trust X-Forwarded-* from a reverse proxy (only behind one). Default false. */
  TRUST_PROXY: flag('TRUST_PROXY', false),
  /** Run the lifecycle worker in this process. Default true; safe on every replica. */
  WORKER_ENABLED: flag('WORKER_ENABLED', true),
  /** Milliseconds between lifecycle worker passes. Default 1000. */
  WORKER_INTERVAL_MS: z.coerce.number({ error: 'WORKER_INTERVAL_MS must be a number of milliseconds' }).int().min(50).max(3_600_000).default(1000),
  /**
   * Secrets sealing instance environment values and startup scripts (AES-256-GCM), comma-separated,
   * newest first, each ≥ 32 characters: the first seals, every one opens what it sealed. Default: a
   * public development secret, refused in production.
   */
  INSTANCE_SECRETS_KEYS: z.string().optional(),
  /**
   * DNS domain of the proxy publishing instances' HTTP ports: port P of instance I is
   * https://I-P.<domain>. Default proxy.pictor.localhost (development; refused in production).
   */
  INSTANCE_PROXY_DOMAIN: z
    .string()
    .regex(/^(?=.{4,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i, {
      error: 'INSTANCE_PROXY_DOMAIN must be a DNS domain such as proxy.example.com',
    })
    .optional(),
  /** Hours a paused instance's disk is kept before the worker deletes it. Default 72. */
  PAUSED_RETENTION_HOURS: z.coerce
    .number({ error: 'PAUSED_RETENTION_HOURS must be a whole number of hours' })
    .int({ error: 'PAUSED_RETENTION_HOURS must be a whole number of hours' })
    .min(1, { error: 'PAUSED_RETENTION_HOURS must be at least 1 hour' })
    .max(8760, { error: 'PAUSED_RETENTION_HOURS must be at most 8760 hours (a year)' })
    .default(72),
  // inflow: top-ups. Unset INFLOW_API_URL turns the InFlow tools off (`npm start` runs the sandbox).
  /** InFlow API base URL, e.g. https://api.inflowpay.xyz. */
  INFLOW_API_URL: httpUrl('INFLOW_API_URL').optional(),
  /** InFlow private API key (X-Inflow-Api-Key). Required with INFLOW_API_URL. Never logged. */
  INFLOW_API_KEY: z.string().min(1).optional(),
  /** Svix signing secret of the InFlow webhook, `whsec_<base64>`. Without it webhooks are refused and sync carries payments. */
  INFLOW_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{22,}={0,2}$/, {
      error: 'INFLOW_WEBHOOK_SECRET must be the whsec_… secret from the InFlow webhook settings',
    })
    .optional(),
  /** Where InFlow sends the person after paying. Default: this server's /inflow/return page. */
  INFLOW_SUCCESS_URL: httpUrl('INFLOW_SUCCESS_URL').optional(),
  /** Comma-separated keys signing confirmation states, newest first (older ones still verify). ≥ 32 characters each. */
  CONFIRMATION_SECRETS: z.string().optional(),
  /** Minutes a confirmation form stays valid. Default 10. */
  CONFIRMATION_TTL_MINUTES: z.coerce
    .number({ error: 'CONFIRMATION_TTL_MINUTES must be a number of minutes' })
    .int({ error: 'CONFIRMATION_TTL_MINUTES must be a whole number of minutes' })
    .min(1, { error: 'CONFIRMATION_TTL_MINUTES must be at least 1 minute' })
    .max(60, { error: 'CONFIRMATION_TTL_MINUTES must be at most 60 minutes' })
    .default(10),
  /** Refuse spending and destructive calls from clients that cannot ask the person to confirm. Default false. */
  REQUIRE_CONFIRMATION: flag('REQUIRE_CONFIRMATION', false),
});

export interface Config {
  databaseUrl: string;
  port: number;
  host: string;
  /** Where GET /metrics listens; undefined: nowhere. */
  metricsPort: number | undefined;
  /** Canonical MCP resource URL (no trailing slash added or removed: used exactly as configured). */
  mcpUrl: string;
  authIssuer: string;
  authJwksUrl: string;
  /** Seconds: the longest access token lifetime accepted (before skew). */
  accessTokenMaxTtl: number;
  logLevel: (typeof LOG_LEVELS)[number];
  nodeEnv: 'development' | 'production' | 'test';
  trustProxy: boolean;
  /** pausedRetentionHours: how long a paused instance's disk is kept before it is deleted. */
  worker: { enabled: boolean; intervalMs: number; pausedRetentionHours: number };
  /** What instances are launched with: the secrets sealing their environment and script, where ports are published. */
  instances: { secretsKeys: string[]; proxyDomain: string };
  /** InFlow top-ups; null when INFLOW_API_URL is unset. */
  inflow: { apiUrl: string; apiKey: string; webhookSecret: string | undefined; successUrl: string } | null;
  confirmation: ConfirmationSettings;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses an environment (process.env in production, a plain object in tests). Throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset": `FOO= npm start` should take the default, not fail.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  - ${issue.message}`);
    throw new ConfigError(`Invalid MCP server configuration:\n${[...new Set(lines)].join('\n')}`);
  }
  const e = parsed.data;
  const mcpUrl = new URL(e.MCP_URL);
  if (mcpUrl.search || mcpUrl.hash) throw new ConfigError('Invalid MCP server configuration:\n  - MCP_URL must not have a query or fragment');
  if (e.INFLOW_API_URL !== undefined && e.INFLOW_API_KEY === undefined) {
    throw new ConfigError('Invalid MCP server configuration:\n  - INFLOW_API_KEY is required when INFLOW_API_URL is set');
  }
  const secrets = (e.CONFIRMATION_SECRETS ?? DEV_CONFIRMATION_SECRET)
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (secrets.length === 0 || secrets.some((k) => k.length < 32)) {
    throw new ConfigError('Invalid MCP server configuration:\n  - CONFIRMATION_SECRETS: each key must be at least 32 characters');
  }
  const secretsKeys = (e.INSTANCE_SECRETS_KEYS ?? DEV_INSTANCE_SECRETS_KEY).split(',').map((k) => k.trim());
  if (secretsKeys.some((k) => k.length < 32)) {
    throw new ConfigError('Invalid MCP server configuration:\n  - INSTANCE_SECRETS_KEYS must be comma-separated secrets of at least 32 characters each');
  }
  if (e.NODE_ENV === 'production') {
    // The development defaults point at localhost over http: never what a deployment means.
    const problems = [
      cleaned.MCP_URL === undefined && 'MCP_URL must be set in production (the public https URL of /mcp)',
      cleaned.AUTH_ISSUER === undefined && 'AUTH_ISSUER must be set in production',
      mcpUrl.protocol !== 'https:' && 'MCP_URL must be https in production',
      !e.AUTH_ISSUER.startsWith('https:') && 'AUTH_ISSUER must be https in production',
      e.INFLOW_API_URL !== undefined && e.INFLOW_WEBHOOK_SECRET === undefined && 'INFLOW_WEBHOOK_SECRET must be set in production when InFlow is configured',
      // the sandbox speaks http on a private network; real InFlow is https
      e.INFLOW_API_URL !== undefined && !e.INFLOW_API_URL.startsWith('https:') && 'INFLOW_API_URL must be https in production',
      secretsKeys.includes(DEV_INSTANCE_SECRETS_KEY) && 'INSTANCE_SECRETS_KEYS must be set in production (the development secret is public)',
      e.INSTANCE_PROXY_DOMAIN === undefined && 'INSTANCE_PROXY_DOMAIN must be set in production (the domain publishing instance ports)',
      e.INFLOW_WEBHOOK_SECRET === DEV_INFLOW_WEBHOOK_SECRET && 'INFLOW_WEBHOOK_SECRET must be set in production (the development secret is public)',
      secrets.includes(DEV_CONFIRMATION_SECRET) && 'CONFIRMATION_SECRETS must be set in production (the development secret is public)',
    ].filter((p): p is string => typeof p === 'string');
    if (problems.length > 0) throw new ConfigError(`Invalid MCP server configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  const issuer = e.AUTH_ISSUER.replace(/\/+$/, '');
  return {
    databaseUrl: e.DATABASE_URL,
    port: e.MCP_PORT,
    host: e.MCP_HOST,
    metricsPort: e.MCP_METRICS_PORT,
    mcpUrl: e.MCP_URL,
    authIssuer: e.AUTH_ISSUER,
    authJwksUrl: e.AUTH_JWKS_URL ?? `${issuer}/jwks`,
    accessTokenMaxTtl: e.ACCESS_TOKEN_MAX_TTL,
    logLevel: e.LOG_LEVEL,
    nodeEnv: e.NODE_ENV,
    trustProxy: e.TRUST_PROXY,
    worker: { enabled: e.WORKER_ENABLED, intervalMs: e.WORKER_INTERVAL_MS, pausedRetentionHours: e.PAUSED_RETENTION_HOURS },
    instances: { secretsKeys, proxyDomain: (e.INSTANCE_PROXY_DOMAIN ?? DEV_INSTANCE_PROXY_DOMAIN).toLowerCase() },
    inflow:
      e.INFLOW_API_URL === undefined
        ? null
        : {
            apiUrl: e.INFLOW_API_URL,
            apiKey: e.INFLOW_API_KEY!,
            webhookSecret: e.INFLOW_WEBHOOK_SECRET,
            successUrl: e.INFLOW_SUCCESS_URL ?? new URL('/inflow/return', mcpUrl).toString(),
          },
    confirmation: { secrets, ttlMinutes: e.CONFIRMATION_TTL_MINUTES, required: e.REQUIRE_CONFIRMATION },
  };
}
