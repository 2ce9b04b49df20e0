// Real tokens from the real authorization server, the way Claude gets them: dynamic client
// registration, the magic-link sign-in (mail caught by the test SMTP sink), consent, and the code
// exchange with PKCE and the MCP resource. The auth server's own test helpers drive the pages.
import { createHash, randomBytes } from 'node:crypto';
import { Browser, csrf, formAction } from '../../auth-server/test/support/browser.ts';
import type { SmtpSink } from '../../auth-server/test/support/smtp-sink.ts';

export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

export interface AuthFlow {
  clientId: string;
  email: string;
  /** Authorizes once more in the same signed-in browser (no mail, consent remembered) and exchanges the code. */
  tokens(): Promise<Tokens>;
}

const REDIRECT_URI = 'https://client.example/callback';

export interface SignInOptions {
  issuer: string;
  mcpUrl: string;
  sink: SmtpSink;
  scopes: readonly string[];
  email?: string;
  /** Sent with every request of the flow, e.g. X-Forwarded-For so each flow counts as its own client IP. */
  headers?: Record<string, string>;
}

export async function signInForTokens(o: SignInOptions): Promise<AuthFlow> {
  const email = o.email ?? `bench-${randomBytes(4).toString('hex')}@example.test`;
  const registered = await fetch(`${o.issuer}/reg`, {
    method: 'POST',
    headers: { ...o.headers, 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Pictor bench',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }),
  });
  if (registered.status !== 201) throw new Error(`registration failed: ${registered.status} ${await registered.text()}`);
  const clientId = ((await registered.json()) as { client_id: string }).client_id;
  const browser = new Browser(o.issuer, o.headers);

  async function authorize(): Promise<{ code: string; verifier: string }> {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL('/auth', o.issuer);
    url.search = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: o.scopes.join(' '),
      state: 's',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      resource: o.mcpUrl,
    }).toString();
    let page = await browser.get(url.href);
    if (page.body.includes('name="email"')) {
      // One browser throughout: it holds the cookie binding the link to it, so the link confirms
      // with no code (the path of a person opening the mail in the browser that asked).
      const waiting = await browser.post(formAction(page, '/login'), { email, _csrf: csrf(page) });
      const mail = await o.sink.next(email);
      const confirm = await browser.get(mail.link);
      await browser.post(formAction(confirm, '/link'), { token: new URL(mail.link).searchParams.get('token') ?? '', _csrf: csrf(confirm) });
      page = await browser.post(formAction(waiting, '/complete'), { _csrf: csrf(waiting) });
    }
    if (!page.leftTo) {
      page = await browser.post(formAction(page, '/consent'), {
        _csrf: csrf(page),
        scope: [...o.scopes],
        decision: 'allow',
        // No spending limit (the bench and the soak spend as fast as they can), every workspace offered.
        no_spend_limit: '1',
        workspace: [...page.body.matchAll(/name="workspace" value="([^"]+)"/g)].map((m) => m[1] ?? ''),
      });
    }
    const code = page.leftTo ? new URL(page.leftTo).searchParams.get('code') : null;
    if (!code) throw new Error(`no authorization code: ${page.status} ${page.leftTo ?? page.body.slice(0, 500)}`);
    return { code, verifier };
  }

  return {
    clientId,
    email,
    async tokens() {
      const { code, verifier } = await authorize();
      const res = await fetch(`${o.issuer}/token`, {
        method: 'POST',
        headers: { ...o.headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
          resource: o.mcpUrl,
          client_id: clientId,
        }),
      });
      const body = (await res.json()) as { access_token?: string; refresh_token?: string };
      if (!body.access_token || !body.refresh_token) throw new Error(`token exchange failed: ${res.status} ${JSON.stringify(body)}`);
      return { accessToken: body.access_token, refreshToken: body.refresh_token };
    },
  };
}
