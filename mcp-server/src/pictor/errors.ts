// Typed domain errors of the platform core. The MCP layer maps them to tool errors in one
// place (tools/errors.ts); anything that is not a DomainError is an internal error.
import { formatCredits } from './money.ts';

export type DomainErrorCode =
  | 'not_found'
  | 'insufficient_balance'
  | 'invalid_state'
  | 'conflict'
  | 'capacity_unavailable'
  | 'invalid_input'
  | 'insufficient_role'
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
    super(`insufficient balance: this needs ${formatCredits(required)} credits, the account has ${formatCredits(available)}, short by ${formatCredits(shortfall)}`, {
      required_micro: required.toString(),
      available_micro: available.toString(),
      shortfall_micro: shortfall.toString(),
    });
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

/** A dependency outside the product (payment network, hardware driver) is unreachable. */
export class UnavailableError extends DomainError {
  readonly code = 'unavailable';
}
