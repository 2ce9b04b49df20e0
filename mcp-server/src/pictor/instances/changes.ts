// Instance change notifications, one LISTEN connection per process shared by every waiter.
// The trigger of migration 0013 NOTIFYs on INSTANCE_CHANNEL whenever an instance's state or power
// action changes, whoever wrote it (a tool, the worker on any replica, the admin CLI). A
// notification only says "look again": subscribers re-read the row. While the connection is down
// notifications are lost, so after every (re)connect all subscribers are woken to re-read.
import pg from 'pg';
import type { Logger } from 'pino';

/** The channel the instances trigger notifies (migrations/src/migrations/0013_instance_notify.ts). */
export const INSTANCE_CHANNEL = 'pictor_instance_changes';

/** Why a subscriber is woken: a change of its instance, a reconnect (changes may have been missed), or the watch closing. */
export type Wake = 'change' | 'reconnect' | 'close';

export interface InstanceChanges {
  /**
   * Calls `onWake` when the instance may have changed, until the returned function is called.
   * Throws TooManyWaitersError when the process already has `maxWaiters` subscriptions, and
   * calls `onWake('close')` at once when the watch is closed.
   */
  subscribe(instanceId: string, onWake: (why: Wake) => void): () => void;
  /** Subscriptions now open (for tests and metrics). */
  readonly waiters: number;
  /** Wakes every subscriber with 'close', refuses new ones, and ends the connection. */
  close(): Promise<void>;
}

export class TooManyWaitersError extends Error {
  override name = 'TooManyWaitersError';
}

export interface InstanceChangesOptions {
  databaseUrl: string;
  log: Logger;
  /** Most subscriptions at once in this process. Default 1000. */
  maxWaiters?: number;
  /** Pause before reconnecting after the connection failed. Default 1000 ms. */
  reconnectMs?: number;
}

/** Opens the LISTEN connection (a failure is logged and retried, never thrown) and returns the watch. */
export async function watchInstanceChanges(options: InstanceChangesOptions): Promise<InstanceChanges> {
  const { log } = options;
  const maxWaiters = options.maxWaiters ?? 1000;
  const subscribers = new Map<string, Set<(why: Wake) => void>>();
  let count = 0;
  let closed = false;
  let listener: pg.Client | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;

  const wakeAll = (why: Wake): void => {
    for (const set of subscribers.values()) for (const onWake of [...set]) onWake(why);
  };

  const listen = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: options.databaseUrl, application_name: 'pictor-mcp-instance-changes' });
    const retry = () => {
      if (closed || reconnectTimer) return;
      listener = undefined;
      client.end().catch(() => undefined);
      reconnectTimer = setTimeout(() => {
        reconnectTimer = undefined;
        void listen();
      }, options.reconnectMs ?? 1000);
      reconnectTimer.unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', (message) => {
      if (message.channel !== INSTANCE_CHANNEL) return;
      const id = message.payload?.split(' ', 1)[0];
      const set = id === undefined ? undefined : subscribers.get(id);
      if (set) for (const onWake of [...set]) onWake('change');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${INSTANCE_CHANNEL}`);
      if (closed) {
        await client.end();
        return;
      }
      listener = client;
      wakeAll('reconnect'); // whatever changed while nobody was listening
    } catch (err) {
      log.warn({ err }, 'could not listen for instance changes; retrying');
      retry();
    }
  };

  await listen();

  return {
    subscribe(instanceId, onWake) {
      if (closed) {
        onWake('close');
        return () => undefined;
      }
      if (count >= maxWaiters) throw new TooManyWaitersError(`${maxWaiters} waits are already in progress in this process`);
      let set = subscribers.get(instanceId);
      if (!set) {
        set = new Set();
        subscribers.set(instanceId, set);
      }
      // a wrapper per subscription, so the same callback subscribed twice is two subscriptions
      const entry = (why: Wake) => onWake(why);
      set.add(entry);
      count += 1;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        count -= 1;
        set.delete(entry);
        if (set.size === 0 && subscribers.get(instanceId) === set) subscribers.delete(instanceId);
      };
    },
    get waiters() {
      return count;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      wakeAll('close');
      await listener?.end().catch(() => undefined);
      listener = undefined;
    },
  };
}
