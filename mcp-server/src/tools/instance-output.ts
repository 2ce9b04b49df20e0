// Output shapes shared by the instance tools, and the mapping from core data to them.
// Money leaves as exact credit strings, times as ISO 8601 UTC.
import { z } from 'zod';
import type { CostBreakdown } from '../pictor/billing.ts';
import type { InstanceDetail, InstanceView } from '../pictor/instances/index.ts';
import { ALL_STATES } from '../pictor/instances/index.ts';
import { money, moneyOutput } from './common.ts';

export const instanceIdField = z.string().max(100).describe('The instance id, as returned by list-my-instances or create-instance.');

export const costOutput = z
  .object({
    hours: z.number().int().describe('Hours this amount covers.'),
    gpu: moneyOutput.describe('GPU part: gpu_count × price per GPU-hour × hours.'),
    storage: moneyOutput.describe('Storage part: storage_gb × price per GB-month × hours / 730, rounded up to the micro-credit (down for refunds).'),
    total: moneyOutput.describe('gpu + storage, in credits.'),
  })
  .describe('A cost (or refund) broken down, in credits.');

export function costOut(cost: CostBreakdown): z.infer<typeof costOutput> {
  return { hours: cost.hours, gpu: money(cost.gpu), storage: money(cost.storage), total: money(cost.total) };
}

const sshOutput = z
  .object({
    host: z.string().describe('SSH host name.'),
    port: z.number().int().describe('SSH port.'),
    user: z.string().describe('Login user.'),
    command: z.string().describe('Ready-to-run ssh command.'),
  })
  .nullable()
  .describe('Where to SSH in; null until provisioning has finished, while paused, and after the rental ended.');

export const instanceShape = {
  id: z.string().describe('Instance id: pass it to the other instance tools.'),
  name: z.string().describe('Display name.'),
  state: z
    .enum(ALL_STATES)
    .describe(
      'provisioning → running ⇄ stopped; when the prepaid time ends without renewal → paused (GPUs released, disk kept until delete_at; ' +
        'start-instance with rental_hours runs it again), then deleted. expired: an instance that ended before pausing existed (disk wiped).',
    ),
  plan_id: z.string().describe('GPU plan id.'),
  gpu_model: z.string().describe('GPU model, e.g. "H100 80GB".'),
  gpu_count: z.number().int().describe('GPUs in the instance.'),
  vram_gb_per_gpu: z.number().int().describe('GPU memory per GPU, GB.'),
  vcpus: z.number().int().describe('vCPUs of the instance.'),
  ram_gb: z.number().int().describe('System memory of the instance, GB.'),
  region: z.string().describe('Region id.'),
  region_location: z.string().describe('Where the region is, e.g. "Ashburn, US".'),
  storage_gb: z.number().int().describe('Disk size, GB.'),
  rental_hours: z.number().int().describe('Hours each auto-renewal buys.'),
  auto_renew: z.boolean().describe('Whether the rental renews itself at expiry (charging rental_hours again) when the balance covers it.'),
  created_at: z.string().describe('Creation time (ISO 8601, UTC).'),
  expires_at: z.string().describe('End of the prepaid period (ISO 8601, UTC); the instance keeps running until then, stopped or not.'),
  ended_at: z.string().nullable().describe('When the instance expired or was deleted; null while it is live or paused.'),
  end_reason: z.string().nullable().describe('Why it was paused or ended (e.g. auto-renew off, insufficient balance for renewal); null while it is live.'),
  paused_at: z.string().nullable().describe('While paused: when its prepaid time ended and it was paused (ISO 8601, UTC); otherwise null.'),
  delete_at: z
    .string()
    .nullable()
    .describe('While paused: when it and its disk are deleted unless started again with start-instance and rental_hours (ISO 8601, UTC); otherwise null.'),
  pending_action: z
    .enum(['provision', 'start', 'stop', 'restart', 'pause', 'resume', 'release'])
    .nullable()
    .describe('A power action the hardware is still carrying out, e.g. "start" while booting; null when settled.'),
  ssh: sshOutput,
  image: z.object({ id: z.string().describe('Image id (list-images).'), name: z.string().describe('Image name.') }).describe('The image the instance boots.'),
  cost_per_hour: z
    .object({
      gpu: moneyOutput.describe('GPU cost per hour.'),
      storage: moneyOutput.describe('Storage cost per hour (rounded up).'),
      total: moneyOutput.describe('Total per hour.'),
    })
    .describe('What the instance costs per hour at the prices fixed when it was created.'),
  storage_per_month: moneyOutput.describe('Storage price per month (730 h) for this disk size.'),
  renewal_cost: moneyOutput.describe('What one auto-renewal (rental_hours) costs.'),
};

export const instanceOutput = z.object(instanceShape).describe('A GPU instance.');

export const instanceDetailShape = {
  ...instanceShape,
  ssh_keys: z
    .array(
      z.object({
        id: z.string().describe('SSH key id.'),
        name: z.string().describe('SSH key name.'),
        type: z.string().describe('OpenSSH key type.'),
        fingerprint: z.string().describe('SHA256 fingerprint.'),
      }),
    )
    .describe('SSH keys attached to the instance (installed for the login user).'),
  ssh_hint: z.string().nullable().describe('What to do to reach the machine over SSH when something is missing (e.g. no key attached); null when ready.'),
  ports: z
    .array(
      z.object({
        port: z.number().int().describe('Port on the machine.'),
        source: z.enum(['image', 'requested']).describe('image: opened by the image by default; requested: asked for at creation.'),
        url: z.string().nullable().describe('Public HTTPS URL of the port; null unless the instance is running.'),
      }),
    )
    .describe('HTTP ports exposed through the Pictor proxy.'),
  env_names: z.array(z.string()).describe('Names of the environment variables set at creation. Their values are secret and never shown.'),
  startup_script: z.boolean().describe('Whether a startup script runs (ran) once at first boot; its start and exit status are in get-instance-logs.'),
};

export const instanceDetailOutput = z.object(instanceDetailShape).describe('A GPU instance with its SSH keys, ports and what it was launched with.');

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function instanceOut(v: InstanceView): z.infer<typeof instanceOutput> {
  return {
    id: v.id,
    name: v.name,
    state: v.state,
    plan_id: v.planId,
    gpu_model: v.gpuModel,
    gpu_count: v.gpuCount,
    vram_gb_per_gpu: v.vramGb,
    vcpus: v.vcpus,
    ram_gb: v.ramGb,
    region: v.regionId,
    region_location: v.regionLocation,
    storage_gb: v.storageGb,
    rental_hours: v.rentalHours,
    auto_renew: v.autoRenew,
    created_at: v.createdAt.toISOString(),
    expires_at: v.expiresAt.toISOString(),
    ended_at: iso(v.endedAt),
    end_reason: v.endReason,
    paused_at: iso(v.pausedAt),
    delete_at: iso(v.deleteAt),
    pending_action: v.pendingAction,
    ssh: v.ssh,
    image: v.image,
    cost_per_hour: { gpu: money(v.rates.gpuPerHour), storage: money(v.rates.storagePerHour), total: money(v.rates.totalPerHour) },
    storage_per_month: money(v.rates.storagePerMonth),
    renewal_cost: money(v.renewalCost.total),
  };
}

export function instanceDetailOut(d: InstanceDetail): z.infer<typeof instanceDetailOutput> {
  return {
    ...instanceOut(d),
    ssh_keys: d.sshKeys.map((k) => ({ id: k.id, name: k.name, type: k.keyType, fingerprint: k.fingerprint })),
    ssh_hint: d.sshHint,
    ports: d.ports.map((p) => ({ port: p.port, source: p.source, url: p.url })),
    env_names: d.envNames,
    startup_script: d.hasStartupScript,
  };
}

/** One line a person can read: name, what it is, where, state and expiry. */
export function describeInstance(v: InstanceView): string {
  return (
    `"${v.name}" (${v.id}): ${v.gpuCount} × ${v.gpuModel} in ${v.regionId}, ${v.state}, ` +
    (v.state === 'paused' && v.deleteAt
      ? `prepaid time ended, will be deleted at ${v.deleteAt.toISOString()} unless started`
      : `${v.state === 'expired' ? 'ended' : 'prepaid until'} ${(v.state === 'expired' && v.endedAt ? v.endedAt : v.expiresAt).toISOString()}`) +
    `${v.autoRenew ? ', auto-renew on' : ''}`
  );
}

export function detailText(d: InstanceDetail): string {
  const lines = [describeInstance(d)];
  if (d.ssh && d.state === 'running') lines.push(`SSH: ${d.ssh.command}`);
  for (const p of d.ports) if (p.url) lines.push(`Port ${p.port}: ${p.url}`);
  if (d.sshHint) lines.push(d.sshHint);
  return lines.join('\n');
}
