// Snapshots kept as one JSON file per name in a folder, so a reviewer sees each change alone.
// Files are written only on request (UPDATE_SNAPSHOTS=1); otherwise a missing, changed or
// leftover file (one whose name no longer exists) is reported.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';

export type SnapshotProblem = { kind: 'missing' | 'leftover'; file: string } | { kind: 'changed'; file: string; actual: unknown; expected: unknown };

export function checkSnapshots(dir: string, current: ReadonlyMap<string, unknown>, options: { update: boolean }): SnapshotProblem[] {
  const files = new Map([...current].map(([name, value]) => [`${name}.json`, value]));
  const committed = existsSync(dir)
    ? readdirSync(dir)
        .filter((file) => file.endsWith('.json'))
        .sort()
    : [];
  if (options.update) {
    mkdirSync(dir, { recursive: true });
    for (const [file, value] of files) writeFileSync(path.join(dir, file), `${JSON.stringify(value, null, 2)}\n`);
    for (const file of committed) if (!files.has(file)) rmSync(path.join(dir, file));
    return [];
  }
  const problems: SnapshotProblem[] = [];
  for (const [file, value] of files) {
    const at = path.join(dir, file);
    if (!existsSync(at)) {
      problems.push({ kind: 'missing', file });
      continue;
    }
    // compared as JSON values (through a round trip, so undefined fields vanish as on the wire)
    const actual = JSON.parse(JSON.stringify(value)) as unknown;
    const expected = JSON.parse(readFileSync(at, 'utf8')) as unknown;
    if (!isDeepStrictEqual(actual, expected)) problems.push({ kind: 'changed', file, actual, expected });
  }
  for (const file of committed) if (!files.has(file)) problems.push({ kind: 'leftover', file });
  return problems;
}
