// The image catalog: what an instance boots (OS, CUDA, frameworks, the HTTP ports it opens by
// default) and the GPU memory per GPU it needs. Read by everyone from a copy at most a second old
// (caches.ts); changed only by operators (images-admin.ts). Retired images stay for the instances
// that run them but cannot be chosen for new ones.
import type { Db } from '@pictor/platform/db';
import type { GpuPlan, Image } from '@pictor/migrations/schema';
import { imagesCopy } from './caches.ts';
import { InvalidInputError } from './errors.ts';
import type { Trx } from './ledger.ts';

type Reader = Db | Trx;

/** What create-instance runs when no image is asked for. */
export const BASE_IMAGE_ID = 'ubuntu-24.04-cuda-12.8';

export interface ImageView {
  id: string;
  name: string;
  description: string;
  os: string;
  cudaVersion: string;
  frameworks: string[];
  defaultPorts: number[];
  /** GPU memory per GPU the image needs, GB; 0 = any plan. */
  minVramGb: number;
  retired: boolean;
}

const queryImages = (db: Reader) => db.selectFrom('images').selectAll().orderBy('id').execute();

async function loadImages(db: Db): Promise<readonly Image[]> {
  const rows = await queryImages(db);
  for (const r of rows) Object.freeze(r);
  return Object.freeze(rows);
}

const imagesOf = async (db: Reader): Promise<readonly Image[]> => (db.isTransaction ? queryImages(db) : imagesCopy(db as Db, () => loadImages(db as Db)));

export function toImageView(i: Image): ImageView {
  return {
    id: i.id,
    name: i.name,
    description: i.description,
    os: i.os,
    cudaVersion: i.cuda_version,
    frameworks: [...i.frameworks],
    defaultPorts: [...i.default_ports].sort((a, b) => a - b),
    minVramGb: i.min_vram_gb,
    retired: i.retired,
  };
}

/** Images that can be chosen, base image first; operators also see retired ones. */
export async function listImages(db: Reader, options: { includeRetired?: boolean } = {}): Promise<ImageView[]> {
  const rows = (await imagesOf(db)).filter((i) => options.includeRetired || !i.retired);
  return rows.map(toImageView).sort((a, b) => Number(b.id === BASE_IMAGE_ID) - Number(a.id === BASE_IMAGE_ID) || (a.id < b.id ? -1 : 1));
}

/** Whether an image runs on a plan: it needs no more GPU memory per GPU than the plan has. */
export function fitsPlan(image: Pick<ImageView, 'minVramGb'>, plan: { vramGb: number }): boolean {
  return image.minVramGb <= plan.vramGb;
}

/** The image a new instance may use: known and not retired; otherwise an error naming the choices. */
export async function resolveImage(db: Reader, imageId: string, field = 'image'): Promise<ImageView> {
  const images = await listImages(db, { includeRetired: true });
  const wanted = imageId.trim().toLowerCase();
  const image = images.find((i) => i.id === wanted);
  const usable = images.filter((i) => !i.retired).map((i) => i.id);
  if (!image) {
    throw new InvalidInputError(field, `unknown image "${imageId.trim().slice(0, 60)}"; choose one of ${usable.join(', ')} (list-images describes them)`, {
      allowed: usable,
    });
  }
  if (image.retired) {
    throw new InvalidInputError(field, `image ${image.id} is retired and cannot be used for new instances; choose one of ${usable.join(', ')}`, {
      allowed: usable,
    });
  }
  return image;
}

/** Refuses an image that needs more GPU memory per GPU than the plan has, naming what would fit. */
export async function assertImageFits(db: Reader, image: ImageView, plan: Pick<GpuPlan, 'id' | 'gpu_model' | 'vram_gb'>, field = 'image'): Promise<void> {
  if (fitsPlan(image, { vramGb: plan.vram_gb })) return;
  const fitting = (await listImages(db)).filter((i) => fitsPlan(i, { vramGb: plan.vram_gb })).map((i) => i.id);
  throw new InvalidInputError(
    field,
    `image ${image.id} needs at least ${image.minVramGb} GB of GPU memory per GPU, and ${plan.id} (${plan.gpu_model}) has ${plan.vram_gb} GB; ` +
      `choose a plan with ${image.minVramGb} GB or more (list-gpus shows which images fit each plan), or an image that fits ${plan.id}: ${fitting.join(', ')}`,
    { image: image.id, min_vram_gb: image.minVramGb, plan: plan.id, plan_vram_gb: plan.vram_gb, images_that_fit: fitting },
  );
}
