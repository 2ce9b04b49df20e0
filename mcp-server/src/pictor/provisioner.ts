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

export interface BootLine {
  at: Date;
  message: string;
}

export type ActionResult = { status: 'pending'; retryAt: Date } | { status: 'done'; log: BootLine[] };

export type ProvisionResult = { status: 'pending'; retryAt: Date } | { status: 'done'; sshHost: string; sshPort: number; log: BootLine[] };

export interface Provisioner {
  provision(machine: Machine, now: Date): Promise<ProvisionResult>;
  start(machine: Machine, now: Date): Promise<ActionResult>;
  stop(machine: Machine, now: Date): Promise<ActionResult>;
  /** Reboots a running machine; the disk and the SSH address stay. */
  restart(machine: Machine, now: Date): Promise<ActionResult>;
  /** Powers off and returns the GPUs to the pool, keeping the disk (a paused instance). */
  pause(machine: Machine, now: Date): Promise<ActionResult>;
  /** Boots a paused machine's kept disk on GPUs of its region again; the SSH address may change. */
  resume(machine: Machine, now: Date): Promise<ProvisionResult>;
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

  constructor(timings: Partial<SimulatedTimings> = {}) {
    this.timings = { ...DEFAULT_TIMINGS, ...timings };
  }

  async provision(m: Machine, now: Date): Promise<ProvisionResult> {
    const readyAt = m.requestedAt.getTime() + this.timings.provisionMs;
    if (now.getTime() < readyAt) return { status: 'pending', retryAt: new Date(readyAt) };
    const sshHost = `${m.regionId}.gpu.pictor.dev`;
    const sshPort = simulatedSshPort(m.instanceId);
    return { status: 'done', sshHost, sshPort, log: this.#bootLog(m, m.requestedAt.getTime(), this.timings.provisionMs, true) };
  }

  async start(m: Machine, now: Date): Promise<ActionResult> {
    const readyAt = m.requestedAt.getTime() + this.timings.startMs;
    if (now.getTime() < readyAt) return { status: 'pending', retryAt: new Date(readyAt) };
    return { status: 'done', log: this.#bootLog(m, m.requestedAt.getTime(), this.timings.startMs, false) };
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
      log: [...this.#shutdownLog(t0, down, 'reboot: Restarting system'), ...this.#bootLog(m, t0 + down, this.timings.restartMs - down, false)],
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

  async resume(m: Machine, now: Date): Promise<ProvisionResult> {
    const readyAt = m.requestedAt.getTime() + this.timings.provisionMs;
    if (now.getTime() < readyAt) return { status: 'pending', retryAt: new Date(readyAt) };
    return {
      status: 'done',
      sshHost: `${m.regionId}.gpu.pictor.dev`,
      sshPort: simulatedSshPort(m.instanceId),
      log: [
        { at: m.requestedAt, message: `${m.storageGb} GB volume attached to ${m.gpuCount} × ${m.gpuModel} in ${m.regionId}` },
        ...this.#bootLog(m, m.requestedAt.getTime(), this.timings.provisionMs, false),
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

  #bootLog(m: Machine, t0: number, span: number, firstBoot: boolean): BootLine[] {
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
    if (firstBoot) at(0.5, `cloud-init[812]: Cloud-init v. 24.4 running 'modules:config'; writing authorized_keys for root`);
    at(0.7, `nvidia-smi: NVIDIA-SMI ${DRIVER}   Driver Version: ${DRIVER}   CUDA Version: ${CUDA}`);
    for (let i = 0; i < m.gpuCount; i++) {
      at(0.72, `nvidia-smi: GPU ${i}: ${name} (UUID: ${gpuUuid(m.instanceId, i)})  ${m.vramGb * 1024}MiB  0% util`);
    }
    at(0.9, 'sshd[1024]: Server listening on 0.0.0.0 port 22.');
    at(0.92, 'sshd[1024]: Server listening on :: port 22.');
    at(1, `systemd[1]: Reached target Multi-User System (${firstBoot ? 'first boot' : 'power on'} complete).`);
    return lines.map(([offset, message]) => ({ at: new Date(t0 + offset), message }));
  }
}
