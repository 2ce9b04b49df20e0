// The shape of one tool declaration: everything about a tool lives in its one declaration,
// and the registry, the scope list in the metadata and the docs are derived from these.
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Db } from '@pictor/platform/db';
import type { Actor } from '../pictor/actor.ts';
import type { Clock } from '@pictor/platform/clock';
import type { InflowClient } from '../pictor/inflow/client.ts';
import type { ConfirmationSettings } from '../config.ts';
import type { SecretBox } from '../pictor/sealing.ts';
import type { InstanceChanges } from '../pictor/instances/index.ts';
import type { ProgressSink } from './execute.ts';

// Each tool names one of the scopes shared with the authorization server.
export { SCOPES, type Scope } from '@pictor/platform/scopes';
import type { Scope } from '@pictor/platform/scopes';

/** Process-wide services a handler may use; built once at start (see http/app.ts). */
export interface Services {
  db: Db;
  clock: Clock;
  log: Logger;
  /** InFlow top-ups; absent when INFLOW_API_URL is not configured (the InFlow tools then say so). */
  inflow?: InflowClient;
  /** Confirmation keys and policy (config.ts); absent only where tests build services by hand (dev settings then). */
  confirmation?: ConfirmationSettings;
  /** Seals what an instance is launched with and nobody may read back (INSTANCE_SECRETS_KEYS). */
  secrets: SecretBox;
  /**
   * The process's one watch of instance changes (LISTEN), which wakes calls waiting for an
   * instance (wait_seconds). server.ts always sets it; without it a wait only re-checks slowly.
   */
  instanceChanges?: InstanceChanges;
}

export interface ToolContext extends Services {
  /**
   * Who acts. For a workspace tool called with team_id, the registry has already checked that the
   * person is in the team and set `teamId` and `membership` (with their role); the core checks
   * the role against each action (pictor/roles.ts).
   */
  actor: Actor;
  requestId: string;
  /** This request's progress notifications, when the client asked for them and can take a stream. */
  progress?: ProgressSink | undefined;
  /** Aborted when the request is cancelled or its client goes away: stop waiting. */
  signal?: AbortSignal | undefined;
}

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** What one changing call did, for its activity entry (tools/activity-log.ts). */
export interface ActivityEffect {
  /** The thing the call created or acted on, when its input does not name it (a new instance's id). */
  targetId?: string | null;
  /**
   * The money the ledger moved in this call, signed micro-credits: negative out of the account
   * (a charge), positive into it (a refund, a credited top-up). Omitted: none moved.
   */
  amountMicro?: bigint;
}

/**
 * How a tool that changes things appears in the activity log. Every tool that is not read-only
 * declares it (test/tools-registry.test.ts checks), so a new write cannot go unrecorded.
 */
export interface ActivitySpec<K extends string = string> {
  /**
   * Input fields recorded with their values: only what is safe to show to the person and their team
   * (names, GPU type and count, hours, region, amounts) — never key material, secrets or
   * idempotency keys.
   */
  args: readonly K[];
  /** Input fields recorded only as given or not (e.g. that an SSH key's public key was replaced). */
  given?: readonly K[];
  /** The input field naming what the call acts on, also recorded when the call is refused. */
  target?: K;
}

export interface ToolResult<O> {
  /** Validated against the tool's output schema and sent as structuredContent. */
  structured: O;
  /** A short human summary sent as the text content. */
  text: string;
  /**
   * For a tool with `activity`: what this call changed. null: nothing, by design (a dry run), and
   * no entry is written. Omitted: an entry with the input's target and no money.
   */
  activity?: ActivityEffect | null;
  /**
   * Runs after the activity entry is written, and its answer replaces structured and text: a wait
   * for the change to take effect (tools/instance-wait.ts). What the call did is on record before
   * any wait, even if the process stops meanwhile.
   */
  after?: () => Promise<{ structured: O; text: string }>;
}

/** What the person is asked to confirm before a call that spends or destroys (tools/confirm.ts). */
export interface Confirmation {
  /** The one sentence shown in the form: exactly what will happen and what it costs or gives back. */
  message: string;
  /**
   * The money figure the sentence states, in micro-credits (a charge, a refund, a top-up; 0 for
   * none). Bound into the signed state: when it differs on the retry, the person is asked again.
   */
  amountMicro: bigint;
}

export interface ToolDefinition<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  /** Written for a model: when to use it, what it costs, what to confirm with the person first. */
  description: string;
  scope: Scope;
  /**
   * Acts on an account's resources, the person's own or a team's. The registry then publishes an
   * optional `team_id` input and resolves it to the actor before the handler runs; the handler
   * never sees team_id. Declared explicitly on every tool, like the annotations.
   */
  workspace: boolean;
  /** The tool's own fields; never team_id (see workspace). */
  input: I;
  output: O;
  annotations: ToolAnnotations;
  /** Set on every tool that changes something: how its calls are recorded in the activity log. */
  activity?: ActivitySpec<keyof I & string>;
  /**
   * Set on every tool that spends or destroys: what the person confirms for this input, computed
   * with the same core quotes the call uses; null when this input needs no confirmation (a dry
   * run, nothing left to do). A refusal the call would certainly meet is thrown instead.
   */
  confirm?(input: z.infer<z.ZodObject<I>>, ctx: ToolContext): Promise<Confirmation | null>;
  handler(input: z.infer<z.ZodObject<I>>, ctx: ToolContext): Promise<ToolResult<z.infer<z.ZodObject<O>>>>;
}

/** Identity function that keeps the input and output types of one declaration tied together. */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(tool: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return tool;
}
