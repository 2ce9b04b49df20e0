// Operator changes to the image catalog (the admin CLI calls these). An image is never deleted:
// retiring it keeps it for the instances that run it and refuses it for new ones.
import type { Db } from '@pictor/platform/db';
import type { ImagesTable } from '@pictor/migrations/schema';
import { catalogChanged } from './caches.ts';
import { ConflictError, InvalidInputError, NotFoundError } from './errors.ts';
import { BASE_IMAGE_ID } from './images.ts';
import { validatePort } from './launch.ts';

export type ImageFields = Partial<Omit<ImagesTable, 'id' | 'frameworks' | 'default_ports' | 'min_vram_gb' | 'retired'>> & {
  frameworks?: string[];
  default_ports?: number[];
  min_vram_gb?: number;
  retired?: boolean;
};

const TEXT_FIELDS = { name: 80, description: 500, os: 60, cuda_version: 20 } as const;
const REQUIRED_FOR_NEW = ['name', 'description', 'os', 'cuda_version'] as const;
export const IMAGE_KEYS = [...Object.keys(TEXT_FIELDS), 'frameworks', 'default_ports', 'min_vram_gb', 'retired'] as const;

/**
 * Parses `key=value` pairs: text for name, description, os and cuda_version; a comma list for
 * frameworks and default_ports (empty for none); whole GB for min_vram_gb; true/false for retired.
 */
export function parseImageFields(pairs: string[]): ImageFields {
  const fields: ImageFields = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidInputError(pair, 'expected key=value');
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1).trim();
    const list = value === '' ? [] : value.split(',').map((v) => v.trim());
    if (Object.hasOwn(TEXT_FIELDS, key)) {
      const max = TEXT_FIELDS[key as keyof typeof TEXT_FIELDS];
      if (value.length === 0 || value.length > max) throw new InvalidInputError(key, `must be 1–${max} characters`);
      fields[key as keyof typeof TEXT_FIELDS] = value;
    } else if (key === 'frameworks') {
      if (list.some((f) => f.length === 0 || f.length > 60) || list.length > 20)
        throw new InvalidInputError(key, 'expected up to 20 names of 1–60 characters, comma-separated');
      fields.frameworks = list;
    } else if (key === 'default_ports') {
      fields.default_ports = [...new Set(list.map((p) => validatePort(key, /^\d{1,5}$/.test(p) ? Number(p) : Number.NaN)))].sort((a, b) => a - b);
      if (fields.default_ports.length > 10) throw new InvalidInputError(key, 'at most 10 ports');
    } else if (key === 'min_vram_gb') {
      if (!/^\d{1,4}$/.test(value)) throw new InvalidInputError(key, `expected whole GB of GPU memory per GPU (0 for any plan), got "${value}"`);
      fields.min_vram_gb = Number(value);
    } else if (key === 'retired') {
      if (value !== 'true' && value !== 'false') throw new InvalidInputError(key, 'expected true or false');
      fields.retired = value === 'true';
    } else {
      throw new InvalidInputError(key, `unknown image field; known: ${IMAGE_KEYS.join(', ')}`);
    }
  }
  return fields;
}

/** Updates an image, or adds it when name, description, os and cuda_version are all given. */
export async function upsertImage(db: Db, id: string, fields: ImageFields): Promise<{ created: boolean }> {
  if (!/^[a-z0-9][a-z0-9.-]{0,59}$/.test(id)) throw new InvalidInputError('id', 'image ids are lowercase letters, digits, dots and dashes, e.g. pytorch-2.7');
  if (fields.retired === true) assertNotDefault(id);
  const result = await db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('images').select('id').where('id', '=', id).forUpdate().executeTakeFirst();
    if (existing) {
      if (Object.keys(fields).length > 0) await trx.updateTable('images').set(fields).where('id', '=', id).execute();
      return { created: false };
    }
    const missing = REQUIRED_FOR_NEW.filter((k) => fields[k] === undefined);
    if (missing.length > 0) throw new InvalidInputError(missing[0]!, `a new image needs ${missing.join(', ')}`);
    await trx
      .insertInto('images')
      .values({ ...fields, id, name: fields.name!, description: fields.description!, os: fields.os!, cuda_version: fields.cuda_version! })
      .execute();
    return { created: true };
  });
  catalogChanged(db);
  return result;
}

function assertNotDefault(id: string): void {
  if (id === BASE_IMAGE_ID) throw new ConflictError(`${id} is the image create-instance uses when none is given; it cannot be retired`, { image: id });
}

/** Retires an image: running instances keep it, new instances cannot choose it. */
export async function retireImage(db: Db, id: string): Promise<{ changed: boolean }> {
  assertNotDefault(id);
  const row = await db.selectFrom('images').select('retired').where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError('Image', id);
  if (row.retired) return { changed: false };
  await db.updateTable('images').set({ retired: true }).where('id', '=', id).execute();
  catalogChanged(db);
  return { changed: true };
}
