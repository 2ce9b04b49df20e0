// Draining an HTTP server on stop (both services): requests in flight are answered, connections
// that have answered close at once instead of idling out their keep-alive, new connections are
// refused, and what is still running at the end of the grace is cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { drainHttpServer } from '../src/shutdown.ts';

async function listening(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  server.keepAliveTimeout = 65_000; // as the services run: far longer than any grace
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test('a drain answers the request in flight, closes kept-alive connections once idle, and refuses new ones', async () => {
  const { server, url } = await listening((req, res) => {
    setTimeout(() => res.end(req.url === '/slow' ? 'done' : 'quick'), req.url === '/slow' ? 300 : 0);
  });
  // a connection kept alive after an earlier answer, and a request in flight on another
  assert.equal(await (await fetch(`${url}/quick`)).text(), 'quick');
  const inFlight = fetch(`${url}/slow`);
  await new Promise((resolve) => setTimeout(resolve, 50));

  const started = Date.now();
  const drained = drainHttpServer(server, 5000);
  await assert.rejects(freshConnection(`${url}/quick`), { code: 'ECONNREFUSED' });
  const answer = await inFlight;
  assert.equal(answer.status, 200);
  assert.equal(await answer.text(), 'done');
  await drained;
  // the grace is 5 s: the drain ended when the last answer was written, not when keep-alive ran out
  assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
});

test('what is still running when the grace ends is cut, and the drain ends with it', async () => {
  const { server, url } = await listening(() => undefined); // never answers
  const hanging = fetch(`${url}/forever`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = Date.now();
  await drainHttpServer(server, 300);
  const took = Date.now() - started;
  assert.ok(took >= 250 && took < 2000, `${took} ms`);
  await assert.rejects(hanging);
});

/** A GET on a new connection of its own (fetch would reuse a kept-alive one). */
function freshConnection(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}
