// The account tool: balance and credit of the person's own account or a team's.
import { z } from 'zod';
import { getBalance } from '../pictor/balance.ts';
import { TEAM_ROLES } from '../pictor/roles.ts';
import { money, moneyOutput } from './common.ts';
import { defineTool, type ToolDefinition } from './define.ts';

export const getUserBalanceTool = defineTool({
  name: 'get-user-balance',
  title: 'Get balance and credit',
  description:
    "Shows the money on the person's Pictor account, or on a team's account when team_id is given: paid balance, promotional credit " +
    '(spent first) and their total, in credits (1 credit = 1 USD), plus the teams the person belongs to with their ids. Use it before creating ' +
    'an instance or adding hours to see what can be afforded, and to find a team_id. Read-only and free.',
  scope: 'pictor:read',
  workspace: true,
  input: {},
  output: {
    account: z.enum(['personal', 'team']).describe('Whose account this is.'),
    team_id: z.string().nullable().describe('The team whose account this is; null for the personal account.'),
    balance: moneyOutput.describe('Paid balance, in credits.'),
    credit: moneyOutput.describe('Promotional credit, in credits; spent before the balance.'),
    total: moneyOutput.describe('balance + credit: what can be spent now.'),
    teams: z
      .array(
        z.object({
          id: z.string().describe("Team id: pass as team_id to act on the team's resources."),
          name: z.string().describe('Team name.'),
          role: z
            .enum(TEAM_ROLES)
            .describe(
              "The person's role in the team: viewer (reads only), member (also runs the team's instances, spending its money), " +
                "admin or owner (also the team's SSH keys and top-ups).",
            ),
        }),
      )
      .describe('Teams the person belongs to.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(_input, ctx) {
    const b = await getBalance(ctx.db, ctx.actor);
    const whose = b.teamId ? 'The team account' : 'Your account';
    const teams = b.teams.length === 0 ? '' : `\nTeams: ${b.teams.map((t) => `${t.name} (${t.id}, ${t.role})`).join(', ')}`;
    return {
      structured: {
        account: b.teamId ? ('team' as const) : ('personal' as const),
        team_id: b.teamId,
        balance: money(b.balance),
        credit: money(b.credit),
        total: money(b.total),
        teams: b.teams.map((t) => ({ id: t.id, name: t.name, role: t.role })),
      },
      text: `${whose} has ${money(b.total)} credits: ${money(b.balance)} balance and ${money(b.credit)} promotional credit.${teams}`,
    };
  },
});

export const accountTools: ToolDefinition[] = [getUserBalanceTool];
