// The MCP server's OAuth scopes and their plain words: the MCP server checks them on every tool,
// the authorization server shows the words on the consent and connected-apps pages.
/** Read tools need pictor:read; each write family its own. */
export const SCOPES = {
  'pictor:read': 'See GPU plans, your instances, logs, SSH keys and balance',
  'instances:write': 'Create, start, stop, extend, rename and delete GPU instances (spends credit)',
  'ssh_keys:write': 'Add, change and delete SSH keys',
  'billing:write': 'Create top-up checkouts and verify payments',
} as const;
export type Scope = keyof typeof SCOPES;
