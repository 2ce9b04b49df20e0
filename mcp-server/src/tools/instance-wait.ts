// wait_seconds on the tools that bring an instance up (create-instance, start-instance, and any
// later one): after the change is done and on record, wait until the instance is running or the
// time is up, sending progress notifications (queued → provisioning → booting → running) when the
// request asked for them. A tool adds `wait_seconds: waitSecondsField` to its input,
// `wait: waitOutput` to its output, and wraps its result: `return thenWait(ctx, input.wait_seconds, result)`.
import { z } from 'zod';
import { START_PHASES, waitUntilRunning, type InstanceView, type StartPhase, type WaitResult } from '../pictor/instances/index.ts';
import type { ToolContext, ToolResult } from './define.ts';
import { detailText, instanceDetailOut, type instanceDetailOutput } from './instance-output.ts';

export const MAX_WAIT_SECONDS = 120;

const waitRange = `wait_seconds: must be a whole number of seconds from 0 (do not wait) to ${MAX_WAIT_SECONDS}`;

export const waitSecondsField = z
  .number({ error: waitRange })
  .int({ error: waitRange })
  .min(0, { error: waitRange })
  .max(MAX_WAIT_SECONDS, { error: waitRange })
  .default(0)
  .describe(
    `Seconds to wait, 0–${MAX_WAIT_SECONDS} (default 0: answer at once). The call then answers when the instance is running, with its SSH command, ` +
      'or when the time is up, with its current state. Clients that send a progressToken get progress notifications meanwhile.',
  );

export const waitOutput = z
  .object({
    outcome: z
      .enum(['running', 'timed_out', 'settled', 'interrupted'])
      .describe(
        'running: it is running now. timed_out: still starting when wait_seconds ran out (it carries on by itself). ' +
          'settled: it is in a state it will not leave for running by itself (e.g. stopped or expired meanwhile). interrupted: the wait ended early (see message).',
      ),
    waited_seconds: z.number().describe('Seconds spent waiting, to a tenth.'),
    message: z.string().describe('What happened, for the person.'),
  })
  .nullable()
  .describe('The wait asked for with wait_seconds; null when the call did not wait.');

type WaitOut = z.infer<typeof waitOutput>;
const tenths = (ms: number): number => Math.round(ms / 100) / 10;
type DetailOut = z.infer<typeof instanceDetailOutput>;

const STEP: Record<StartPhase, number> = Object.fromEntries(START_PHASES.map((phase, i) => [phase, i + 1])) as Record<StartPhase, number>;

function phaseMessage(phase: StartPhase, v: InstanceView): string {
  switch (phase) {
    case 'queued':
      return v.state === 'provisioning'
        ? 'Queued: the machine request waits for a worker to hand it to the hardware.'
        : 'Queued: the power-on request waits for a worker to hand it to the hardware.';
    case 'provisioning':
      return `Provisioning: the hardware is setting up ${v.gpuCount} × ${v.gpuModel} in ${v.regionId} with a ${v.storageGb} GB disk and booting it.`;
    case 'booting':
      return 'Booting: the machine is powering on; SSH answers when it is up.';
    case 'running':
      return v.ssh ? `Running: ${v.ssh.command}` : 'Running.';
  }
}

function outcomeMessage(r: WaitResult): string {
  const seconds = `${Math.round(r.waitedMs / 1000)} s`;
  switch (r.outcome) {
    case 'running':
      return `Running after ${seconds}.`;
    case 'timed_out':
      return `Still ${r.phase} after ${seconds}; it carries on by itself. Check with get-instance-detail (state becomes running, with the SSH command).`;
    case 'settled':
      return `The instance is ${r.detail.state}${r.detail.endReason ? ` (${r.detail.endReason})` : ''}; it will not become running by itself.`;
    case 'interrupted':
      return {
        busy: 'Did not wait: this server has too many waits in progress. Check with get-instance-detail.',
        closing: 'The wait ended early because the server is restarting. Check with get-instance-detail.',
        aborted: 'The wait was cancelled.',
      }[r.interruption ?? 'aborted'];
  }
}

/**
 * The tool's result with `wait` added: null when waitSeconds is 0 or there is no instance (a dry
 * run); otherwise the wait runs after the change is on record (ToolResult.after) and its answer
 * carries the instance as it is then. Never throws: a failure while waiting answers with what the
 * change itself returned.
 */
export function thenWait<S extends { instance: DetailOut | null }>(
  ctx: ToolContext,
  waitSeconds: number,
  result: ToolResult<S>,
): ToolResult<S & { wait: WaitOut }> {
  const structured = { ...result.structured, wait: null };
  const instance = result.structured.instance;
  if (waitSeconds === 0 || instance === null) return { ...result, structured, after: undefined };
  return {
    ...result,
    structured,
    after: async () => {
      const started = Date.now();
      let last = 0;
      try {
        const r = await waitUntilRunning(ctx.db, ctx.actor, instance.id, {
          timeoutMs: waitSeconds * 1000,
          changes: ctx.instanceChanges,
          signal: ctx.signal,
          onPhase: (phase, view) => {
            // progress only ever increases: a step seen again (a restart meanwhile) is not resent
            if (!ctx.progress || STEP[phase] <= last) return;
            last = STEP[phase];
            ctx.progress({ progress: last, total: START_PHASES.length, message: phaseMessage(phase, view) });
          },
        });
        const wait = { outcome: r.outcome, waited_seconds: tenths(r.waitedMs), message: outcomeMessage(r) };
        return {
          structured: { ...result.structured, instance: instanceDetailOut(r.detail), wait },
          text: `${result.text}\n${wait.message}\n${detailText(r.detail)}`,
        };
      } catch (err) {
        ctx.log.warn({ err, instanceId: instance.id }, 'waiting for an instance failed');
        const wait = {
          outcome: 'interrupted' as const,
          waited_seconds: tenths(Date.now() - started),
          message: 'Could not follow the instance while waiting. Check with get-instance-detail.',
        };
        return { structured: { ...result.structured, wait }, text: `${result.text}\n${wait.message}` };
      }
    },
  };
}
