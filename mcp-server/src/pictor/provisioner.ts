// The hardware is outside the product. The lifecycle worker drives a Provisioner through power
// actions; each call either finishes the action or says when to ask again, so a driver never
// blocks a worker and any replica can continue an action another one started.
// Calls must be idempotent: after a crash the same action may be asked for again.
import { createHash } from 'node:crypto';

export interface Machine {
  instanceId: string;
  regionId: string;
  planId: string;
  gpuModel: string;
  vramGb: number;
  gpuCount: number;
  vcpus: number;
  ramGb: number;
  storageGb: number;
  /** When this action was requested; drivers that simulate time measure from here. */
  requestedAt: Date;
}

/** What the machine is launched with, handed over in clear only here (the core keeps it sealed). */
export interface MachineSetup {
  image: { id: string; name: string; os: string; cudaVersion: string; frameworks: string[] };
  /** Environment variables to set for every login and service: secrets, never to be logged. */
  env: Record<string, string>;
  /** HTTP ports to publish through the proxy. */
  ports: number[];
  /** Shell run once, as root, at the end of the first boot; null for none. */
  startupScript: string | null;
}

export interface ProvisionRequest extends Machine {
  setup: MachineSetup;
}

export interface ExposedPort {
  port: number;
  /** Where the port answers from the internet. */
  url: string;
}

export interface BootLine {
  at: Date;
  message: string;
}

export type ActionResult = { status: 'pending'; retryAt: Date } | { status: 'done'; log: BootLine[] };

export type ProvisionResult =
  | { status: 'pending'; retryAt: Date }
  | { status: 'done'; sshHost: string; sshPort: number; ports: ExposedPort[]; log: BootLine[] };

export interface Provisioner {
  /** Sets the machine up with `setup` (image, environment, ports, first-boot script) and boots it. */
  provision(machine: ProvisionRequest, now: Date): Promise<ProvisionResult>;
  start(machine: Machine, now: Date): Promise<ActionResult>;
  stop(machine: Machine, now: Date): Promise<ActionResult>;
  /** Reboots a running machine; the disk and the SSH address stay. */
  restart(machine: Machine, now: Date): Promise<ActionResult>;
  /** Powers off and returns the GPUs to the pool, keeping the disk (a paused instance). */
  pause(machine: Machine, now: Date): Promise<ActionResult>;
  /** Boots a paused machine's kept disk on GPUs of its region again, publishing `ports`; the SSH address may change. */
  resume(machine: Machine & { ports: readonly number[] }, now: Date): Promise<ProvisionResult>;
  /** Powers off and wipes the machine, returning its GPUs to the pool. */
  release(machine: Machine, now: Date): Promise<ActionResult>;
}

export interface SimulatedTimings {
  /** Request to running. Default 5000 ms. */
  provisionMs: number;
  /** Power-on to sshd listening. Default 3000 ms. */
  startMs: number;
  /** Shutdown. Default 1500 ms. */
  stopMs: number;
  /** Reboot: shutdown then power-on. Default 4500 ms. */
  restartMs: number;
}

const DEFAULT_TIMINGS: SimulatedTimings = { provisionMs: 5000, startMs: 3000, stopMs: 1500, restartMs: 4500 };
const DEFAULT_PROXY_DOMAIN = 'proxy.pictor.localhost';

/** Port P of instance I behind the proxy at `domain`: https://I-P.<domain> (one DNS label per port). */
export function publicPortUrl(domain: string, instanceId: string, port: number): string {
  return `https://${instanceId}-${port}.${domain}`;
}

/** The exit status a simulated startup script ends with: N when its last command is `exit N`, else 0. */
function simulatedExitStatus(script: string): number {
  const last = script.trimEnd().split('\n').at(-1)?.trim() ?? '';
  const m = /^exit\s+(\d{1,3})$/.exec(last);
  return m ? Number(m[1]) % 256 : 0;
}

const DRIVER = '570.133.20';
const CUDA = '12.8';

/** nvidia-smi's product names for the catalog's GPU models. */
const SMI_NAMES: Array<[RegExp, string]> = [
  [/h100/i, 'NVIDIA H100 80GB HBM3'],
  [/h200/i, 'NVIDIA H200'],
  [/a100/i, 'NVIDIA A100-SXM4-80GB'],
  [/l40s/i, 'NVIDIA L40S'],
  [/4090/, 'NVIDIA GeForce RTX 4090'],
  [/5090/, 'NVIDIA GeForce RTX 5090'],
];

function smiName(model: string): string {
  return SMI_NAMES.find(([re]) => re.test(model))?.[1] ?? `NVIDIA ${model}`;
}

function digest(...parts: string[]): Buffer {
  return createHash('sha256').update(parts.join('|')).digest();
}

function gpuUuid(instanceId: string, index: number): string {
  const h = digest(instanceId, String(index)).toString('hex');
  return `GPU-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A deterministic port per instance, so every replica computes the same one. */
export function simulatedSshPort(instanceId: string): number {
  return 20000 + (digest(instanceId).readUInt32BE(0) % 40000);
}

const kernelTime = (ms: number): string => `[${(ms / 1000).toFixed(6).padStart(12, ' ')}]`;

/**
 * A provisioner with no hardware: actions finish a fixed time after they were requested, measured
 * on the worker's clock (no sleeping, no state in memory), with realistic boot output.
 */
export class SimulatedProvisioner implements Provisioner {
  readonly timings: SimulatedTimings;
  /** Domain of the proxy publishing ports (INSTANCE_PROXY_DOMAIN). */
  readonly proxyDomain: string;

  constructor(options: Partial<SimulatedTimings> & { proxyDomain?: string } = {}) {
    const { proxyDomain, ...timings } = options;
    this.timings = { ...DEFAULT_TIMINGS, ...timings };
    this.proxyDomain = proxyDomain ?? DEFAULT_PROXY_DOMAIN;
  }

  async provision(m: ProvisionRequest, now: Date): Promise<ProvisionResult> {
    const readyAt = m.requestedAt.getTime() + this.timings.provisionMs;
    if (now.getTime() < readyAt) return { status: 'pending', retryAt: new Date(readyAt) };
    const sshHost = `${m.regionId}.gpu.pictor.dev`;
    const sshPort = simulatedSshPort(m.instanceId);
    const ports = m.setup.ports.map((port) => ({ port, url: publicPortUrl(this.proxyDomain, m.instanceId, port) }));
    return { status: 'done', sshHost, sshPort, ports, log: this.#bootLog(m, m.requestedAt.getTime(), this.timings.provisionMs, m.setup, ports) };
  }

  async start(m: Machine, now: Date): Promise<ActionResult> {
    const readyAt = m.requestedAt.getTime() + this.timings.startMs;
    if (now.getTime() < readyAt) return { status: 'pending', retryAt: new Date(readyAt) };
    return { status: 'done', log: this.#bootLog(m, m.requestedAt.getTime(), this.timings.startMs, null, []) };
  }

  async stop(m: Machine, now: Date): Promise<ActionResult> {
    const doneAt = m.requestedAt.getTime() + this.timings.stopMs;
    if (now.getTime() < doneAt) return { status: 'pending', retryAt: new Date(doneAt) };
    return { status: 'done', log: this.#shutdownLog(m.requestedAt.getTime(), this.timings.stopMs, 'reboot: Power down') };
  }

  async restart(m: Machine, now: Date): Promise<ActionResult> {
    const t0 = m.requestedAt.getTime();
    const doneAt = t0 + this.timings.restartMs;
    if (now.getTime() < doneAt) return { status: 'pending', retryAt: new Date(doneAt) };
    const down = Math.round(this.timings.restartMs / 3);
    return {
      status: 'done',
      log: [...this.#shutdownLog(t0, down, 'reboot: Restarting system'), ...this.#bootLog(m, t0 + down, this.timings.restartMs - down, null, [])],
    };
  }

  async pause(m: Machine, now: Date): Promise<ActionResult> {
    const doneAt = m.requestedAt.getTime() + this.timings.stopMs;
    if (now.getTime() < doneAt) return { status: 'pending', retryAt: new Date(doneAt) };
    return {
      status: 'done',
      log: [
        ...this.#shutdownLog(m.requestedAt.getTime(), this.timings.stopMs, 'reboot: Power down'),
        { at: new Date(doneAt), message: `${m.gpuCount} × ${m.gpuModel} returned to ${m.regionId}; ${m.storageGb} GB volume detached and kept` },
      ],
    };
  }

  async resume(m: Machine & { ports: readonly number[] }, now: Date): Promise<ProvisionResult> {
    const readyAt = m.requestedAt.getTime() + this.timings.provisionMs;
    if (now.getTime() < readyAt) return { status: 'pending', retryAt: new Date(readyAt) };
    const ports = m.ports.map((port) => ({ port, url: publicPortUrl(this.proxyDomain, m.instanceId, port) }));
    return {
      status: 'done',
      sshHost: `${m.regionId}.gpu.pictor.dev`,
      sshPort: simulatedSshPort(m.instanceId),
      ports,
      log: [
        { at: m.requestedAt, message: `${m.storageGb} GB volume attached to ${m.gpuCount} × ${m.gpuModel} in ${m.regionId}` },
        ...this.#bootLog(m, m.requestedAt.getTime(), this.timings.provisionMs, null, ports),
      ],
    };
  }

  async release(m: Machine, _now: Date): Promise<ActionResult> {
    return {
      status: 'done',
      log: [
        {
          at: m.requestedAt,
          message: `Machine released: powered off, ${m.storageGb} GB volume wiped, ${m.gpuCount} × ${m.gpuModel} returned to ${m.regionId}`,
        },
      ],
    };
  }

  #shutdownLog(t0: number, span: number, last: string): BootLine[] {
    return [
      { at: new Date(t0), message: 'systemd[1]: Received SIGTERM from PID 1 (shutdown).' },
      { at: new Date(t0 + span / 2), message: 'systemd[1]: Stopped target Multi-User System.' },
      { at: new Date(t0 + span), message: last },
    ];
  }

  /** `setup` on the first boot only (null on a later power-on); never logs an environment value. */
  #bootLog(m: Machine, t0: number, span: number, setup: MachineSetup | null, ports: ExposedPort[]): BootLine[] {
    const firstBoot = setup !== null;
    const lines: Array<[number, string]> = [];
    const at = (fraction: number, message: string) => lines.push([Math.round(span * fraction), message]);
    const name = smiName(m.gpuModel);
    at(
      0,
      `${kernelTime(0)} Linux version 6.8.0-57-generic (buildd@lcy02-amd64-099) (x86_64-linux-gnu-gcc-13 (Ubuntu 13.3.0-6ubuntu2~24.04) 13.3.0) #59-Ubuntu SMP PREEMPT_DYNAMIC`,
    );
    at(0.02, `${kernelTime(12)} Command line: BOOT_IMAGE=/vmlinuz-6.8.0-57-generic root=LABEL=cloudimg-rootfs ro console=ttyS0`);
    at(0.05, `${kernelTime(310)} smpboot: Allowing ${m.vcpus} CPUs, 0 hotplug CPUs`);
    at(0.08, `${kernelTime(420)} Memory: ${m.ramGb * 1024 * 1024}K available`);
    at(0.15, `${kernelTime(1480)} EXT4-fs (vda1): mounted filesystem with ordered data mode (${m.storageGb} GB)`);
    at(0.3, `${kernelTime(2810)} nvidia: loading out-of-tree module taints kernel.`);
    at(0.35, `${kernelTime(3120)} NVRM: loading NVIDIA UNIX x86_64 Kernel Module  ${DRIVER}`);
    at(0.4, `${kernelTime(3544)} nvidia-uvm: Loaded the UVM driver, major device number 511.`);
    if (setup) {
      const i = setup.image;
      at(0.45, `pictor-image: ${i.id} (${i.name}): ${i.os}, CUDA ${i.cudaVersion}${i.frameworks.length ? `, ${i.frameworks.join(', ')}` : ''}`);
      at(0.5, `cloud-init[812]: Cloud-init v. 24.4 running 'modules:config'; writing authorized_keys for root`);
      const names = Object.keys(setup.env).sort();
      if (names.length > 0) at(0.52, `cloud-init[812]: wrote ${names.length} environment variable(s) to /etc/environment: ${names.join(', ')}`);
    }
    at(0.7, `nvidia-smi: NVIDIA-SMI ${DRIVER}   Driver Version: ${DRIVER}   CUDA Version: ${CUDA}`);
    for (let i = 0; i < m.gpuCount; i++) {
      at(0.72, `nvidia-smi: GPU ${i}: ${name} (UUID: ${gpuUuid(m.instanceId, i)})  ${m.vramGb * 1024}MiB  0% util`);
    }
    at(0.9, 'sshd[1024]: Server listening on 0.0.0.0 port 22.');
    at(0.92, 'sshd[1024]: Server listening on :: port 22.');
    for (const p of ports) at(0.93, `pictor-proxy: port ${p.port} published at ${p.url}`);
    if (setup?.startupScript) {
      const size = Buffer.byteLength(setup.startupScript, 'utf8');
      at(0.94, `startup-script: started /var/lib/cloud/instance/scripts/startup.sh (${size} bytes, once, as root)`);
      at(0.99, `startup-script: exited with status ${simulatedExitStatus(setup.startupScript)}`);
    }
    at(1, `systemd[1]: Reached target Multi-User System (${firstBoot ? 'first boot' : 'power on'} complete).`);
    return lines.map(([offset, message]) => ({ at: new Date(t0 + offset), message }));
  }
}
