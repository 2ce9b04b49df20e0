// A small load balancer for the replica test: every request goes to the next replica in turn. A
// replica that refuses the connection (it is gone) is marked down and the request, which it never
// received, goes to the next one; a replica that drops a request it already received answers 502,
// as a real balancer does for a POST it cannot safely repeat.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';

export interface RoundRobin {
  url: string;
  port: number;
  /** Requests each replica answered (by its index). */
  served: number[];
  /** Requests answered 502 because the replica dropped them mid-way. */
  dropped: number;
  close(): Promise<void>;
}

const body = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

export async function startRoundRobin(ports: number[]): Promise<RoundRobin> {
  const down = new Set<number>();
  const served = ports.map(() => 0);
  let next = 0;
  const state = { dropped: 0 };
  const server: Server = createServer(async (req, res) => {
    const payload = await body(req);
    for (let tries = 0; tries < ports.length; tries++) {
      const i = next++ % ports.length;
      if (down.has(i)) continue;
      const outcome = await new Promise<'ok' | 'refused' | 'dropped'>((resolve) => {
        const upstream = request({ host: '127.0.0.1', port: ports[i], method: req.method, path: req.url, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', () => resolve('ok'));
          answer.on('error', () => resolve('dropped'));
        });
        upstream.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED' ? 'refused' : 'dropped'));
        upstream.end(payload);
      });
      if (outcome === 'ok') {
        served[i]! += 1;
        return;
      }
      if (outcome === 'refused') {
        down.add(i);
        continue;
      }
      state.dropped += 1;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('replica dropped the request');
      else res.destroy();
      return;
    }
    res.writeHead(502, { 'content-type': 'text/plain' }).end('no replica');
  });
  // Keep-alive connections from clients would pin nothing here (each request picks anew), but close them on exit.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    served,
    get dropped() {
      return state.dropped;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
