// Confirmation the person gives in their MCP client before a call that spends or destroys
// (issue 11 §2), decided once for every tool that declares `confirm` (define.ts):
// - a request that can show a form (Interaction.canElicit) and carries no valid confirmation gets
//   an input-required result: one form-mode elicitation stating the tool's sentence, and a
//   signed requestState (confirmation-state.ts);
// - the retry with that state and an accepted, ticked form runs the call, once (the state's
//   nonce is recorded first: pictor/confirmations.ts); declined or cancelled does nothing;
// - a tampered, expired, replayed or mismatched state is refused and changes nothing; a quoted
//   amount that changed in between asks again;
// - a client that cannot show a form keeps today's behaviour (the descriptions ask the model to
//   confirm), unless the operator set REQUIRE_CONFIRMATION.
import type { CallToolResult } from '@modelcontextprotocol/server';
import { DEV_CONFIRMATION } from '../config.ts';
import { useConfirmation } from '../pictor/confirmations.ts';
import { argumentsDigest, newNonce, sameBinding, signState, verifyState, type Binding } from './confirmation-state.ts';
import type { Confirmation, ToolContext, ToolDefinition } from './define.ts';
import { toolError } from './errors.ts';
import type { CallContext, InputRequired } from './execute.ts';

/** The key of our one input request, in inputRequests and in the client's inputResponses. */
export const CONFIRM_KEY = 'confirm';

/** The form-mode elicitation (MCP elicitation/create, embedded in an input-required result). */
export function confirmationForm(message: string) {
  return {
    method: 'elicitation/create',
    params: {
      mode: 'form',
      message,
      requestedSchema: {
        type: 'object',
        properties: {
          [CONFIRM_KEY]: { type: 'boolean', title: 'Confirm', description: 'Tick to confirm. Nothing happens otherwise.', default: false },
        },
        required: [CONFIRM_KEY],
      },
    },
  } as const;
}

type Answer = 'confirmed' | 'declined' | 'missing';

/** The person's answer in the retry's inputResponses: accepted with Confirm ticked, anything else, or none. */
function answerOf(responses: Record<string, unknown> | undefined): Answer {
  const entry = responses?.[CONFIRM_KEY];
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return 'missing';
  const { action, content } = entry as { action?: unknown; content?: unknown };
  if (action === 'accept') return (content as Record<string, unknown> | undefined)?.[CONFIRM_KEY] === true ? 'confirmed' : 'declined';
  return action === 'decline' || action === 'cancel' ? 'declined' : 'missing';
}

type Reason = 'tampered' | 'expired' | 'mismatch' | 'used';

function refused(tool: string, reason: Reason, ttlMinutes: number): CallToolResult {
  const why = {
    tampered: 'it was altered or was not issued by Pictor',
    expired: `it expired (a confirmation is valid for ${ttlMinutes} minutes)`,
    mismatch: 'it was given for another call (a different person, app, tool or arguments)',
    used: 'it was already used, and a confirmation does its work once',
  }[reason];
  const next = reason === 'used' ? '' : ` Call ${tool} again without it so the person is asked again.`;
  return toolError(`This confirmation cannot be used: ${why}. Nothing was done.${next}`, { code: 'confirmation_invalid', details: { reason } });
}

/**
 * Run before the handler of a tool with `confirm`, once the team is resolved. null: go on and
 * run the handler. Otherwise the result to answer instead (a form, a refusal, nothing done).
 * `args` are the validated arguments with team_id; `input` the handler's.
 */
export async function confirmationGate(
  tool: ToolDefinition,
  args: Record<string, unknown>,
  input: Record<string, unknown>,
  ctx: ToolContext,
  call: CallContext,
): Promise<CallToolResult | InputRequired | null> {
  const describe = tool.confirm;
  if (!describe) return null;
  const settings = call.services.confirmation ?? DEV_CONFIRMATION;
  const interaction = call.interaction;
  const confirmation = () => describe(input as never, ctx);

  if (!interaction?.canElicit) {
    if (!settings.required || (await confirmation()) === null) return null;
    return toolError(
      `${tool.name} needs the person's confirmation, and this app cannot show a confirmation form (MCP elicitation); ` +
        'this Pictor server requires one for calls that spend or destroy. Nothing was done: use an app that supports confirmation forms.',
      { code: 'confirmation_required' },
    );
  }

  const binding: Binding = { userId: ctx.actor.userId, clientId: ctx.actor.clientId ?? null, tool: tool.name, args: argumentsDigest(args) };
  const now = ctx.clock.now().getTime();
  const ask = (c: Confirmation): InputRequired => ({
    resultType: 'input_required',
    inputRequests: { [CONFIRM_KEY]: confirmationForm(c.message) },
    requestState: signState({ ...binding, amountMicro: c.amountMicro, expiresAt: now + settings.ttlMinutes * 60_000, nonce: newNonce() }, settings.secrets),
  });

  if (interaction.requestState === undefined) {
    const c = await confirmation();
    return c && ask(c);
  }
  const state = verifyState(interaction.requestState, settings.secrets);
  if (!state) return refused(tool.name, 'tampered', settings.ttlMinutes);
  if (state.expiresAt <= now) return refused(tool.name, 'expired', settings.ttlMinutes);
  if (!sameBinding(state, binding)) return refused(tool.name, 'mismatch', settings.ttlMinutes);

  const answer = answerOf(interaction.inputResponses);
  if (answer === 'declined') {
    // An error result only because the tool's output schema cannot describe "nothing was done".
    return toolError(`Nothing was done: the person did not confirm ${tool.name}. Do not call it again unless they ask.`, {
      code: 'confirmation_declined',
    });
  }
  const c = await confirmation();
  if (c === null) return null;
  // No answer to our form, or the amount moved since the person saw it: ask (again) with today's figures.
  if (answer === 'missing' || c.amountMicro !== state.amountMicro) return ask(c);
  const first = await useConfirmation(
    ctx.db,
    { nonce: state.nonce, userId: binding.userId, tool: tool.name, expiresAt: new Date(state.expiresAt) },
    new Date(now),
  );
  return first ? null : refused(tool.name, 'used', settings.ttlMinutes);
}
