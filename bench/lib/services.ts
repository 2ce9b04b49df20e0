// The processes a bench or soak run measures: each service as its own Node process (as in
// production), logs to a file, RSS read from /proc while it works, and a stop that waits.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface Service {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** Resident set size now, in MB (0 when the process is gone). */
  rssMb(): number;
  /** Waits for GET url to answer 2xx. */
  ready(url: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  env: Record<string, string>;
  logDir: string;
  /** Write a V8 CPU profile (.cpuprofile) into this directory when the process exits. */
  cpuProfDir?: string;
}

/**
 * Starts `entry` (a .ts file under the repository) the way the Dockerfiles run the services in
 * production: plain `node` with Node 24's built-in type stripping, no loader.
 */
export function startService(name: string, entry: string, options: ServiceOptions): Service {
  const logFile = path.join(options.logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const args: string[] = [];
  // one directory per service: the main thread and tsx's loader thread each write a profile
  if (options.cpuProfDir) args.push('--cpu-prof', `--cpu-prof-dir=${path.join(options.cpuProfDir, name)}`);
  const child = spawn(process.execPath, [...args, path.join(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    pid: child.pid!,
    child,
    logFile,
    rssMb: () => rssMb(child.pid!),
    async ready(url, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}; see ${logFile}`);
        if (
          await fetch(url).then(
            (r) => r.ok,
            () => false,
          )
        )
          return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`${name} did not answer ${url} within ${timeoutMs} ms; see ${logFile}`);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
    return Math.round(kb / 102.4) / 10;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) the process has used so far, in ms. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS = 100;

/** The NODE_OPTIONS a service's Dockerfile sets (`ENV NODE_OPTIONS=…`), so the bench runs it the same way. */
export function dockerNodeOptions(service: string): string {
  const dockerfile = readFileSync(path.join(ROOT, service, 'Dockerfile'), 'utf8');
  return (
    /^ENV NODE_OPTIONS=(.+)$/m
      .exec(dockerfile)?.[1]
      ?.trim()
      .replace(/^"(.*)"$/, '$1') ?? ''
  );
}

/** Samples the RSS of some services every `everyMs` and keeps each one's peak. */
export function sampleRss(services: Service[], everyMs = 250): { peaks(): Record<string, number>; stop(): void } {
  const peak: Record<string, number> = Object.fromEntries(services.map((s) => [s.name, s.rssMb()]));
  const timer = setInterval(() => {
    for (const s of services) peak[s.name] = Math.max(peak[s.name] ?? 0, s.rssMb());
  }, everyMs);
  return { peaks: () => ({ ...peak }), stop: () => clearInterval(timer) };
}
