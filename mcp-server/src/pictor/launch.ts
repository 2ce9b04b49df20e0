// What an instance is launched with besides its hardware: environment variables, HTTP ports to
// expose, a startup script. The checks here name the field and what was expected, and never echo
// an environment value (values are secrets: sealed at creation, opened only for the provisioner).
import { InvalidInputError } from './errors.ts';

export const MAX_ENV_VARS = 64;
export const MAX_ENV_VALUE_BYTES = 8 * 1024;
export const MAX_ENV_TOTAL_BYTES = 64 * 1024;
export const MAX_PORTS = 10;
export const MAX_STARTUP_SCRIPT_BYTES = 16 * 1024;
export const SSH_PORT = 22;
/** POSIX portable names: letters, digits and underscores, not starting with a digit. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_ENV_NAME = 128;

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** The environment, checked: names sorted; a value is never part of an error message. */
export function validateEnv(env: Record<string, string> | undefined, field = 'env'): { names: string[]; values: Record<string, string> } {
  const entries = Object.entries(env ?? {});
  if (entries.length > MAX_ENV_VARS) throw new InvalidInputError(field, `at most ${MAX_ENV_VARS} variables, got ${entries.length}`, { max: MAX_ENV_VARS });
  let total = 0;
  for (const [name, value] of entries) {
    if (!ENV_NAME.test(name) || name.length > MAX_ENV_NAME) {
      throw new InvalidInputError(
        field,
        `"${name.slice(0, 40)}" is not a valid variable name: expected letters, digits and underscores, not starting with a digit, at most ${MAX_ENV_NAME} characters (e.g. HF_TOKEN)`,
      );
    }
    if (typeof value !== 'string') throw new InvalidInputError(`${field}.${name}`, 'expected a string value');
    if (value.includes('\0')) throw new InvalidInputError(`${field}.${name}`, 'the value must not contain a NUL character');
    if (bytes(value) > MAX_ENV_VALUE_BYTES) throw new InvalidInputError(`${field}.${name}`, `the value is longer than ${MAX_ENV_VALUE_BYTES} bytes`);
    total += bytes(name) + bytes(value);
  }
  if (total > MAX_ENV_TOTAL_BYTES) throw new InvalidInputError(field, `names and values together are longer than ${MAX_ENV_TOTAL_BYTES} bytes`);
  const names = entries.map(([n]) => n).sort();
  return { names, values: Object.fromEntries(entries) };
}

/** An HTTP port to expose: 1–65535, not SSH's 22 (always reachable over ssh). */
export function validatePort(field: string, port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new InvalidInputError(field, `ports are whole numbers from 1 to 65535, got ${String(port).slice(0, 20)}`);
  if (port === SSH_PORT)
    throw new InvalidInputError(field, 'port 22 is SSH, which every instance already serves (see its ssh command); it cannot be exposed over HTTP');
  return port;
}

/** Requested ports, checked: at most 10, each valid, no repeats; sorted. */
export function validatePorts(ports: readonly number[] | undefined, field = 'ports'): number[] {
  const list = ports ?? [];
  if (list.length > MAX_PORTS) throw new InvalidInputError(field, `at most ${MAX_PORTS} ports, got ${list.length}`, { max: MAX_PORTS });
  for (const p of list) validatePort(field, p);
  const repeated = list.filter((p, i) => list.indexOf(p) !== i);
  if (repeated.length > 0) throw new InvalidInputError(field, `port ${repeated[0]} is listed twice; list each port once`);
  return [...list].sort((a, b) => a - b);
}

/** The image's default ports and the requested ones, once each, sorted. */
export function mergePorts(imageDefaults: readonly number[], requested: readonly number[]): number[] {
  return [...new Set([...imageDefaults, ...requested])].sort((a, b) => a - b);
}

/** A startup script, checked: at most 16 KB of text. Empty means none. */
export function validateStartupScript(script: string | undefined, field = 'startup_script'): string | null {
  if (script === undefined || script.trim() === '') return null;
  if (script.includes('\0')) throw new InvalidInputError(field, 'must be text (no NUL characters)');
  const size = bytes(script);
  if (size > MAX_STARTUP_SCRIPT_BYTES)
    throw new InvalidInputError(field, `at most ${MAX_STARTUP_SCRIPT_BYTES} bytes (16 KB), got ${size}`, { max_bytes: MAX_STARTUP_SCRIPT_BYTES });
  return script;
}
