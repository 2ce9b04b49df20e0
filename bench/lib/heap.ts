// The live JavaScript heap of a service, after a full garbage collection, read through the V8
// inspector (the service runs with --inspect on a loopback port). RSS alone cannot tell a leak from
// a heap V8 lets grow toward its cap; the heap still in use after a collection can.
import { readFileSync } from 'node:fs';
import type { Service } from './services.ts';

/** The node flag that makes a service reachable by this probe (a random loopback port). */
export const INSPECT_FLAG = '--inspect=127.0.0.1:0';

export interface HeapProbe {
  /** Collects garbage (twice, so weak and finalized objects go too), then returns the used heap in MB. */
  usedAfterGcMb(): Promise<number>;
  close(): void;
}

export async function probeHeap(service: Service, timeoutMs = 10_000): Promise<HeapProbe> {
  const deadline = Date.now() + timeoutMs;
  let url: string | undefined;
  while (!url && Date.now() < deadline) {
    url = /Debugger listening on (ws:\/\/\S+)/.exec(readFileSync(service.logFile, 'utf8'))?.[1];
    if (!url) await new Promise((r) => setTimeout(r, 100));
  }
  if (!url) throw new Error(`${service.name} is not running with ${INSPECT_FLAG}; see ${service.logFile}`);
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error(`could not reach ${service.name}'s inspector`)), { once: true });
  });
  let next = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  });
  const send = (method: string) =>
    new Promise<unknown>((resolve) => {
      const id = ++next;
      waiting.set(id, resolve);
      socket.send(JSON.stringify({ id, method }));
    });
  return {
    async usedAfterGcMb() {
      await send('HeapProfiler.collectGarbage');
      await send('HeapProfiler.collectGarbage');
      const { usedSize } = (await send('Runtime.getHeapUsage')) as { usedSize: number };
      return Math.round(usedSize / 104_857.6) / 10;
    },
    close: () => socket.close(),
  };
}
