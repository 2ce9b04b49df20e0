import { sql, type Kysely } from 'kysely';

// Team roles, least to most: viewer (reads only), member (runs the team's instances, spending its
// money), admin and owner (also top-ups and the team's SSH keys). What each role may do is decided
// in one table in the MCP server's core (pictor/roles.ts); the database only knows the names.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE team_members DROP CONSTRAINT team_members_role_check;
    ALTER TABLE team_members ADD CONSTRAINT team_members_role_check CHECK (role IN ('owner', 'admin', 'member', 'viewer'));
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // Viewers lose their membership rather than being promoted to member: never grant more than was given.
  await sql`
    DELETE FROM team_members WHERE role = 'viewer';
    ALTER TABLE team_members DROP CONSTRAINT team_members_role_check;
    ALTER TABLE team_members ADD CONSTRAINT team_members_role_check CHECK (role IN ('owner', 'admin', 'member'));
  `.execute(db);
}
