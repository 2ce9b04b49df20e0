// What the person's apps did (the activity log the MCP server writes), for the connected-apps
// page: the latest few entries per app, and the whole account's (or one app's) page by page.
import { BadActivityCursor, readActivity, type ActivityEntry, type ActivityPage } from '@pictor/platform/activity';
import type { Db } from '@pictor/platform/db';

export const ACTIVITY_PAGE = 20;
export const RECENT_PER_APP = 3;

/**
 * One page of the person's activity, newest first, of one app when `clientId` is given. Only
 * their own entries: the client id and cursor come from the URL, so a stranger's or a forged one
 * shows nothing of anyone else; a cursor that is not ours starts from the first page.
 */
export async function activityPage(db: Db, userId: string, o: { clientId?: string | undefined; cursor?: string | undefined }): Promise<ActivityPage> {
  const filter = o.clientId === undefined ? { userId } : { userId, clientId: o.clientId };
  try {
    return await readActivity(db, filter, { limit: ACTIVITY_PAGE, cursor: o.cursor });
  } catch (error) {
    if (error instanceof BadActivityCursor) return readActivity(db, filter, { limit: ACTIVITY_PAGE });
    throw error;
  }
}

/** The latest entries of each of the person's apps. */
export async function recentPerApp(db: Db, userId: string, clientIds: readonly string[]): Promise<Map<string, ActivityEntry[]>> {
  const pages = await Promise.all(clientIds.map((clientId) => readActivity(db, { userId, clientId }, { limit: RECENT_PER_APP })));
  return new Map(clientIds.map((clientId, i) => [clientId, pages[i]!.items]));
}
