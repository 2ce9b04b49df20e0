// The email a person types to sign in: whether it is an address, and which inbox it reaches (for
// the per-inbox rate limit only; the account keeps the address as typed).

// RFC 5321 §4.5.3.1.3 caps a path at 256 octets, so an address fits in 254.
const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

export function isEmail(value: string): boolean {
  return value.length <= 254 && EMAIL.test(value);
}

/**
 * One key per inbox, so spelling variants share one budget: case is ignored, as is the root dot
 * of the domain (`example.com.`) and a `+tag` sub-address (`ada+x@`), which mail providers
 * deliver to the same inbox.
 */
export function inboxKey(email: string): string {
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at).toLowerCase();
  const domain = email
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.+$/, '');
  const plus = local.indexOf('+');
  return `${plus > 0 ? local.slice(0, plus) : local}@${domain}`;
}
