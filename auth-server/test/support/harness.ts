// The authorization server for tests: a fresh migrated database, a real SMTP sink, the server
// on a loopback port with its issuer set to that port, and helpers that drive a browser through
// sign-in and consent over real HTTP.
import type { TestContext } from 'node:test';
import { createHash, randomBytes } from 'node:crypto';
import { freePort } from '@pictor/platform/local-postgres';
import { createTestDatabase } from '@pictor/platform/testing';
import type { Db } from '@pictor/platform/db';
import type { Clock } from '@pictor/platform/clock';
import { loadConfig, type AuthConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startAuthServer, type AuthServer } from '../../src/server.ts';
import { Browser, csrf, field, formAction, type Page } from './browser.ts';
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts';

/**
 * A rate-limit window for tests that count hits: limits use fixed windows aligned to the epoch, so a
 * 15-minute one can reset in the middle of a test run; no test run straddles the edge of this one.
 */
export const TEST_WINDOW_SECONDS = 10 * 365 * 86_400;

export interface Harness {
  issuer: string;
  config: AuthConfig;
  server: AuthServer;
  db: Db;
  sink: SmtpSink;
  /** A new browser; `headers` go with each of its requests. */
  browser(headers?: Record<string, string>): Browser;
  /** Registers a client by DCR; returns the registration response. */
  register(metadata?: Record<string, unknown>): Promise<Registered>;
}

export interface Registered {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  registration_client_uri?: string;
  registration_access_token?: string;
  [key: string]: unknown;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** Adjusts the parsed config (limits, TTLs) before the server starts. */
  tweak?: (config: AuthConfig) => void;
  clock?: Clock;
  /** Receives every log line of the server (at debug level). */
  logs?: { write(line: string): void };
  /** An MCP URL other than the default loopback one. */
  mcpUrl?: string;
  /** The port to listen on (to name an issuer in `env` before the start); default a free one. */
  port?: number;
}

export async function startHarness(t: TestContext, options: HarnessOptions = {}): Promise<Harness> {
  const database = await createTestDatabase();
  const sink = await startSmtpSink();
  const port = options.port ?? (await freePort());
  // Where tests reach the server; `env` may name another public issuer (an https proxy's URL).
  const issuer = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    AUTH_ISSUER: issuer,
    AUTH_PORT: String(port),
    AUTH_HOST: '127.0.0.1',
    MCP_URL: options.mcpUrl ?? 'http://127.0.0.1:3999/mcp',
    SMTP_URL: sink.url,
    MAIL_FROM: 'Pictor <auth@pictor.test>',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ...options.env,
  });
  options.tweak?.(config);
  const log = options.logs ? createLogger('debug', options.logs) : undefined;
  const server = await startAuthServer(config, { db: database.db, clock: options.clock, log, maintenance: false });
  t.after(async () => {
    await server.close();
    await sink.close();
    await database.drop();
  });
  return {
    issuer,
    config,
    server,
    db: database.db,
    sink,
    browser: (headers) => new Browser(issuer, headers),
    async register(metadata = {}) {
      const res = await fetch(`${issuer}/reg`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_name: 'Test Client',
          redirect_uris: ['https://client.example/callback'],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
          ...metadata,
        }),
      });
      const body = (await res.json()) as Registered;
      if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${JSON.stringify(body)}`);
      return body;
    },
  };
}

export interface Pkce {
  verifier: string;
  challenge: string;
}

export function pkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface AuthorizeOptions {
  client: Registered;
  pkce?: Pkce | null;
  scope?: string;
  resource?: string | null;
  redirectUri?: string;
  state?: string;
  extra?: Record<string, string>;
}

/** The authorization request URL (RFC 6749 §4.1.1 with PKCE, RFC 7636, and RFC 8707 resource). */
export function authorizeUrl(h: Harness, o: AuthorizeOptions): string {
  const url = new URL('/auth', h.issuer);
  const p = o.pkce === undefined ? pkce() : o.pkce;
  const params: Record<string, string | undefined> = {
    client_id: o.client.client_id,
    response_type: 'code',
    redirect_uri: o.redirectUri ?? o.client.redirect_uris[0],
    scope: o.scope,
    state: o.state ?? 'state-123',
    code_challenge: p?.challenge,
    code_challenge_method: p ? 'S256' : undefined,
    resource: o.resource === null ? undefined : (o.resource ?? h.config.mcpUrl),
    ...o.extra,
  };
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.href;
}

/** From the login page: asks for a link, and returns the mail and the waiting page. */
export async function requestLink(h: Harness, browser: Browser, loginPage: Page, email: string) {
  const waiting = await browser.post(formAction(loginPage, '/login'), { email, _csrf: csrf(loginPage) });
  if (waiting.status !== 200) throw new Error(`link request failed: ${waiting.status}\n${waiting.body}`);
  const mail = await h.sink.next(email);
  return { waiting, mail };
}

/** The sign-in code a page shows (the waiting page of the browser that asked). */
export function shownCode(page: Page): string {
  const code = /aria-label="Sign-in code">([^<]+)</.exec(page.body)?.[1];
  if (!code) throw new Error(`no sign-in code on ${page.url}`);
  return code;
}

/**
 * Opens the mailed link in `linkBrowser` and presses Sign in on its confirm page, typing `code`
 * when given (what a person does on another device, reading it off the asking window).
 */
export async function confirmLink(linkBrowser: Browser, link: string, code?: string): Promise<Page> {
  const confirmPage = await linkBrowser.get(link);
  if (confirmPage.status !== 200) throw new Error(`link page: ${confirmPage.status}\n${confirmPage.body}`);
  return linkBrowser.post(formAction(confirmPage, '/link'), {
    token: new URL(link).searchParams.get('token') ?? '',
    _csrf: csrf(confirmPage),
    code,
  });
}

/** The waiting window carries on, as its script does once the status says confirmed. */
export async function completeSignin(browser: Browser, waiting: Page): Promise<Page> {
  return browser.post(formAction(waiting, '/complete'), { _csrf: csrf(waiting) });
}

/** Email → link (same browser) → back in the asking window: returns the page after sign-in. */
export async function signIn(h: Harness, browser: Browser, loginPage: Page, email: string): Promise<Page> {
  const { waiting, mail } = await requestLink(h, browser, loginPage, email);
  const confirmed = await confirmLink(browser, mail.link);
  if (confirmed.status !== 200) throw new Error(`confirm failed: ${confirmed.status}\n${confirmed.body}`);
  return completeSignin(browser, waiting);
}

/** The spending limit and workspace fields of a page as a browser would submit them untouched. */
export function limitFieldsAsShown(page: Page): Record<string, string | string[] | undefined> {
  return {
    daily_spend_limit: field(page, 'daily_spend_limit'),
    no_spend_limit: /name="no_spend_limit" value="1" checked/.test(page.body) ? '1' : undefined,
    workspace: [...page.body.matchAll(/name="workspace" value="([^"]+)" checked/g)].map((m) => m[1] ?? ''),
  };
}

/**
 * Approves (or denies) the consent page with the given MCP scopes ticked and the limit fields as
 * shown (or as `limits` overrides them); returns the redirect.
 */
export async function consent(
  browser: Browser,
  consentPage: Page,
  o: { scopes?: string[]; deny?: boolean; limits?: Record<string, string | string[] | undefined> } = {},
): Promise<URL> {
  const ticked = o.scopes ?? [...consentPage.body.matchAll(/name="scope" value="([^"]+)"/g)].map((m) => m[1] ?? '');
  const page = await browser.post(formAction(consentPage, '/consent'), {
    _csrf: csrf(consentPage),
    scope: ticked,
    decision: o.deny ? 'deny' : 'allow',
    ...limitFieldsAsShown(consentPage),
    ...o.limits,
  });
  if (!page.leftTo) throw new Error(`consent did not redirect to the client: ${page.status}\n${page.body.slice(0, 1500)}`);
  return new URL(page.leftTo);
}

/** The whole browser part: authorize → sign in → consent → the client's callback URL. */
export async function connect(
  h: Harness,
  o: AuthorizeOptions & { browser?: Browser; email: string; approve?: string[]; limits?: Record<string, string | string[] | undefined> },
): Promise<{ callback: URL; browser: Browser; pkce: Pkce }> {
  const browser = o.browser ?? h.browser();
  const p = o.pkce ?? pkce();
  let page = await browser.get(authorizeUrl(h, { ...o, pkce: p }));
  if (page.body.includes('name="email"')) page = await signIn(h, browser, page, o.email);
  const callback = page.leftTo ? new URL(page.leftTo) : await consent(browser, page, { scopes: o.approve, limits: o.limits });
  return { callback, browser, pkce: p };
}

export interface TokenResponse {
  access_token?: string;
  refresh_token?: string;
  id_token?: string;
  token_type?: string;
  expires_in?: number;
  scope?: string;
  error?: string;
  error_description?: string;
}

/** A token request (RFC 6749 §4.1.3 / §6); client auth as the client registered. */
export async function tokenRequest(h: Harness, client: Registered, params: Record<string, string>): Promise<{ status: number; body: TokenResponse }> {
  // An empty value leaves the parameter out.
  const body = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== ''));
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.token_endpoint_auth_method === 'client_secret_basic') {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret ?? '')}`).toString('base64')}`;
  } else {
    body.set('client_id', client.client_id);
    if (client.token_endpoint_auth_method === 'client_secret_post') body.set('client_secret', client.client_secret ?? '');
  }
  const res = await fetch(`${h.issuer}/token`, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as TokenResponse };
}

export function exchangeCode(h: Harness, client: Registered, callback: URL, verifier: string, extra: Record<string, string> = {}) {
  return tokenRequest(h, client, {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code') ?? '',
    redirect_uri: client.redirect_uris[0] ?? '',
    code_verifier: verifier,
    resource: h.config.mcpUrl,
    ...extra,
  });
}

export function refresh(h: Harness, client: Registered, refreshToken: string, extra: Record<string, string> = {}) {
  return tokenRequest(h, client, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra });
}

export function randomEmail(prefix = 'person'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}@example.test`;
}
