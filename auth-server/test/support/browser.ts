// A browser for HTTP-level tests: its own cookie jar, redirects followed within the
// authorization server and stopped at the first hop elsewhere (the client's redirect URI).
// Two instances are two browsers (the cross-browser magic link).

export interface Page {
  status: number;
  url: string;
  body: string;
  headers: Headers;
  /** Set when a redirect left the server (e.g. to the client's redirect_uri); not followed. */
  leftTo?: string;
}

interface Cookie {
  name: string;
  value: string;
  path: string;
}

export class Browser {
  readonly #origin: string;
  readonly #headers: Record<string, string>;
  #cookies: Cookie[] = [];
  /** Every Set-Cookie line this browser received, in order. */
  readonly setCookies: string[] = [];

  /** `headers` go with every request (e.g. the X-Forwarded-Proto a TLS-terminating proxy adds). */
  constructor(origin: string, headers: Record<string, string> = {}) {
    this.#origin = origin;
    this.#headers = headers;
  }

  get(url: string): Promise<Page> {
    return this.#navigate(url, { method: 'GET' });
  }

  /** Submits a form (application/x-www-form-urlencoded); arrays repeat the field. */
  post(url: string, fields: Record<string, string | string[] | undefined>): Promise<Page> {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) {
      for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) body.append(name, v);
    }
    return this.#navigate(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }

  /** A single request with this browser's cookies, no redirect following. */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url, this.#origin);
    const cookie = this.#cookies
      .filter((c) => target.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const headers = new Headers(init.headers);
    for (const [name, value] of Object.entries(this.#headers)) if (!headers.has(name)) headers.set(name, value);
    if (cookie) headers.set('cookie', cookie);
    const res = await fetch(target, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      this.setCookies.push(line);
      this.#store(line, target.pathname);
    }
    return res;
  }

  hasCookie(name: string): boolean {
    return this.#cookies.some((c) => c.name === name);
  }

  async #navigate(url: string, init: RequestInit): Promise<Page> {
    let target = new URL(url, this.#origin).href;
    let request = init;
    for (let hops = 0; hops < 20; hops++) {
      const res = await this.fetch(target, request);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        const next = new URL(location, target);
        if (next.origin !== new URL(this.#origin).origin) {
          return { status: res.status, url: target, body: await res.text(), headers: res.headers, leftTo: next.href };
        }
        target = next.href;
        request = { method: 'GET' };
        continue;
      }
      return { status: res.status, url: target, body: await res.text(), headers: res.headers };
    }
    throw new Error('too many redirects');
  }

  #store(line: string, requestPath: string): void {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const attr = (key: string) => attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
    const path = attr('path') ?? requestPath.replace(/\/[^/]*$/, '') ?? '/';
    const expires = attr('expires');
    const gone = value === '' || attr('max-age') === '0' || (expires !== undefined && Date.parse(expires) < Date.now());
    this.#cookies = this.#cookies.filter((c) => !(c.name === name && c.path === path));
    if (!gone) this.#cookies.push({ name, value, path: path || '/' });
  }
}

/** The value of a named hidden or text input in a page. */
export function field(page: Page, name: string): string | undefined {
  const match = new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(page.body);
  return match?.[1]
    ?.replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

/** The action of the first form (or the one whose action contains `contains`). */
export function formAction(page: Page, contains = ''): string {
  for (const match of page.body.matchAll(/<form[^>]*action="([^"]*)"/g)) {
    if (match[1]?.includes(contains)) return match[1].replace(/&amp;/g, '&');
  }
  throw new Error(`no form with action containing "${contains}" on ${page.url}:\n${page.body.slice(0, 2000)}`);
}

export function csrf(page: Page): string {
  const token = field(page, '_csrf');
  if (!token) throw new Error(`no CSRF field on ${page.url}`);
  return token;
}
