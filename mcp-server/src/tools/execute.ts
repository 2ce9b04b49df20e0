// Runs one tools/call: validate the arguments, build the handler's context from the verified
// identity (and, for a workspace tool, the team it names), ask for or check the person's
// confirmation (confirm.ts), run the handler, validate its output against the declared schema,
// map failures; then record a change or a rule refusal in the activity log (activity-log.ts).
// A read-only call that succeeds writes nothing.
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { actInTeam } from '../pictor/accounts.ts';
import type { Actor } from '../pictor/actor.ts';
import { assertWorkspaceAllowed } from '../pictor/app-limits.ts';
import { logActivity, ruleRefusal, type CallTrace } from './activity-log.ts';
import { confirmationGate } from './confirm.ts';
import type { Services, ToolContext } from './define.ts';
import { internalError, invalidArguments, toolError, toolFailure } from './errors.ts';
import { TEAM_ID_FIELD, type CompiledTool } from './public.ts';

export interface Caller {
  userId: string;
  email?: string;
  scopes: readonly string[];
  /** The app's OAuth client_id from the verified access token: its limits apply (pictor/app-limits.ts). */
  clientId?: string;
}

export interface CallContext {
  services: Services;
  caller: Caller;
  requestId: string;
  log: Logger;
  /** The connected-apps page (`<AUTH_ISSUER>/account`), named in refusals by an app's limits. */
  connectedAppsUrl?: string | undefined;
  /** What this one request lets the server do with the person beyond a plain result (see Interaction). */
  interaction?: Interaction | undefined;
  /** Aborted when the request is cancelled or its client disconnects (set by the protocol layer). */
  signal?: AbortSignal | undefined;
}

/**
 * Per request, set by the protocol layer (http/protocol.ts) from that request alone — never from
 * an earlier request (MCP 2026-07-28 is stateless: each request carries its client capabilities).
 */
export interface Interaction {
  /**
   * The request's client capabilities include form elicitation and the revision carries
   * multi-round-trip requests (2026-07-28), so a tool may answer InputRequired instead of acting.
   */
  canElicit: boolean;
  /** On a retry of an InputRequired result: the client's answers, keyed as we asked. */
  inputResponses?: Record<string, unknown> | undefined;
  /** On a retry: the opaque requestState we minted, echoed back verbatim; untrusted until confirm.ts verifies it. */
  requestState?: string | undefined;
  /**
   * Present when the request carried a progressToken and the response can stream
   * (text/event-stream): each call sends one notifications/progress on that request's stream.
   */
  progress?: ProgressSink | undefined;
}

export type ProgressSink = (update: { progress: number; total?: number; message?: string }) => void;

/** MCP 2026-07-28 multi-round-trip: ask the person, then the client retries the same call. */
export interface InputRequired {
  resultType: 'input_required';
  inputRequests: Record<string, unknown>;
  requestState: string;
}

export function isInputRequired(result: CallToolResult | InputRequired): result is InputRequired {
  return result.resultType === 'input_required';
}

/** Without an interaction that can elicit, a call always ends in a plain result. */
export function executeTool(tool: CompiledTool, args: unknown, call: CallContext & { interaction?: undefined }): Promise<CallToolResult>;
export function executeTool(tool: CompiledTool, args: unknown, call: CallContext): Promise<CallToolResult | InputRequired>;
export async function executeTool(tool: CompiledTool, args: unknown, call: CallContext): Promise<CallToolResult | InputRequired> {
  const trace: Partial<CallTrace> = {};
  const result = await runTool(tool, args, call, trace);
  if (isInputRequired(result)) return result;
  // Refusals are recorded from the tool error's code, wherever in the call they were made.
  const refusal = trace.actor && trace.input ? ruleRefusal(result) : undefined;
  if (refusal) {
    const message = result.content.map((c) => (c.type === 'text' ? c.text : '')).join(' ');
    await logActivity(call.services, call.log, tool.definition, trace as CallTrace, { refusal, message });
  }
  return result;
}

async function runTool(tool: CompiledTool, args: unknown, call: CallContext, trace: Partial<CallTrace>): Promise<CallToolResult | InputRequired> {
  const name = tool.definition.name;
  // The HTTP layer answers a missing scope with 403 before we get here; this is the backstop.
  if (!call.caller.scopes.includes(tool.scope)) {
    return toolError(`insufficient_scope: ${name} needs the ${tool.scope} permission; reconnect Pictor and approve it`, {
      code: 'insufficient_scope',
      details: { scope: tool.scope },
    });
  }
  const parsed = tool.input.safeParse(args ?? {});
  if (!parsed.success) return invalidArguments(name, parsed.error, Object.keys(tool.input.shape));

  let input = parsed.data as Record<string, unknown>;
  let actor: Actor = { userId: call.caller.userId };
  if (call.caller.email !== undefined) actor.email = call.caller.email;
  if (call.caller.clientId !== undefined) actor.clientId = call.caller.clientId;
  trace.input = input;
  trace.actor = actor;
  // The tool's child logger is made only if the handler or the error mapping logs.
  let child: Logger | undefined;
  const log = (): Logger => (child ??= call.log.child({ tool: name }));

  let result: Awaited<ReturnType<typeof tool.definition.handler>>;
  try {
    // The one place team_id is read: membership and role, resolved once (a non-member gets
    // "Team not found"); the handler gets the actor, never the field. Then whether the person
    // allowed this app in that workspace (one prepared read; none for a caller that is no app).
    if (tool.workspace) {
      if (TEAM_ID_FIELD in input) {
        const { [TEAM_ID_FIELD]: teamId, ...rest } = input;
        input = rest;
        if (typeof teamId === 'string') {
          trace.actor = { ...actor, teamId };
          actor = await actInTeam(call.services.db, actor, teamId);
          trace.actor = actor;
        }
      }
      await assertWorkspaceAllowed(call.services.db, actor);
    }
    const ctx = { ...call.services, actor, requestId: call.requestId, progress: call.interaction?.progress, signal: call.signal } as ToolContext;
    Object.defineProperty(ctx, 'log', { get: log, enumerable: true });
    const instead = await confirmationGate(tool.definition, parsed.data as Record<string, unknown>, input, ctx, call);
    if (instead) return instead;
    result = await tool.definition.handler(input, ctx);
  } catch (error) {
    return toolFailure(error, { toolName: name, requestId: call.requestId, log: log(), connectedAppsUrl: call.connectedAppsUrl });
  }

  if (tool.definition.activity && result.activity !== null) {
    await logActivity(call.services, log(), tool.definition, { input, actor }, { effect: result.activity ?? {} });
  }
  // A wait runs once the change is on record (the handler's work has committed); it never throws.
  if (result.after) result = { ...result, ...(await result.after()) };
  const output = tool.output.safeParse(result.structured);
  if (!output.success) {
    // Our bug, not the caller's: the declared schema is a promise to clients.
    log().error({ issues: output.error.issues }, 'tool output does not match its output schema');
    return internalError(call.requestId);
  }
  return { content: [{ type: 'text', text: result.text }], structuredContent: output.data as Record<string, unknown> };
}
