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
  quoteDeleteInstance,
  renameInstance,
  setAutoRenew,
  quoteStartPaused,
  restartInstance,
  startInstance,
  startPausedInstance,
  stopInstance,
  type ChangeResult,
  type CreateQuote,
  type LaunchView,
  type LimitQuote,
  type StartPausedQuote,
} from '../pictor/instances/index.ts';
import { InvalidInputError, InvalidStateError } from '../pictor/errors.ts';
import { MAX_ENV_VARS, MAX_PORTS, MAX_STARTUP_SCRIPT_BYTES } from '../pictor/launch.ts';
import { cursorField, limitField, money, moneyOutput, nextCursorOutput, whose } from './common.ts';
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
    'Shows one GPU instance: plan, GPUs, region, state, prepaid-until time, auto-renew, SSH host, port and command, attached SSH keys, image, ' +
    'exposed HTTP ports with their public URLs (once running), the names of its environment variables (never their values), ' +
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

/** create-instance's input as the core takes it. */
function createRequest(input: {
  plan: string;
  gpu_count: number;
  region: string;
  storage_gb: number;
  rental_hours: number;
  name: string;
  ssh_key_ids: string[];
  auto_renew: boolean;
  image?: string | undefined;
  env?: Record<string, string> | undefined;
  ports?: number[] | undefined;
  startup_script?: string | undefined;
}) {
  return {
    plan: input.plan,
    gpuCount: input.gpu_count,
    region: input.region,
    storageGb: input.storage_gb,
    rentalHours: input.rental_hours,
    name: input.name,
    sshKeyIds: input.ssh_key_ids,
    autoRenew: input.auto_renew,
    image: input.image,
    env: input.env,
    ports: input.ports,
    startupScript: input.startup_script,
  };
}

const launchOutput = z
  .object({
    image: z.object({ id: z.string().describe('Image id.'), name: z.string().describe('Image name.') }).describe('The image the instance boots.'),
    ports: z.array(z.number().int()).describe("HTTP ports exposed: the image's defaults and the ones asked for."),
    env_names: z.array(z.string()).describe('Names of the environment variables set (values are secret and never shown).'),
    startup_script: z.boolean().describe('Whether a startup script runs once at first boot.'),
  })
  .describe('What the instance is (or would be) launched with. These options do not change the price.');

function launchOut(l: LaunchView): z.infer<typeof launchOutput> {
  return { image: { id: l.image.id, name: l.image.name }, ports: l.ports, env_names: l.envNames, startup_script: l.hasStartupScript };
}

export const createInstanceTool = defineTool({
  name: 'create-instance',
  title: 'Create a GPU instance',
  description:
    'Rents a GPU instance and charges the whole prepaid period up front: gpu_count × price per GPU-hour × rental_hours, plus storage ' +
    '(storage_gb × price per GB-month × hours / 730). Always call first with dry_run: true, show the person the exact cost and what stays on ' +
    'their balance, and ask them to confirm; only then call again with dry_run: false. Use list-gpus or check-gpu-availability to pick a plan, ' +
    'GPU count and region with free capacity. Attach an SSH key (ssh_key_ids from list-ssh-keys) or the person cannot log in. ' +
    'Options: image (list-images; default the Ubuntu 24.04 + CUDA 12.8 base), env (variables such as HF_TOKEN: stored sealed, never shown again, ' +
    "only their names), ports (HTTP ports to publish; get-instance-detail gives each one's URL once running) and startup_script (shell run once at " +
    'first boot; its exit status is in get-instance-logs); they do not change the price. ' +
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
    image: z
      .string()
      .max(100)
      .optional()
      .describe('Image id from list-images, e.g. "vllm-0.9". Default: the base image. It must fit the plan\'s GPU memory (list-gpus shows which fit).'),
    env: z
      .record(z.string().max(200), z.string())
      .optional()
      .describe(
        `Environment variables for the machine, e.g. {"HF_TOKEN": "hf_…"}: at most ${MAX_ENV_VARS}, POSIX names (letters, digits, _; not starting with a digit), ` +
          'values up to 8 KB. Values are secrets: stored sealed, handed only to the machine, never returned or logged; reads show the names.',
      ),
    ports: z
      .array(z.number().int())
      .max(MAX_PORTS, `ports: at most ${MAX_PORTS}`)
      .optional()
      .describe(`HTTP ports to expose (1–65535, not 22; at most ${MAX_PORTS}, each once), merged with the image's default ports.`),
    startup_script: z
      .string()
      .max(MAX_STARTUP_SCRIPT_BYTES, `startup_script: at most ${MAX_STARTUP_SCRIPT_BYTES} bytes (16 KB)`)
      .optional()
      .describe('Shell script run once as root at the end of the first boot (at most 16 KB); its start and exit status appear in get-instance-logs.'),
    dry_run: dryRunField,
    wait_seconds: waitSecondsField,
  },
  output: {
    ...quoteOutput,
    launch: launchOutput,
    instance: instanceDetailOutput.nullable().describe('The new instance (after the wait, when wait_seconds was given); null on a dry run.'),
    wait: waitOutput,
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  // env values and the script may hold secrets: only whether they were given is recorded.
  activity: {
    args: ['plan', 'gpu_count', 'region', 'storage_gb', 'rental_hours', 'name', 'ssh_key_ids', 'auto_renew', 'image', 'ports', 'dry_run'],
    given: ['env', 'startup_script'],
  },
  async confirm(input, ctx) {
    if (input.dry_run) return null;
    const q = await quoteCreateInstance(ctx.db, ctx.actor, createRequest(input));
    if (q.refusal) throw q.refusal;
    const team = ctx.actor.teamId === undefined ? '' : `, paid from ${whose(ctx.actor)}`;
    const renews = input.auto_renew ? ` Renews every ${q.rentalHours} h for ${money(q.cost.total)} credits while the balance covers it.` : '';
    return {
      message: `Create ${q.gpuCount} × ${q.gpuModel} in ${q.regionId} for ${q.rentalHours} h${team}: ${money(q.cost.total)} credits; ${money(q.balanceAfter ?? 0n)} left.${renews}`,
      amountMicro: q.cost.total,
    };
  },
  async handler(input, ctx) {
    const request = createRequest(input);
    if (input.dry_run) {
      const q = await quoteCreateInstance(ctx.db, ctx.actor, request);
      const what = `${q.gpuCount} × ${q.gpuModel} in ${q.regionId}, ${q.storageGb} GB, ${q.rentalHours} h, image ${q.launch.image.id}`;
      return {
        structured: {
          ...quoteOut(q),
          launch: launchOut(q.launch),
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
    const created = await createInstance(ctx.db, ctx.actor, request, ctx.clock, ctx.secrets);
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
        launch: launchOut(created.launch),
        instance: instanceDetailOut(created),
      },
      text:
        `Created ${describeInstance(created)}. Charged ${money(created.charged.total)} credits; ${money(left)} left.` +
        `${created.sshHint ? `\n${created.sshHint}` : ''}`,
      activity: { targetId: created.id, amountMicro: -created.charged.total },
    });
  },
});

const { dry_run: _dryRun, ...chargeShape } = quoteOutput;
const startChargeOutput = z
  .object({
    ...chargeShape,
    expires_after: z.string().describe('Prepaid-until time once started (ISO 8601, UTC): now + rental_hours.'),
    free_gpus: z.number().int().describe("GPUs of the instance's plan free in its region now (after this start, on a real call)."),
    gpus_needed: z.number().int().describe('GPUs the instance needs back.'),
  })
  .nullable()
  .describe(
    'Starting a paused instance: the price of rental_hours and whether it can start now; null when nothing is charged (a stopped or already running instance).',
  );

/** The text of a paused start's quote; also what a confirmation would show. */
function startQuoteText(q: StartPausedQuote): string {
  const what = `starting "${q.name}" (${q.gpusNeeded} GPUs in ${q.regionId}) for ${q.hours} h`;
  return q.wouldSucceed
    ? `Price check (nothing charged): ${what} costs ${money(q.cost.total)} credits (GPU ${money(q.cost.gpu)}, storage ${money(q.cost.storage)}); ` +
        `prepaid until ${q.expiresAfter.toISOString()}, ${money(q.balanceAfter ?? 0n)} would remain of ${money(q.available)}.${limitText(q.limit)} ` +
        'Ask the person to confirm, then call again with dry_run false.'
    : `Price check: ${what} costs ${money(q.cost.total)} credits, but it would be refused: ${q.reason}`;
}

export const startInstanceTool = defineTool({
  name: 'start-instance',
  title: 'Start a stopped or paused GPU instance',
  description:
    'Powers on a stopped instance; it boots in a few seconds and SSH answers again. That costs nothing extra: the prepaid period kept running ' +
    'while it was stopped. A paused instance (its prepaid time ended without renewal: GPUs released, disk kept until delete_at) needs rental_hours: ' +
    'that many hours are charged up front like a creation (GPU plus storage at the prices fixed when it was created), and it starts only if enough GPUs ' +
    'of its plan are free in its own region; otherwise nothing is charged and the refusal says what is free (try again later). For a paused instance ' +
    'call first with dry_run: true, tell the person the exact cost, and ask them to confirm; then call with dry_run: false. ' +
    'Starting a running instance changes nothing and charges nothing (a retried call is safe; with wait_seconds it still waits for one that is booting). ' +
    'With wait_seconds the call answers once it is running (with the SSH command) or when the time is up (with its state). Not possible while provisioning.',
  scope: 'instances:write',
  workspace: true,
  input: {
    instance_id: instanceIdField,
    rental_hours: hoursField
      .optional()
      .describe(`Only for a paused instance: prepaid hours to buy, ${MIN_RENTAL_HOURS}–${MAX_RENTAL_HOURS}; also the length of each auto-renewal after.`),
    dry_run: dryRunField.describe(
      'Only with rental_hours: true computes the exact cost and whether it can start now (GPUs free, balance, spending limit); nothing is charged or changed.',
    ),
    wait_seconds: waitSecondsField,
  },
  output: {
    changed: z.boolean().describe('false when the instance already was running and nothing changed (also on a dry run).'),
    dry_run: z.boolean().describe('true when this was only a price check and nothing changed.'),
    charge: startChargeOutput,
    instance: instanceDetailOutput.nullable().describe('The instance after the call (after the wait, when wait_seconds was given); null on a dry run.'),
    wait: waitOutput,
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  activity: { args: ['rental_hours', 'dry_run'], target: 'instance_id' },
  // Only starting a paused instance spends. A start that would be refused, or an instance that is no
  // longer paused (a retry after it started), is left to the handler, which says why or charges nothing.
  async confirm(input, ctx) {
    if (input.rental_hours === undefined || input.dry_run) return null;
    let q: StartPausedQuote;
    try {
      q = await quoteStartPaused(ctx.db, ctx.actor, input.instance_id, input.rental_hours, ctx.clock);
    } catch (error) {
      if (error instanceof InvalidStateError) return null;
      throw error;
    }
    if (!q.wouldSucceed) return null;
    const team = ctx.actor.teamId === undefined ? '' : `, paid from ${whose(ctx.actor)}`;
    return {
      message:
        `Start the paused instance "${q.name}" (${q.gpusNeeded} GPU${q.gpusNeeded === 1 ? '' : 's'} in ${q.regionId}) for ${q.hours} h${team}, prepaid until ${q.expiresAfter.toISOString()}: ` +
        `${money(q.cost.total)} credits; ${money(q.balanceAfter ?? 0n)} left.`,
      amountMicro: q.cost.total,
    };
  },
  async handler(input, ctx) {
    if (input.rental_hours === undefined) {
      if (input.dry_run)
        throw new InvalidInputError('dry_run', 'prices starting a paused instance and needs rental_hours; starting a stopped instance is free');
      const r = await startInstance(ctx.db, ctx.actor, input.instance_id, ctx.clock);
      return thenWait(ctx, input.wait_seconds, {
        structured: { changed: r.changed, dry_run: false, charge: null, instance: instanceDetailOut(r) },
        text: `${r.changed ? 'Starting the instance.' : 'The instance was already running.'}\n${detailText(r)}`,
      });
    }
    if (input.dry_run) {
      const q = await quoteStartPaused(ctx.db, ctx.actor, input.instance_id, input.rental_hours, ctx.clock);
      const { dry_run: _, ...charge } = quoteOut(q);
      return {
        structured: {
          changed: false,
          dry_run: true,
          charge: { ...charge, expires_after: q.expiresAfter.toISOString(), free_gpus: q.freeGpus, gpus_needed: q.gpusNeeded },
          instance: null,
          wait: null,
        },
        text: startQuoteText(q),
        activity: null,
      };
    }
    const r = await startPausedInstance(ctx.db, ctx.actor, input.instance_id, input.rental_hours, ctx.clock);
    if (!r.charged) {
      return thenWait(ctx, input.wait_seconds, {
        structured: { changed: false, dry_run: false, charge: null, instance: instanceDetailOut(r) },
        text: `The instance was already running; nothing was charged.\n${detailText(r)}`,
      });
    }
    const left = r.fundsAfter.balance + r.fundsAfter.credit;
    // The charge has committed before any wait begins.
    return thenWait(ctx, input.wait_seconds, {
      structured: {
        changed: true,
        dry_run: false,
        charge: {
          would_succeed: true,
          reason: null,
          cost: costOut(r.charged),
          available: money(left + r.charged.total),
          balance_after: money(left),
          spending_limit: null,
          expires_after: r.expiresAt.toISOString(),
          free_gpus: r.freeGpusAfter,
          gpus_needed: r.gpuCount,
        },
        instance: instanceDetailOut(r),
      },
      text: `Starting the paused instance for ${input.rental_hours} h: charged ${money(r.charged.total)} credits; ${money(left)} left.\n${detailText(r)}`,
      activity: { amountMicro: -r.charged.total },
    });
  },
});

export const restartInstanceTool = defineTool({
  name: 'restart-instance',
  title: 'Restart a running GPU instance',
  description:
    'Reboots a running instance: running processes end and unsaved work in memory is lost; the disk, the GPUs, the SSH address and the prepaid ' +
    'period stay, and nothing is charged. SSH answers again within seconds. Confirm with the person first. Each call reboots again. ' +
    'Only a running instance can be restarted (start-instance starts a stopped or paused one).',
  scope: 'instances:write',
  workspace: true,
  input: { instance_id: instanceIdField, wait_seconds: waitSecondsField },
  output: { ...changeOutput, wait: waitOutput },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  activity: { args: [], target: 'instance_id' },
  async handler(input, ctx) {
    const restarted = await restartInstance(ctx.db, ctx.actor, input.instance_id, ctx.clock);
    return thenWait(ctx, input.wait_seconds, changeResult(restarted, 'Restarting the instance.', 'The instance was not restarted.'));
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
    '(otherwise it pauses: GPUs released, disk kept for a grace period, then deleted). This commits the person to future charges: tell them the renewal cost and period ' +
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
    'Stops the instance from renewing itself: at expires_at it pauses: its GPUs are released and its disk is kept for a grace period (start-instance with ' +
    'rental_hours runs it again), then deleted. Nothing is charged or refunded now. Mention the expiry time to the person. Disabling it twice changes nothing.',
  scope: 'instances:write',
  workspace: true,
  input: { instance_id: instanceIdField },
  output: changeOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  activity: { args: [], target: 'instance_id' },
  async handler(input, ctx) {
    const r = await setAutoRenew(ctx.db, ctx.actor, input.instance_id, false, ctx.clock);
    return changeResult(
      r,
      `Auto-renew is off: at ${r.expiresAt.toISOString()} the instance pauses (GPUs released, disk kept for a grace period) unless hours are added.`,
      'Auto-renew was already off.',
    );
  },
});

export const addInstanceHoursTool = defineTool({
  name: 'add-instance-hours',
  title: 'Add prepaid hours to a GPU instance',
  description:
    "Extends an instance's prepaid period by whole hours and charges for them now, at the prices fixed when the instance was created " +
    '(GPU plus storage for the added hours). Call first with dry_run: true, tell the person the exact cost and the new expiry, and ask them to ' +
    'confirm; then call with dry_run: false. Works while provisioning, running or stopped; a paused instance is started with start-instance and rental_hours instead. Refused with the shortfall when the balance is short, ' +
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
  async confirm(input, ctx) {
    if (input.dry_run) return null;
    const q = await quoteAddInstanceHours(ctx.db, ctx.actor, input.instance_id, input.hours);
    if (q.refusal) throw q.refusal;
    const team = ctx.actor.teamId === undefined ? '' : ` (${whose(ctx.actor)})`;
    return {
      message: `Add ${q.hours} h to "${q.name}"${team}, prepaid until ${q.expiresAfter.toISOString()}: ${money(q.cost.total)} credits; ${money(q.balanceAfter ?? 0n)} left.`,
      amountMicro: q.cost.total,
    };
  },
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
    "instance and say that its data will be lost, and get the person's explicit confirmation first. Also deletes a paused instance (and its kept disk) at once, " +
    'and removes an expired one from the list.',
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
  async confirm(input, ctx) {
    const q = await quoteDeleteInstance(ctx.db, ctx.actor, input.instance_id, ctx.clock);
    const team = ctx.actor.teamId === undefined ? '' : ` (${whose(ctx.actor)})`;
    if (!q.active) return { message: `Remove the ended instance "${q.name}"${team} from the list. Nothing is refunded.`, amountMicro: 0n };
    const refund =
      q.refund.total > 0n
        ? `${money(q.refund.total)} credits are refunded for ${q.refund.hours} unused hour${q.refund.hours === 1 ? '' : 's'}.`
        : 'Nothing is refunded (no unused whole hours).';
    return {
      message: `Delete "${q.name}"${team}, ${q.gpuCount} × ${q.gpuModel} in ${q.regionId}: its disk is wiped for good and its GPUs are released. ${refund}`,
      amountMicro: q.refund.total,
    };
  },
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
    "Shows an instance's log: lifecycle events (created, started, stopped, restarted, renewed, paused with its deletion time, deleted), billing lines (charges, refunds) and the " +
    "machine's boot output (kernel, NVIDIA driver, nvidia-smi, sshd, published ports, the startup script's start and exit status). Oldest first, newest last, paged: when next_cursor is not null, pass it back " +
    'as cursor for newer lines. Use it to see why an instance was paused or whether it booted. Read-only and free.',
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
  restartInstanceTool,
  stopInstanceTool,
  enableAutoRenewTool,
  disableAutoRenewTool,
  addInstanceHoursTool,
  renameInstanceTool,
  deleteInstanceTool,
  getInstanceLogsTool,
  addSshKeysToInstanceTool,
];
