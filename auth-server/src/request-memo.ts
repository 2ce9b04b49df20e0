// Values one HTTP request has already read from the database, so oidc-provider's separate look-ups
// in the same request (the refresh token, then its grant, then the account twice) cost one round
// trip instead of four. Keyed by the Koa context: nothing outlives the request, and no replica
// serves another request from it.
import Provider from 'oidc-provider';

const memos = new WeakMap<object, Map<string, unknown>>();

/** The request oidc-provider is serving (its AsyncLocalStorage), if any. */
export function currentRequest(): object | undefined {
  return (Provider as unknown as { ctx?: object }).ctx;
}

export function remember(ctx: object, key: string, value: unknown): void {
  let memo = memos.get(ctx);
  if (!memo) {
    memo = new Map();
    memos.set(ctx, memo);
  }
  memo.set(key, value);
}

/** The remembered value (wrapped, since `undefined` can be one), or undefined if none. */
export function recall<T>(ctx: object, key: string): { value: T } | undefined {
  const memo = memos.get(ctx);
  return memo?.has(key) ? { value: memo.get(key) as T } : undefined;
}

/** As recall, and forgets it: the next look-up goes to the database again. */
export function take<T>(ctx: object, key: string): { value: T } | undefined {
  const hit = recall<T>(ctx, key);
  memos.get(ctx)?.delete(key);
  return hit;
}
