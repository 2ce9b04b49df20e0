// The per-process caches of the core, and the rule for each, in one place. Each is kept per
// database handle, so separate pools (test databases, a bench's workers) never share entries; the
// catalog's readers go to the database instead when they are handed a transaction.
//
//   cache          holds                                        max age       dropped at once when this process…
//   catalog        plans, regions, free GPUs per region × plan  1 s           reserves or frees GPUs (capacityChanged),
//                  (list-gpus, check-gpu-availability, dry runs)              edits or seeds the catalog (catalogChanged)
//   images         the image catalog (list-images, list-gpus,   1 s           edits the images (catalogChanged)
//                  create-instance's image check outside a transaction)
//   own accounts   user id → the user's own account id          process life  never: an own account never changes
//                                                                             (accounts.user_id is unique; the row goes
//                                                                             only with the user)
//   teams          user id → their teams and roles              1 s           changes that user's teams (teamsChanged)
//                  (only listed by get-user-balance)
//
// Why a copy is safe: the free GPUs shown are advice (create-instance checks and reserves capacity
// under a row lock in its own transaction), and the team list only tells a person which team_id
// they may pass (every team action checks membership in the database). Core functions that change
// what a cache holds report it through the functions below after their transaction commits, so this
// process shows its own changes at once; other replicas show them within the max age.
import type { Db } from '@pictor/platform/db';

const CATALOG_MAX_AGE_MS = 1000;
const TEAMS_MAX_AGE_MS = 1000;
const OWN_ACCOUNTS_MAX = 100_000;
const TEAMS_MAX = 10_000;

type Handle = object;

/** Values per database handle and key, reloaded when older than maxAgeMs; a failed load is not kept. */
class Copies {
  readonly #byDb = new WeakMap<Handle, Map<string, { at: number; value: Promise<unknown> }>>();
  readonly maxAgeMs: number;
  readonly maxKeys: number;

  constructor(maxAgeMs: number, maxKeys: number) {
    this.maxAgeMs = maxAgeMs;
    this.maxKeys = maxKeys;
  }

  get<V>(db: Handle, key: string, load: () => Promise<V>): Promise<V> {
    let entries = this.#byDb.get(db);
    if (!entries) {
      entries = new Map();
      this.#byDb.set(db, entries);
    }
    const entry = entries.get(key);
    if (entry && performance.now() - entry.at < this.maxAgeMs) return entry.value as Promise<V>;
    if (!entry && entries.size >= this.maxKeys) entries.delete(entries.keys().next().value!);
    const value = load();
    entries.set(key, { at: performance.now(), value });
    value.catch(() => {
      // a failed read is retried by the next call
      if (entries.get(key)?.value === value) entries.delete(key);
    });
    return value;
  }

  drop(db: Handle, key: string): void {
    this.#byDb.get(db)?.delete(key);
  }
}

const catalog = new Copies(CATALOG_MAX_AGE_MS, 2);
const ownAccounts = new Copies(Number.POSITIVE_INFINITY, OWN_ACCOUNTS_MAX);
const teams = new Copies(TEAMS_MAX_AGE_MS, TEAMS_MAX);

/** The catalog copy (catalog.ts is its only reader and says what `load` returns). */
export function catalogCopy<V>(db: Db, load: () => Promise<V>): Promise<V> {
  return catalog.get(db, '', load);
}

/** The image catalog copy (images.ts is its only reader). */
export function imagesCopy<V>(db: Db, load: () => Promise<V>): Promise<V> {
  return catalog.get(db, 'images', load);
}

/** The user's own account id, loaded once per process (ensureUserAccount is its only reader). */
export function ownAccountId(db: Handle, userId: string, load: () => Promise<string>): Promise<string> {
  return ownAccounts.get(db, userId, load);
}

/** The user's teams as of at most a second ago (recentTeams is its only reader). */
export function teamsCopy<V>(db: Db, userId: string, load: () => Promise<V>): Promise<V> {
  return teams.get(db, userId, load);
}

/** GPUs were reserved or freed (an instance created, deleted or expired); call after the commit. */
export function capacityChanged(db: Db): void {
  catalog.drop(db, '');
}

/** Plans, regions or capacity totals were changed by an operator or the seed; call after the commit. */
export function catalogChanged(db: Db): void {
  catalog.drop(db, '');
  catalog.drop(db, 'images');
}

/** The user joined or left a team, or their role changed; call after the commit. */
export function teamsChanged(db: Db, userId: string): void {
  teams.drop(db, userId);
}
