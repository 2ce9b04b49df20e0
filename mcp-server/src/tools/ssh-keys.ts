// The SSH key tools: thin declarations over pictor/ssh-keys.ts. Only public keys travel here;
// a private key is refused by the core without being stored, logged or echoed.
import { z } from 'zod';
import { SSH_KEY_TYPES } from '../pictor/ssh-key-format.ts';
import { createSshKey, deleteSshKey, listSshKeys, MAX_KEY_NAME_LENGTH, previewSshKeyDeletion, updateSshKey, type SshKeyView } from '../pictor/ssh-keys.ts';
import { cursorField, limitField, nextCursorOutput, whose } from './common.ts';
import { defineTool, type ToolDefinition } from './define.ts';

/** Comfortably above any public key line; private keys of every size still reach the core's refusal. */
const MAX_PUBLIC_KEY_INPUT = 20_000;

const sshKeyIdField = z
  .string()
  .max(100, 'ssh_key_id: not an SSH key id; use list-ssh-keys to find it')
  .describe("The SSH key's id, as returned by list-ssh-keys or create-ssh-key.");

const nameField = z
  .string()
  .min(1, 'name must not be empty')
  .max(MAX_KEY_NAME_LENGTH, `name must be at most ${MAX_KEY_NAME_LENGTH} characters`)
  .describe(
    `A short name to recognise the key by, unique in the account, e.g. "work laptop". 1–${MAX_KEY_NAME_LENGTH} characters; surrounding spaces are trimmed.`,
  );

const publicKeyField = z
  .string()
  .max(MAX_PUBLIC_KEY_INPUT, 'public_key is far too long for a public key: paste only the one line from the .pub file')
  .describe(
    'The OpenSSH PUBLIC key: the single line in the .pub file, e.g. the contents of ~/.ssh/id_ed25519.pub, ' +
      'starting with ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa (2048 bits or more), then the key data and an optional comment. ' +
      'Never a private key (the file without .pub, or text containing "PRIVATE KEY").',
  );

const sshKeyOutput = {
  id: z.string().describe("The SSH key's id: pass it to create-instance, add-ssh-keys-to-instance, update-ssh-key or delete-ssh-key."),
  name: z.string().describe("The key's name in the account."),
  type: z.enum(SSH_KEY_TYPES).describe('The OpenSSH key type.'),
  fingerprint: z.string().describe('SHA256 fingerprint, the same as `ssh-keygen -lf <file>.pub` prints, for the person to check against their key.'),
  created_at: z.string().describe('When the key was added (ISO 8601, UTC).'),
};

function keyOutput(key: SshKeyView): z.infer<z.ZodObject<typeof sshKeyOutput>> {
  return { id: key.id, name: key.name, type: key.type, fingerprint: key.fingerprint, created_at: key.createdAt.toISOString() };
}

function describeKey(key: SshKeyView): string {
  return `"${key.name}" (${key.type}, ${key.fingerprint}, id ${key.id})`;
}

export const listSshKeysTool = defineTool({
  name: 'list-ssh-keys',
  title: 'List SSH keys',
  description:
    "Lists the SSH public keys saved in the person's Pictor account, or in a team's account when team_id is given: " +
    "each key's id, name, type and SHA256 fingerprint. Use it to find the key ids that create-instance and add-ssh-keys-to-instance take, " +
    'to check whether a key is already saved before adding one, and to find the id before renaming or deleting a key. ' +
    'Oldest first, paged: when next_cursor is not null, pass it back as cursor for the next page. Read-only and free.',
  scope: 'pictor:read',
  workspace: true,
  input: {
    cursor: cursorField,
    limit: limitField,
  },
  output: {
    ssh_keys: z.array(z.object(sshKeyOutput)).describe('The keys on this page, oldest first.'),
    next_cursor: nextCursorOutput,
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(input, ctx) {
    const page = await listSshKeys(ctx.db, ctx.actor, { cursor: input.cursor, limit: input.limit });
    const where = ctx.actor.teamId === undefined ? 'your account' : "the team's account";
    const text =
      page.items.length === 0
        ? input.cursor === undefined
          ? `No SSH keys in ${where} yet. Add one with create-ssh-key (the contents of ~/.ssh/id_ed25519.pub).`
          : 'No more SSH keys.'
        : [
            `SSH keys in ${where}:`,
            ...page.items.map((key) => `- ${describeKey(key)}`),
            ...(page.nextCursor ? ['More keys: call again with the next_cursor as cursor.'] : []),
          ].join('\n');
    return { structured: { ssh_keys: page.items.map(keyOutput), next_cursor: page.nextCursor }, text };
  },
});

export const createSshKeyTool = defineTool({
  name: 'create-ssh-key',
  title: 'Add an SSH public key',
  description:
    "Saves an SSH PUBLIC key in the person's Pictor account, or in a team's account when team_id is given, so it can be attached to GPU instances for SSH access. " +
    'Ask the person to paste the contents of their public key file, usually ~/.ssh/id_ed25519.pub (or id_ecdsa.pub, id_rsa.pub): one line starting with ssh-ed25519, ecdsa-sha2-… or ssh-rsa. ' +
    'Only ever the public key: never ask for or pass on a private key (the file without .pub, or text with "BEGIN … PRIVATE KEY"). Pictor refuses a private key without saving it; ' +
    'if the person shared one, tell them to keep it secret and to treat it as exposed. ' +
    'If they have no key yet, they can make one on their own computer with `ssh-keygen -t ed25519`. RSA keys need at least 2048 bits. ' +
    'Names are unique in the account and the same key cannot be saved twice (the error names the existing key). ' +
    'The returned fingerprint matches what `ssh-keygen -lf ~/.ssh/id_ed25519.pub` prints. Free.',
  scope: 'ssh_keys:write',
  workspace: true,
  input: {
    name: nameField,
    public_key: publicKeyField,
  },
  output: sshKeyOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  // never the public key itself: the fingerprint is in the key list
  activity: { args: ['name'], given: ['public_key'] },
  async handler(input, ctx) {
    const key = await createSshKey(ctx.db, ctx.actor, { name: input.name, publicKey: input.public_key });
    return {
      structured: keyOutput(key),
      text: `Saved SSH key ${describeKey(key)}. Attach it when creating an instance, or to an existing one with add-ssh-keys-to-instance.`,
      activity: { targetId: key.id },
    };
  },
});

export const updateSshKeyTool = defineTool({
  name: 'update-ssh-key',
  title: 'Rename or replace an SSH key',
  description:
    'Renames a saved SSH key, replaces its public key, or both; find its id with list-ssh-keys. ' +
    'The key keeps its id, so instances it is attached to stay attached and use the new public key. ' +
    'Replacing the public key overwrites the old one and changes which private key can log in to those instances: confirm with the person first. ' +
    'The same rules as create-ssh-key apply: only the one-line PUBLIC key from a .pub file, never a private key; names and keys stay unique in the account. Free.',
  scope: 'ssh_keys:write',
  workspace: true,
  input: {
    ssh_key_id: sshKeyIdField,
    name: nameField.optional().describe(`New name, 1–${MAX_KEY_NAME_LENGTH} characters, unique in the account. Omit to keep the current name.`),
    public_key: publicKeyField
      .optional()
      .describe(
        'New OpenSSH PUBLIC key line (the contents of a .pub file such as ~/.ssh/id_ed25519.pub). ' + 'Never a private key. Omit to keep the current key.',
      ),
  },
  output: sshKeyOutput,
  // Replacing the public key overwrites the old one; repeating the same call changes nothing more.
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  activity: { args: ['name'], given: ['public_key'], target: 'ssh_key_id' },
  async handler(input, ctx) {
    const key = await updateSshKey(ctx.db, ctx.actor, input.ssh_key_id, { name: input.name, publicKey: input.public_key }, ctx.clock);
    return { structured: keyOutput(key), text: `Updated SSH key ${describeKey(key)}.` };
  },
});

export const deleteSshKeyTool = defineTool({
  name: 'delete-ssh-key',
  title: 'Delete an SSH key',
  description:
    "Deletes a saved SSH key from the person's account, or from a team's account when team_id is given, and detaches it from every instance it is attached to. " +
    'Before calling, confirm with the person, naming the key and its fingerprint (from list-ssh-keys). ' +
    'An instance whose only key this was needs another key attached (add-ssh-keys-to-instance) before it can be reached over SSH with a Pictor key. ' +
    'This cannot be undone, though the same public key can be added again later with create-ssh-key. Free.',
  scope: 'ssh_keys:write',
  workspace: true,
  input: {
    ssh_key_id: sshKeyIdField,
  },
  output: {
    id: sshKeyOutput.id.describe("The deleted key's id."),
    name: sshKeyOutput.name.describe("The deleted key's name."),
    fingerprint: sshKeyOutput.fingerprint,
    detached_instances: z.number().int().min(0).describe('How many provisioning, running, stopped or paused instances the key was detached from.'),
  },
  // Deleting loses the key; a repeat of the same call finds nothing and changes nothing.
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  activity: { args: [], target: 'ssh_key_id' },
  async confirm(input, ctx) {
    const { key, detachedInstances: n } = await previewSshKeyDeletion(ctx.db, ctx.actor, input.ssh_key_id);
    const detach =
      n === 0 ? 'It is attached to no instance.' : `It is detached from ${n} instance${n === 1 ? '' : 's'}, where logging in with it stops working.`;
    return {
      message: `Delete SSH key "${key.name}" (${key.fingerprint}) from ${whose(ctx.actor)}. ${detach} This cannot be undone.`,
      amountMicro: 0n,
    };
  },
  async handler(input, ctx) {
    const { key, detachedInstances } = await deleteSshKey(ctx.db, ctx.actor, input.ssh_key_id, ctx.clock);
    const detached =
      detachedInstances === 0
        ? 'It was not attached to any live instance.'
        : `It was detached from ${detachedInstances} instance${detachedInstances === 1 ? '' : 's'}.`;
    return {
      structured: { id: key.id, name: key.name, fingerprint: key.fingerprint, detached_instances: detachedInstances },
      text: `Deleted SSH key ${describeKey(key)}. ${detached}`,
    };
  },
});

export const sshKeyTools: ToolDefinition[] = [listSshKeysTool, createSshKeyTool, updateSshKeyTool, deleteSshKeyTool];
