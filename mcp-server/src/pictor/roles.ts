// Team roles and what each may do: the one rule table. Every core function that acts on an
// account names its action, and accounts.ts checks it against the person's role when the account
// is a team's, so the MCP tools, the admin CLI and tests all meet the same rule. On their own
// account a person may do everything.
import type { TeamRole } from '@pictor/migrations/schema';
import { InsufficientRoleError } from './errors.ts';

/** Least to most: each role may do everything the roles before it may. */
export const TEAM_ROLES = ['viewer', 'member', 'admin', 'owner'] as const satisfies readonly TeamRole[];

/**
 * Each action on an account and the least team role that may take it. viewer: reads only;
 * member: runs the team's instances (which spends the team's money); admin and owner: also the
 * team's SSH keys and top-ups. `doing` names the action in a refusal.
 */
export const ACTIONS = {
  read: { needs: 'viewer', doing: "reading the team's instances, logs, SSH keys, balance and top-ups" },
  'instance:create': { needs: 'member', doing: 'creating instances' },
  'instance:start': { needs: 'member', doing: 'starting instances' },
  'instance:stop': { needs: 'member', doing: 'stopping instances' },
  'instance:restart': { needs: 'member', doing: 'restarting instances' },
  'instance:auto-renew': { needs: 'member', doing: 'turning auto-renew on or off' },
  'instance:add-hours': { needs: 'member', doing: 'adding hours to instances' },
  'instance:rename': { needs: 'member', doing: 'renaming instances' },
  'instance:delete': { needs: 'member', doing: 'deleting instances' },
  'instance:attach-keys': { needs: 'member', doing: 'attaching SSH keys to instances' },
  'ssh-key:create': { needs: 'admin', doing: "adding the team's SSH keys" },
  'ssh-key:update': { needs: 'admin', doing: "changing the team's SSH keys" },
  'ssh-key:delete': { needs: 'admin', doing: "deleting the team's SSH keys" },
  'billing:checkout': { needs: 'admin', doing: "topping up the team's account" },
  'billing:verify': { needs: 'admin', doing: "verifying the team's top-ups" },
  'billing:sync': { needs: 'admin', doing: "syncing the team's top-ups" },
} as const satisfies Record<string, { needs: TeamRole; doing: string }>;

export type Action = keyof typeof ACTIONS;

export function isTeamRole(value: string): value is TeamRole {
  return (TEAM_ROLES as readonly string[]).includes(value);
}

export function roleAllows(role: TeamRole, action: Action): boolean {
  return TEAM_ROLES.indexOf(role) >= TEAM_ROLES.indexOf(ACTIONS[action].needs);
}

/** Throws InsufficientRoleError naming the team, the person's role and the role the action needs. */
export function assertRoleAllows(team: { teamId: string; teamName: string; role: TeamRole }, action: Action): void {
  if (roleAllows(team.role, action)) return;
  const { needs, doing } = ACTIONS[action];
  throw new InsufficientRoleError(`your role in team ${team.teamName} is ${team.role}; ${doing} needs ${needs} or above`, {
    team_id: team.teamId,
    team: team.teamName,
    role: team.role,
    needs,
    action,
  });
}
