// Tool errors are mapped here, once. A DomainError is something a person can act on and is
// answered with its own message and code (e.g. insufficient_role: "your role in team Acme is
// viewer; creating instances needs member or above", with the team, role and needed role in
// details); bad arguments name each field and what was expected; anything
// else is logged with the request id and answered generically, so internals never reach a client.
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { DomainError } from '../pictor/errors.ts';
import { isDatabaseUnavailable } from '@pictor/platform/db';

/** `_meta` key carrying the machine-readable error next to the text a model reads. */
export const ERROR_META_KEY = 'network.pictor/error';

export interface ToolErrorInfo {
  code: string;
  details?: Record<string, unknown>;
}

export function toolError(text: string, info: ToolErrorInfo): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true, _meta: { [ERROR_META_KEY]: info } };
}

/** One line per bad field: `gpu_count: expected number, received string`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map(describeIssue).join('; ');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : 'arguments';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${key}: unknown field`).join('; ');
  }
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) {
    return `${field}: required (expected ${issue.expected})`;
  }
  const message = issue.message.replace(/^Invalid input: /, '').replace(/^Invalid option: /, '');
  // Custom messages from the schemas often start with the field name already.
  return message.startsWith(`${field} `) || message.startsWith(`${field}:`) ? message : `${field}: ${message}`;
}

export function invalidArguments(toolName: string, error: z.ZodError, allowed: readonly string[]): CallToolResult {
  const unknown = error.issues.some((issue) => issue.code === 'unrecognized_keys');
  const hint = unknown ? ` (accepted fields: ${allowed.join(', ') || 'none'})` : '';
  return toolError(`Invalid arguments for ${toolName}: ${describeIssues(error.issues)}${hint}`, {
    code: 'invalid_arguments',
    details: { issues: error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), code: issue.code, message: issue.message })) },
  });
}

/**
 * Thrown instead of a result when the database cannot be reached: the HTTP layer answers 503
 * with Retry-After rather than a tool error, so clients and load balancers retry.
 */
export class ServiceUnavailable extends Error {
  override name = 'ServiceUnavailable';
  readonly code = -32000;
  readonly requestId: string;
  constructor(requestId: string) {
    super(`Pictor is temporarily unavailable; try again in a few seconds (request id ${requestId})`);
    this.requestId = requestId;
  }
}

export interface FailureContext {
  toolName: string;
  requestId: string;
  log: Logger;
  /** Where the person changes an app's spending limit and workspaces (the connected-apps page). */
  connectedAppsUrl?: string | undefined;
}

// Refusals by what the person chose for the app: the answer says where to change it.
const CHANGED_ON_CONNECTED_APPS = new Set(['spending_limit', 'workspace_not_allowed']);

/** Maps whatever a handler threw to the result the client gets. May throw ServiceUnavailable. */
export function toolFailure(error: unknown, { toolName, requestId, log, connectedAppsUrl }: FailureContext): CallToolResult {
  if (error instanceof DomainError) {
    log.info({ tool: toolName, code: error.code }, 'tool refused');
    if (connectedAppsUrl && CHANGED_ON_CONNECTED_APPS.has(error.code)) {
      return toolError(`${error.message}: ${connectedAppsUrl}`, { code: error.code, details: { ...error.details, connected_apps_url: connectedAppsUrl } });
    }
    return toolError(error.message, { code: error.code, details: error.details });
  }
  if (isDatabaseUnavailable(error)) {
    log.warn({ tool: toolName, err: error }, 'database unavailable');
    throw new ServiceUnavailable(requestId);
  }
  log.error({ tool: toolName, err: error }, 'tool failed');
  return internalError(requestId);
}

export function internalError(requestId: string): CallToolResult {
  return toolError(`Internal error (request id ${requestId}). Try again; if it keeps happening, contact Pictor support with this request id.`, {
    code: 'internal',
    details: { request_id: requestId },
  });
}
