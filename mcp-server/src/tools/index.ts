// The registry: every tool the MCP server offers, in the order tools/list shows them.
// The scope list the metadata advertises is derived from here, never written by hand.
import { accountTools } from './account.ts';
import { activityTools } from './activity.ts';
import { catalogTools } from './catalog.ts';
import type { Scope, ToolDefinition } from './define.ts';
import { inflowTools } from './inflow.ts';
import { instanceTools } from './instances.ts';
import { scopesOf } from './public.ts';
import { spendingTools } from './spending.ts';
import { sshKeyTools } from './ssh-keys.ts';

export const tools: readonly ToolDefinition[] = [
  ...catalogTools,
  ...instanceTools,
  ...sshKeyTools,
  ...accountTools,
  ...inflowTools,
  ...activityTools,
  ...spendingTools,
];

export const scopesSupported: readonly Scope[] = scopesOf(tools);

export { scopesOf };
