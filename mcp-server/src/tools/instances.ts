// The GPU instance tools: thin declarations over pictor/instances/. The handlers hold no SQL;
// the core checks the account (own or team) and every rule, and throws DomainErrors that
// tools/errors.ts turns into messages a person can act on.
import { z } from 'zod';
import { addHours, MAX_RENTAL_HOURS, MIN_RENTAL_HOURS } from '../pictor/billing.ts';
import {
  addInstanceHours,
  ALL_STATES,
  attachSshKeys,
  createInstance,
  deleteInstance,
  getInstanceDetail,
  getInstanceLogs,
  listInstances,
  MAX_KEYS_PER_CALL,
  MAX_NAME_LENGTH,
  quoteAddInstanceHours,
  quoteCreateInstance,
  renameInstance,
  setAutoRenew,
  startInstance,
  stopInstance,
  type ChangeResult,
  type CreateQuote,
  type LimitQuote,
} from '../pictor/instances/index.ts';
import { cursorField, limitField, money, moneyOutput, nextCursorOutput } from './common.ts';
import { defineTool, type ToolDefinition } from './define.ts';
import {
  costOut,
  costOutput,
  describeInstance,
  detailText,
  instanceDetailOut,
  instanceDetailOutput,
  instanceDetailShape,
  instanceIdField,
  instanceOut,
  instanceOutput,
} from './instance-output.ts';
import { thenWait, waitOutput, waitSecondsField } from './instance-wait.ts';

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

const nameField = z.string().max(200).describe(`Display name, 1–${MAX_NAME_LENGTH} characters after trimming surrounding spaces, e.g. "llama-finetune".`);
const hoursField = z.number().int().describe(`Whole hours, ${MIN_RENTAL_HOURS}–${MAX_RENTAL_HOURS}.`);
const sshKeyIdsField = z
  .array(z.string().max(100))
  .max(MAX_KEYS_PER_CALL)
  .describe(`Ids of SSH keys in the same account (from list-ssh-keys), at most ${MAX_KEYS_PER_CALL}.`);
const dryRunField = z
  .boolean()
  .default(false)
  .describe('true: only compute the exact cost, the balance after and whether it would succeed; nothing is charged or changed.');

const changeOutput = {
  changed: z.boolean().describe('false when the instance already was as asked and nothing changed.'),
  instance: instanceDetailOutput,
};

function changeResult(r: ChangeResult, did: string, already: string) {
  return {
    structured: { changed: r.changed, instance: instanceDetailOut(r) },
    text: `${r.changed ? did : already}\n${detailText(r)}`,
  };
}

export const listMyInstancesTool = defineTool({
  name: 'list-my-instances',
  title: 'List GPU instances',
  description:
    "Lists the GPU instances of the person's Pictor account, or of a team when team_id is given: id, name, GPUs, region, state, " +
    'prepaid-until time, auto-renew, SSH address and hourly cost. Newest first, paged: when next_cursor is not null, pass it back as cursor. ' +
    'Deleted instances are hidden unless state is "deleted". Use it to find an instance id for the other instance tools. Read-only and free.',
  scope: 'pictor:read',
  workspace: true,
  input: {
    state: z.enum(ALL_STATES).optional().describe('Only instances in this state. Omit for every instance that is not deleted.'),
    cursor: cursorField,
    limit: limitField,
  },
  output: {
    instances: z.array(instanceOutput).describe('Instances on this page, newest first.'),
    next_cursor: nextCursorOutput,
  },
  annotations: READ,
  async handler(input, ctx) {
    const page = await listInstances(ctx.db, ctx.actor, { state: input.state, cursor: input.cursor, limit: input.limit });
    const text =
      page.items.length === 0
        ? input.cursor === undefined
          ? 'No instances. Create one with create-instance (list-gpus shows plans and prices).'
          : 'No more instances.'
        : [...page.items.map((v) => `- ${describeInstance(v)}`), ...(page.nextCursor ? ['More: call again with next_cursor as cursor.'] : [])].join('\n');
    return { structured: { instances: page.items.map(instanceOut), next_cursor: page.nextCursor }, text };
  },
});

export const getInstanceDetailTool = defineTool({
  name: 'get-instance-detail',
  title: 'Get GPU instance detail',
  description:
    'Shows one GPU instance: plan, GPUs, region, state, prepaid-until time, auto-renew, SSH host, port and command, attached SSH keys, ' +
    'cost per hour and per renewal. When SSH is not possible yet (no key attached, still provisioning, stopped) ssh_hint says what to do. ' +
    'An id of another account, or of a deleted instance, answers "Instance not found". Read-only and free.',
  scope: 'pictor:read',
  workspace: true,
  input: { instance_id: instanceIdField },
  output: instanceDetailShape,
  annotations: READ,
  async handler(input, ctx) {
    const detail = await getInstanceDetail(ctx.db, ctx.actor, input.instance_id);
    return { structured: instanceDetailOut(detail), text: detailText(detail) };
  },
});

const quoteOutput = {
  dry_run: z.boolean().describe('true when this was only a price check and nothing changed.'),
  would_succeed: z.boolean().describe('Whether the request can go through now (for a real call: it did).'),
  reason: z
    .string()
    .nullable()
    .describe("Why it would be refused (insufficient balance with the shortfall, capacity, or the app's spending limit); null when it would succeed."),
  cost: costOutput,
  available: moneyOutput.describe('Balance plus credit before the charge.'),
  balance_after: moneyOutput.nullable().describe('Balance plus credit after the charge; null when it would be refused.'),
  spending_limit: z
    .object({
      limit: moneyOutput.describe('What the person allowed this app to spend per rolling 24 hours, in credits.'),
      spent_last_24h: moneyOutput.describe('What this app has spent for the person in the last 24 hours (any workspace), in credits.'),
      headroom_after: moneyOutput.nullable().describe('What the app may still spend after this charge; null when the charge would pass the limit.'),
    })
    .nullable()
    .describe('On a dry run, the daily spending limit the person set for this app, next to the balance after; null when it has none, and on a real call.'),
};

/** A dry run's spending_limit field. */
function limitOut(limit: LimitQuote | null) {
  return (
    limit && {
      limit: money(limit.limit),
      spent_last_24h: money(limit.spentLast24h),
      headroom_after: limit.headroomAfter === null ? null : money(limit.headroomAfter),
    }
  );
}

/** The fields every dry-run quote shares (create-instance, add-instance-hours). */
function quoteOut(q: Pick<CreateQuote, 'wouldSucceed' | 'reason' | 'cost' | 'available' | 'balanceAfter' | 'limit'>) {
  return {
    dry_run: true as const,
    would_succeed: q.wouldSucceed,
    reason: q.reason,
    cost: costOut(q.cost),
    available: money(q.available),
    balance_after: q.balanceAfter === null ? null : money(q.balanceAfter),
    spending_limit: limitOut(q.limit),
  };
}

/** What a dry run's text says of the app's limit, when it has one. */
function limitText(limit: LimitQuote | null): string {
  return limit && limit.headroomAfter !== null
    ? ` This app's daily spending limit (${money(limit.limit)} credits per 24 h) leaves ${money(limit.headroomAfter)} after this.`
    : '';
}

export const createInstanceTool = defineTool({
  name: 'create-instance',
  title: 'Create a GPU instance',
  description:
    'Rents a GPU instance and charges the whole prepaid period up front: gpu_count × price per GPU-hour × rental_hours, plus storage ' +
    '(storage_gb × price per GB-month × hours / 730). Always call first with dry_run: true, show the person the exact cost and what stays on ' +
    'their balance, and ask them to confirm; only then call again with dry_run: false. Use list-gpus or check-gpu-availability to pick a plan, ' +
    'GPU count and region with free capacity. Attach an SSH key (ssh_key_ids from list-ssh-keys) or the person cannot log in. ' +
    'The instance is provisioning for a few seconds, then running; with wait_seconds the call answers once it is running (with the SSH command) or ' +
    'when the time is up (with its state). Stopping it later does not pause the prepaid time. With auto_renew it ' +
    'renews for rental_hours at expiry when the balance covers it. Refusals say the shortfall (insufficient balance) or where GPUs are free; ' +
    'a spending_limit refusal (the daily limit the person set for this app) gives the figures and the page where only the person can raise it: tell them, do not retry.',
  scope: 'instances:write',
  workspace: true,
  input: {
    plan: z.string().max(100).describe('GPU plan id from list-gpus (e.g. "h100-80gb"), or an unambiguous GPU model such as "H100".'),
    gpu_count: z.number().int().describe("Number of GPUs; must be one of the plan's allowed_gpu_counts (e.g. 1, 2, 4, 8)."),
    region: z.string().max(100).describe('Region id from list-gpus, e.g. "us-east".'),
    storage_gb: z.number().int().describe("Disk size in GB, within the plan's storage limits."),
    rental_hours: hoursField.describe(`Prepaid hours, ${MIN_RENTAL_HOURS}–${MAX_RENTAL_HOURS}; also the length of each auto-renewal.`),
    name: nameField,
    ssh_key_ids: sshKeyIdsField.default([]),
    auto_renew: z.boolean().default(false).describe('Renew for rental_hours at expiry when the balance covers it (charged then). Default false.'),
    dry_run: dryRunField,
    wait_seconds: waitSecondsField,
  },
  output: {
    ...quoteOutput,
    instance: instanceDetailOutput.nullable().describe('The new instance (after the wait, when wait_seconds was given); null on a dry run.'),
    wait: waitOutput,
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  activity: { args: ['plan', 'gpu_count', 'region', 'storage_gb', 'rental_hours', 'name', 'ssh_key_ids', 'auto_renew', 'dry_run'] },
  async handler(input, ctx) {
    const request = {
      plan: input.plan,
      gpuCount: input.gpu_count,
      region: input.region,
      storageGb: input.storage_gb,
      rentalHours: input.rental_hours,
      name: input.name,
      sshKeyIds: input.ssh_key_ids,
      autoRenew: input.auto_renew,
    };
    if (input.dry_run) {
      const q = await quoteCreateInstance(ctx.db, ctx.actor, request);
      const what = `${q.gpuCount} × ${q.gpuModel} in ${q.regionId}, ${q.storageGb} GB, ${q.rentalHours} h`;
      return {
        structured: {
          ...quoteOut(q),
          instance: null,
          wait: null,
        },
        text: q.wouldSucceed
          ? `Price check (nothing charged): ${what} costs ${money(q.cost.total)} credits (GPU ${money(q.cost.gpu)}, storage ${money(q.cost.storage)}); ` +
            `${money(q.balanceAfter ?? 0n)} would remain of ${money(q.available)}.${limitText(q.limit)} Ask the person to confirm, then call again with dry_run false.`
          : `Price check: ${what} costs ${money(q.cost.total)} credits, but it would be refused: ${q.reason}`,
        activity: null,
      };
    }
    // The creation (charge, capacity, instance) has committed before any wait begins.
    const created = await createInstance(ctx.db, ctx.actor, request, ctx.clock);
    const left = created.fundsAfter.balance + created.fundsAfter.credit;
    return thenWait(ctx, input.wait_seconds, {
      structured: {
        dry_run: false,
        would_succeed: true,
        reason: null,
        cost: costOut(created.charged),
        available: money(left + created.charged.total),
        balance_after: money(left),
        spending_limit: null,
        instance: instanceDetailOut(created),
      },
      text:
        `Created ${describeInstance(created)}. Charged ${money(created.charged.total)} credits; ${money(left)} left.` +
        `${created.sshHint ? `\n${created.sshHint}` : ''}`,
      activity: { targetId: created.id, amountMicro: -created.charged.total },
    });
  },
});

export const startInstanceTool = defineTool({
  name: 'start-instance',
  title: 'Start a stopped GPU instance',
  description:
    'Powers on a stopped instance; it boots in a few seconds and SSH answers again. Costs nothing extra: the prepaid period kept running ' +
    'while it was stopped. Starting a running instance changes nothing (with wait_seconds it still waits for one that is booting). ' +
    'With wait_seconds the call answers once it is running (with the SSH command) or when the time is up (with its state). ' +
    'Not possible while provisioning, or after expiry.',
  scope: 'instances:write',
  workspace: true,
  input: { instance_id: instanceIdField, wait_seconds: waitSecondsField },
  output: { ...changeOutput, wait: waitOutput },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  activity: { args: [], target: 'instance_id' },
  async handler(input, ctx) {
    const started = await startInstance(ctx.db, ctx.actor, input.instance_id, ctx.clock);
    return thenWait(ctx, input.wait_seconds, changeResult(started, 'Starting the instance.', 'The instance was already running.'));
  },
});

export const stopInstanceTool = defineTool({
  name: 'stop-instance',
  title: 'Stop a running GPU instance',
  description:
    'Powers off a running instance: running processes end and unsaved work in memory is lost; the disk is kept. Confirm with the person first. ' +
    'Stopping does not pause billing or refund anything: the prepaid period keeps running and the GPUs stay reserved, so start-instance works at any time ' +
    'before expiry. To end the rental and get unused whole hours back, use delete-instance instead. Stopping a stopped instance changes nothing.',
  scope: 'instances:write',
  workspace: true,
  input: { instance_id: instanceIdField },
  output: changeOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  activity: { args: [], target: 'instance_id' },
  async handler(input, ctx) {
    return changeResult(await stopInstance(ctx.db, ctx.actor, input.instance_id, ctx.clock), 'Stopping the instance.', 'The instance was already stopped.');
  },
});

export const enableAutoRenewTool = defineTool({
  name: 'enable-instance-auto-renew',
  title: 'Turn on auto-renew',
  description:
    'Makes the instance renew itself at expiry for its rental_hours, charging renewal_cost each time the balance covers it ' +
    '(otherwise it expires and its GPUs are released). This commits the person to future charges: tell them the renewal cost and period ' +
    '(from get-instance-detail) and confirm first. Enabling it twice changes nothing.',
  scope: 'instances:write',
  workspace: true,
  input: { instance_id: instanceIdField },
  output: changeOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  activity: { args: [], target: 'instance_id' },
  async handler(input, ctx) {
    const r = await setAutoRenew(ctx.db, ctx.actor, input.instance_id, true, ctx.clock);
    return changeResult(
      r,
      `Auto-renew is on: every ${r.rentalHours} h for ${money(r.renewalCost.total)} credits while the balance covers it.`,
      'Auto-renew was already on.',
    );
  },
});

export const disableAutoRenewTool = defineTool({
  name: 'disable-instance-auto-renew',
  title: 'Turn off auto-renew',
  description:
    'Stops the instance from renewing itself: at expires_at it ends, its GPUs are released and its disk is wiped. Nothing is charged or refunded now. ' +
    'Mention the expiry time to the person. Disabling it twice changes nothing.',
  scope: 'instances:write',
  workspace: true,
  input: { instance_id: instanceIdField },
  output: changeOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  activity: { args: [], target: 'instance_id' },
  async handler(input, ctx) {
    const r = await setAutoRenew(ctx.db, ctx.actor, input.instance_id, false, ctx.clock);
    return changeResult(r, `Auto-renew is off: the instance ends at ${r.expiresAt.toISOString()} unless hours are added.`, 'Auto-renew was already off.');
  },
});

export const addInstanceHoursTool = defineTool({
  name: 'add-instance-hours',
  title: 'Add prepaid hours to a GPU instance',
  description:
    "Extends an instance's prepaid period by whole hours and charges for them now, at the prices fixed when the instance was created " +
    '(GPU plus storage for the added hours). Call first with dry_run: true, tell the person the exact cost and the new expiry, and ask them to ' +
    'confirm; then call with dry_run: false. Works while provisioning, running or stopped, not after expiry. Refused with the shortfall when the balance is short, ' +
    'or when it would pass the daily spending limit the person set for this app (tell them where to raise it; do not retry).',
  scope: 'instances:write',
  workspace: true,
  input: {
    instance_id: instanceIdField,
    hours: hoursField.describe(`Hours to add, ${MIN_RENTAL_HOURS}–${MAX_RENTAL_HOURS}.`),
    dry_run: dryRunField,
  },
  output: {
    ...quoteOutput,
    expires_at: z.string().describe('Prepaid-until time before this change (ISO 8601, UTC).'),
    expires_after: z.string().describe('Prepaid-until time with the added hours (ISO 8601, UTC).'),
    instance: instanceDetailOutput.nullable().describe('The instance after the change; null on a dry run.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  activity: { args: ['hours', 'dry_run'], target: 'instance_id' },
  async handler(input, ctx) {
    if (input.dry_run) {
      const q = await quoteAddInstanceHours(ctx.db, ctx.actor, input.instance_id, input.hours);
      return {
        structured: {
          ...quoteOut(q),
          expires_at: q.expiresAt.toISOString(),
          expires_after: q.expiresAfter.toISOString(),
          instance: null,
        },
        text: q.wouldSucceed
          ? `Price check (nothing charged): ${q.hours} more hours cost ${money(q.cost.total)} credits; prepaid until ${q.expiresAfter.toISOString()}, ` +
            `${money(q.balanceAfter ?? 0n)} would remain.${limitText(q.limit)} Ask the person to confirm, then call again with dry_run false.`
          : `Price check: ${q.hours} more hours cost ${money(q.cost.total)} credits, but it would be refused: ${q.reason}`,
        activity: null,
      };
    }
    const r = await addInstanceHours(ctx.db, ctx.actor, input.instance_id, input.hours, ctx.clock);
    const left = r.fundsAfter.balance + r.fundsAfter.credit;
    return {
      structured: {
        dry_run: false,
        would_succeed: true,
        reason: null,
        cost: costOut(r.charged),
        available: money(left + r.charged.total),
        balance_after: money(left),
        spending_limit: null,
        expires_at: addHours(r.expiresAt, -input.hours).toISOString(),
        expires_after: r.expiresAt.toISOString(),
        instance: instanceDetailOut(r),
      },
      text: `Added ${input.hours} h for ${money(r.charged.total)} credits; prepaid until ${r.expiresAt.toISOString()}. ${money(left)} left.`,
      activity: { amountMicro: -r.charged.total },
    };
  },
});

export const renameInstanceTool = defineTool({
  name: 'rename-instance',
  title: 'Rename a GPU instance',
  description: "Changes an instance's display name. Free; nothing else changes. Works on any instance that is not deleted.",
  scope: 'instances:write',
  workspace: true,
  input: { instance_id: instanceIdField, name: nameField.describe(`New display name, 1–${MAX_NAME_LENGTH} characters after trimming.`) },
  output: changeOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  activity: { args: ['name'], target: 'instance_id' },
  async handler(input, ctx) {
    const r = await renameInstance(ctx.db, ctx.actor, input.instance_id, input.name, ctx.clock);
    return changeResult(r, `Renamed to "${r.name}".`, `The name already was "${r.name}".`);
  },
});

export const deleteInstanceTool = defineTool({
  name: 'delete-instance',
  title: 'Delete a GPU instance',
  description:
    'Ends the rental now: the machine is powered off, its disk is wiped for good and its GPUs are released. Unused WHOLE hours of the prepaid ' +
    'period are refunded (GPU and storage; a started hour is not), to the balance or credit they were paid from. This cannot be undone: name the ' +
    "instance and say that its data will be lost, and get the person's explicit confirmation first. Also removes an expired instance from the list.",
  scope: 'instances:write',
  workspace: true,
  input: { instance_id: instanceIdField },
  output: {
    id: z.string().describe("The deleted instance's id."),
    name: z.string().describe('Its name.'),
    refund: costOutput.describe('Refund for the unused whole hours (zero when it had already expired).'),
    refunded_to_balance: moneyOutput.describe('Part of the refund returned to the paid balance.'),
    refunded_to_credit: moneyOutput.describe('Part of the refund returned to promotional credit.'),
    gpus_released: z.number().int().describe('GPUs returned to the region.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  activity: { args: [], target: 'instance_id' },
  async handler(input, ctx) {
    const d = await deleteInstance(ctx.db, ctx.actor, input.instance_id, ctx.clock);
    return {
      structured: {
        id: d.id,
        name: d.name,
        refund: costOut(d.refund),
        refunded_to_balance: money(d.refundedToBalance),
        refunded_to_credit: money(d.refundedToCredit),
        gpus_released: d.gpusReleased,
      },
      text: `Deleted "${d.name}" (${d.id}). ${
        d.refund.total > 0n ? `Refunded ${money(d.refund.total)} credits for ${d.refund.hours} unused hours.` : 'No unused whole hours to refund.'
      }`,
      activity: { amountMicro: d.refundedToBalance + d.refundedToCredit },
    };
  },
});

export const getInstanceLogsTool = defineTool({
  name: 'get-instance-logs',
  title: 'Get GPU instance logs',
  description:
    "Shows an instance's log: lifecycle events (created, started, stopped, renewed, expired), billing lines (charges, refunds) and the " +
    "machine's boot output (kernel, NVIDIA driver, nvidia-smi, sshd). Oldest first, newest last, paged: when next_cursor is not null, pass it back " +
    'as cursor for newer lines. Use it to see why an instance expired or whether it booted. Read-only and free.',
  scope: 'pictor:read',
  workspace: true,
  input: { instance_id: instanceIdField, cursor: cursorField, limit: limitField },
  output: {
    lines: z
      .array(
        z.object({
          at: z.string().describe('Time of the line (ISO 8601, UTC).'),
          source: z.enum(['lifecycle', 'boot', 'billing']).describe('lifecycle: Pictor events; boot: machine output; billing: charges and refunds.'),
          message: z.string().describe('The line.'),
        }),
      )
      .describe('Log lines, oldest first.'),
    next_cursor: nextCursorOutput,
  },
  annotations: READ,
  async handler(input, ctx) {
    const page = await getInstanceLogs(ctx.db, ctx.actor, input.instance_id, { cursor: input.cursor, limit: input.limit });
    const lines = page.items.map((l) => ({ at: l.at.toISOString(), source: l.source, message: l.message }));
    return {
      structured: { lines, next_cursor: page.nextCursor },
      text:
        lines.length === 0
          ? 'No log lines.'
          : [...lines.map((l) => `${l.at} [${l.source}] ${l.message}`), ...(page.nextCursor ? ['More: call again with next_cursor as cursor.'] : [])].join(
              '\n',
            ),
    };
  },
});

export const addSshKeysToInstanceTool = defineTool({
  name: 'add-ssh-keys-to-instance',
  title: 'Attach SSH keys to a GPU instance',
  description:
    "Attaches saved SSH keys (ids from list-ssh-keys, same account or team) to an instance so their owners can log in as the instance's SSH user. " +
    'Keys already attached are skipped. Free. To add a new key first, use create-ssh-key. Works while provisioning, running or stopped.',
  scope: 'instances:write',
  workspace: true,
  input: { instance_id: instanceIdField, ssh_key_ids: sshKeyIdsField.min(1, 'ssh_key_ids: give at least one SSH key id') },
  output: {
    attached: z
      .array(
        z.object({
          id: z.string().describe('SSH key id.'),
          name: z.string().describe('SSH key name.'),
          fingerprint: z.string().describe('SHA256 fingerprint.'),
        }),
      )
      .describe('Keys newly attached by this call.'),
    instance: instanceDetailOutput,
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  activity: { args: ['ssh_key_ids'], target: 'instance_id' },
  async handler(input, ctx) {
    const r = await attachSshKeys(ctx.db, ctx.actor, input.instance_id, input.ssh_key_ids, ctx.clock);
    const attached = r.attached.map((k) => ({ id: k.id, name: k.name, fingerprint: k.fingerprint }));
    return {
      structured: { attached, instance: instanceDetailOut(r) },
      text: `${attached.length === 0 ? 'Those keys were already attached.' : `Attached ${attached.map((k) => `"${k.name}" (${k.fingerprint})`).join(', ')}.`}\n${detailText(r)}`,
    };
  },
});

export const instanceTools: ToolDefinition[] = [
  listMyInstancesTool,
  getInstanceDetailTool,
  createInstanceTool,
  startInstanceTool,
  stopInstanceTool,
  enableAutoRenewTool,
  disableAutoRenewTool,
  addInstanceHoursTool,
  renameInstanceTool,
  deleteInstanceTool,
  getInstanceLogsTool,
  addSshKeysToInstanceTool,
];
