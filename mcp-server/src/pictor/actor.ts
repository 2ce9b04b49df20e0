// Who is acting: the authenticated user and, when the call names one, the team whose
// resources they act on. The core checks membership and role on every call (accounts.ts).
import type { TeamRole } from '@pictor/migrations/schema';

/** A person's place in a team, as read from the database for one call (see accounts.ts resolveMembership). */
export interface Membership {
  userId: string;
  teamId: string;
  teamName: string;
  role: TeamRole;
  /** The team's account: every team resource belongs to it. */
  accountId: string;
}

export interface Actor {
  userId: string;
  email?: string;
  /** The app acting for the person: its OAuth client_id, from the verified access token. */
  clientId?: string;
  /** Act on this team's account instead of the user's own; membership and role are verified. */
  teamId?: string;
  /**
   * The membership of `teamId`, already read for this call (accounts.ts actInTeam), so the core
   * checks the role without reading it again. One the core did not make itself is ignored.
   */
  membership?: Membership;
}
