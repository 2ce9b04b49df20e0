// `npm run migrate`: applies pending migrations to DATABASE_URL, or to the local Postgres of `npm start`.
import { createDb } from '@pictor/platform/db';
import { migrateToLatest } from '../migrations/src/migrator.ts';
import { databaseUrlOrLocal } from './local-db.ts';

const database = await databaseUrlOrLocal();
const db = createDb(database.url, { max: 1, applicationName: 'pictor-migrate' });
try {
  const applied = await migrateToLatest(db);
  console.log(applied.length > 0 ? `Applied: ${applied.join(', ')}` : 'The schema is up to date.');
} finally {
  await db.destroy();
  await database.stop();
}
