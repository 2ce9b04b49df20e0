// Typed domain errors of the platform core. The MCP layer maps them to tool errors in one
// place (tools/errors.ts); anything that is not a DomainError is an internal error.
import { formatCredits } from '@pictor/platform/money';

export type DomainErrorCode =
  | 'not_found'
  | 'insufficient_balance'
  | 'invalid_state'
  | 'conflict'
  | 'capacity_unavailable'
  | 'invalid_input'
  | 'insufficient_role'
  | 'spending_limit'
  | 'workspace_not_allowed'
  | 'unavailable';

export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
  /** Extra facts a person or model can act on (shortfall, field, allowed values…). */
  readonly details: Record<string, unknown>;
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** Missing, deleted, or belonging to an account the actor cannot reach: all look the same. */
export class NotFoundError extends DomainError {
  readonly code = 'not_found';
  constructor(resource: string, id?: string) {
    super(`${resource} not found`, id === undefined ? { resource } : { resource, id });
  }
}

export class InsufficientBalanceError extends DomainError {
  readonly code = 'insufficient_balance';
  constructor(required: bigint, available: bigint) {
    const shortfall = required - available;
    super(
      `insufficient balance: this needs ${formatCredits(required)} credits, the account has ${formatCredits(available)}, short by ${formatCredits(shortfall)}`,
      {
        required_micro: required.toString(),
        available_micro: available.toString(),
        shortfall_micro: shortfall.toString(),
      },
    );
  }
}

export class InvalidStateError extends DomainError {
  readonly code = 'invalid_state';
}

export class ConflictError extends DomainError {
  readonly code = 'conflict';
}

export class CapacityUnavailableError extends DomainError {
  readonly code = 'capacity_unavailable';
}

/** Input that passed the schema but breaks a business rule; names the field and what was expected. */
export class InvalidInputError extends DomainError {
  readonly code = 'invalid_input';
  constructor(field: string, message: string, details: Record<string, unknown> = {}) {
    super(`${field}: ${message}`, { field, ...details });
  }
}

/**
 * The person is in the team, but their role there does not allow the action (see roles.ts).
 * Only members get this; to anyone else the team does not exist (NotFoundError).
 */
export class InsufficientRoleError extends DomainError {
  readonly code = 'insufficient_role';
}

/**
 * The charge would take the app past the daily spending limit the person set for it (app-limits.ts).
 * The tool layer adds where to raise it (the connected-apps page).
 */
export class SpendingLimitError extends DomainError {
  readonly code = 'spending_limit';
  constructor(limit: bigint, spent: bigint, required: bigint) {
    const headroom = limit > spent ? limit - spent : 0n;
    super(
      `spending limit: you allowed this app to spend ${formatCredits(limit)} credits per 24 hours; it has spent ${formatCredits(spent)} in the last 24 hours, so ${formatCredits(headroom)} are left and this needs ${formatCredits(required)}. Nothing was charged. You can raise or remove the limit under Connected apps`,
      {
        limit_micro: limit.toString(),
        spent_last_24h_micro: spent.toString(),
        headroom_micro: headroom.toString(),
        required_micro: required.toString(),
      },
    );
  }
}

/**
 * The person did not allow this app to act in this workspace (their personal account or a team).
 * The tool layer adds where to change it (the connected-apps page).
 */
export class WorkspaceNotAllowedError extends DomainError {
  readonly code = 'workspace_not_allowed';
}

/** A dependency outside the product (payment network, hardware driver) is unreachable. */
export class UnavailableError extends DomainError {
  readonly code = 'unavailable';
}
