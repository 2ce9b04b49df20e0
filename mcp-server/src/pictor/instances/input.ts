// Checks of what a caller asks for, shared by the instance operations: display names and rental hours.
import { MAX_RENTAL_HOURS, MIN_RENTAL_HOURS } from '../billing.ts';
import { InvalidInputError } from '../errors.ts';

export const MAX_NAME_LENGTH = 64;

/** A trimmed display name of 1–64 characters without control characters. */
export function validateName(name: string, field = 'name'): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_NAME_LENGTH) throw new InvalidInputError(field, `must be 1–${MAX_NAME_LENGTH} characters after trimming`);
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw new InvalidInputError(field, 'must not contain control characters such as newlines');
  return trimmed;
}

export function validateRentalHours(hours: number, field = 'rental_hours'): number {
  if (!Number.isInteger(hours) || hours < MIN_RENTAL_HOURS || hours > MAX_RENTAL_HOURS) {
    throw new InvalidInputError(field, `must be a whole number of hours from ${MIN_RENTAL_HOURS} to ${MAX_RENTAL_HOURS}`);
  }
  return hours;
}
