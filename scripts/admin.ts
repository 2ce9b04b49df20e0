// `npm run admin -- <command>`: the operator CLI (mcp-server/src/admin.ts) against DATABASE_URL,
// or against the local Postgres of `npm start` when it is unset (found by the same
// PICTOR_DATA_DIR and PICTOR_PG_PORT; it never creates an empty one).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { databaseUrlOrLocal } from './local-db.ts';

const database = await databaseUrlOrLocal(process.env, { existing: true });
const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(import.meta.dirname, '../mcp-server/src/admin.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, DATABASE_URL: database.url },
});
const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
await database.stop();
process.exit(code);
