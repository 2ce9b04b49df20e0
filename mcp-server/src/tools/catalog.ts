// The GPU catalog tools: plans, prices and free capacity. Not account-specific, so no team_id.
import { z } from 'zod';
import { HOURS_PER_MONTH } from '../pictor/billing.ts';
import { checkAvailability, listPlans, resolvePlan, type PlanView } from '../pictor/catalog.ts';
import { BASE_IMAGE_ID, fitsPlan, listImages, type ImageView } from '../pictor/images.ts';
import { money, moneyOutput } from './common.ts';
import { defineTool, type ToolDefinition } from './define.ts';

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

const regionField = z.string().max(100).describe('Region id, e.g. "us-east", "eu-west" or "ap-southeast" (list-gpus shows them all).');

const planOutput = z.object({
  id: z.string().describe('Plan id: pass it as plan to create-instance.'),
  gpu_model: z.string().describe('GPU model, e.g. "H100 80GB".'),
  vram_gb: z.number().int().describe('GPU memory per GPU, GB.'),
  vcpu_per_gpu: z.number().int().describe('vCPUs per GPU.'),
  ram_gb_per_gpu: z.number().int().describe('System memory per GPU, GB.'),
  price_per_gpu_hour: moneyOutput.describe('Price per GPU per hour, in credits.'),
  allowed_gpu_counts: z.array(z.number().int()).describe('GPU counts an instance of this plan can have.'),
  storage: z
    .object({
      min_gb: z.number().int().describe('Smallest disk, GB.'),
      max_gb: z.number().int().describe('Largest disk, GB.'),
      price_per_gb_month: moneyOutput.describe(`Disk price per GB per month (${HOURS_PER_MONTH} h), in credits.`),
    })
    .describe('Disk options and price.'),
  regions: z
    .array(
      z.object({
        id: z.string().describe('Region id.'),
        name: z.string().describe('Region name.'),
        location: z.string().describe('City and country.'),
        free_gpus: z.number().int().describe('GPUs free right now.'),
        total_gpus: z.number().int().describe('GPUs of this plan in the region.'),
      }),
    )
    .describe('Regions offering the plan, with free GPUs now.'),
  images: z.array(z.string()).describe('Ids of the images (list-images) that fit this plan: they need no more GPU memory per GPU than it has.'),
});

function planOut(p: PlanView, images: readonly ImageView[]): z.infer<typeof planOutput> {
  return {
    id: p.id,
    gpu_model: p.gpuModel,
    vram_gb: p.vramGb,
    vcpu_per_gpu: p.vcpuPerGpu,
    ram_gb_per_gpu: p.ramGbPerGpu,
    price_per_gpu_hour: money(p.pricePerGpuHour),
    allowed_gpu_counts: p.allowedGpuCounts,
    storage: { min_gb: p.minStorageGb, max_gb: p.maxStorageGb, price_per_gb_month: money(p.storagePricePerGbMonth) },
    regions: p.regions.map((r) => ({ id: r.id, name: r.name, location: r.location, free_gpus: r.freeGpus, total_gpus: r.totalGpus })),
    images: images.filter((i) => fitsPlan(i, p)).map((i) => i.id),
  };
}

export const listGpusTool = defineTool({
  name: 'list-gpus',
  title: 'List GPU plans',
  description:
    'Lists the GPU plans Pictor rents, cheapest first: GPU model, GPU memory, vCPUs and RAM per GPU, price per GPU-hour, allowed GPU counts, ' +
    'disk limits and price per GB-month, the free GPUs in each region right now, and the images (list-images) that fit. Filter by region or GPU model. Use it to answer "which GPUs ' +
    'are there and what do they cost" and to pick the plan, count and region for create-instance. Prices are in credits (1 credit = 1 USD). ' +
    'Read-only and free.',
  scope: 'pictor:read',
  workspace: false,
  input: {
    region: regionField.optional().describe('Only plans offered in this region, e.g. "eu-west". Omit for all regions.'),
    gpu: z.string().max(100).optional().describe('Only plans whose id or GPU model contains this, e.g. "H100" or "4090". Omit for all.'),
  },
  output: {
    plans: z.array(planOutput).describe('Matching plans, cheapest first.'),
  },
  annotations: READ,
  async handler(input, ctx) {
    const [plans, images] = await Promise.all([listPlans(ctx.db, { region: input.region, model: input.gpu }), listImages(ctx.db)]);
    const text =
      plans.length === 0
        ? 'No GPU plans match.'
        : plans
            .map((p) => {
              const free = p.regions.map((r) => `${r.id} ${r.freeGpus} free`).join(', ');
              return `- ${p.id}: ${p.gpuModel}, ${money(p.pricePerGpuHour)}/GPU-h, counts ${p.allowedGpuCounts.join('/')} (${free || 'not offered now'})`;
            })
            .join('\n');
    return { structured: { plans: plans.map((p) => planOut(p, images)) }, text };
  },
});

export const listImagesTool = defineTool({
  name: 'list-images',
  title: 'List machine images',
  description:
    'Lists the machine images an instance can boot: the base image (Ubuntu 24.04 + CUDA 12.8) and ready-made ones such as PyTorch, vLLM or ' +
    'JupyterLab, with their OS, CUDA version, main frameworks, the HTTP ports each opens by default and the GPU memory per GPU it needs. ' +
    'Pass an id as image to create-instance (default: the base image); with plan, only the images that fit that GPU plan. Read-only and free.',
  scope: 'pictor:read',
  workspace: false,
  input: {
    plan: z.string().max(100).optional().describe('Only images that fit this GPU plan, by plan id (e.g. "rtx4090-24gb") or GPU model. Omit for every image.'),
  },
  output: {
    images: z
      .array(
        z.object({
          id: z.string().describe('Image id: pass it as image to create-instance.'),
          name: z.string().describe('Display name.'),
          description: z.string().describe('What is installed and what it is for.'),
          os: z.string().describe('Operating system, e.g. "Ubuntu 24.04".'),
          cuda_version: z.string().describe('CUDA toolkit version, e.g. "12.8".'),
          frameworks: z.array(z.string()).describe('Main frameworks installed, e.g. "PyTorch 2.7".'),
          default_ports: z.array(z.number().int()).describe('HTTP ports the image exposes by default (merged with the ports asked for at creation).'),
          min_vram_gb: z.number().int().describe('GPU memory per GPU it needs, GB (0: any plan); a plan with less is refused.'),
          default: z.boolean().describe('Whether create-instance uses it when no image is given.'),
        }),
      )
      .describe('Images that can be chosen for a new instance, the default first.'),
  },
  annotations: READ,
  async handler(input, ctx) {
    let images = await listImages(ctx.db);
    if (input.plan !== undefined) {
      const plan = await resolvePlan(ctx.db, input.plan, 'plan');
      images = images.filter((i) => fitsPlan(i, { vramGb: plan.vram_gb }));
    }
    const structured = images.map((i) => ({
      id: i.id,
      name: i.name,
      description: i.description,
      os: i.os,
      cuda_version: i.cudaVersion,
      frameworks: i.frameworks,
      default_ports: i.defaultPorts,
      min_vram_gb: i.minVramGb,
      default: i.id === BASE_IMAGE_ID,
    }));
    const text =
      images.length === 0
        ? 'No images fit.'
        : images
            .map(
              (i) =>
                `- ${i.id}: ${i.name} (${i.os}, CUDA ${i.cudaVersion}${i.frameworks.length ? `, ${i.frameworks.join(', ')}` : ''})` +
                `${i.defaultPorts.length ? `, ports ${i.defaultPorts.join(', ')}` : ''}${i.minVramGb > 0 ? `, needs ${i.minVramGb} GB GPU memory per GPU` : ''}` +
                `${i.id === BASE_IMAGE_ID ? ' [default]' : ''}`,
            )
            .join('\n');
    return { structured: { images: structured }, text };
  },
});

const regionAvailability = z.object({
  id: z.string().describe('Region id.'),
  location: z.string().describe('City and country.'),
  free_gpus: z.number().int().describe('GPUs of this plan free now.'),
});

export const checkGpuAvailabilityTool = defineTool({
  name: 'check-gpu-availability',
  title: 'Check GPU availability',
  description:
    'Checks whether a number of GPUs of a given plan or model is free right now, in one region or anywhere, and what it costs per hour. ' +
    'When the region asked for is short, alternatives lists other regions that can host it. Use it before create-instance; availability can change ' +
    'until the instance is created. Read-only and free.',
  scope: 'pictor:read',
  workspace: false,
  input: {
    gpu: z.string().max(100).describe('Plan id (e.g. "h100-80gb") or GPU model (e.g. "H100", "RTX 4090").'),
    gpu_count: z.number().int().min(1).describe("How many GPUs in one instance; must be one of the plan's allowed counts (e.g. 1, 2, 4, 8)."),
    region: regionField.optional().describe('Region to check, e.g. "us-east". Omit to check every region.'),
  },
  output: {
    plan_id: z.string().describe('The plan checked.'),
    gpu_model: z.string().describe('Its GPU model.'),
    gpu_count: z.number().int().describe('GPUs asked for.'),
    region: z.string().nullable().describe('Region asked about, or null for any region.'),
    available: z.boolean().describe('Whether that many GPUs are free now (in that region, or in some region).'),
    free_gpus: z.number().int().describe('GPUs free in the region asked about (or the most free in any region).'),
    alternatives: z.array(regionAvailability).describe('Other regions with enough free GPUs.'),
    regions: z.array(regionAvailability).describe('Every region offering the plan.'),
    price_per_hour: moneyOutput.describe('GPU cost per hour for gpu_count GPUs, in credits (storage extra).'),
    price_per_gpu_hour: moneyOutput.describe('Price per GPU per hour, in credits.'),
    storage_price_per_gb_month: moneyOutput.describe('Disk price per GB per month, in credits.'),
    storage_min_gb: z.number().int().describe('Smallest disk, GB.'),
    storage_max_gb: z.number().int().describe('Largest disk, GB.'),
  },
  annotations: READ,
  async handler(input, ctx) {
    const a = await checkAvailability(ctx.db, { gpu: input.gpu, gpuCount: input.gpu_count, region: input.region });
    const region = (r: { id: string; location: string; freeGpus: number }) => ({ id: r.id, location: r.location, free_gpus: r.freeGpus });
    const where = a.region ? ` in ${a.region}` : '';
    const others = a.alternatives.map((r) => `${r.id} (${r.freeGpus} free)`).join(', ');
    return {
      structured: {
        plan_id: a.planId,
        gpu_model: a.gpuModel,
        gpu_count: a.gpuCount,
        region: a.region,
        available: a.available,
        free_gpus: a.freeGpus,
        alternatives: a.alternatives.map(region),
        regions: a.regions.map(region),
        price_per_hour: money(a.gpuPricePerHour),
        price_per_gpu_hour: money(a.pricePerGpuHour),
        storage_price_per_gb_month: money(a.storagePricePerGbMonth),
        storage_min_gb: a.minStorageGb,
        storage_max_gb: a.maxStorageGb,
      },
      text:
        `${a.gpuCount} × ${a.gpuModel}${where}: ${a.available ? 'available' : `not available (${a.freeGpus} free)`}, ` +
        `${money(a.gpuPricePerHour)} credits/hour plus storage.${others ? ` ${a.region ? 'Also available in' : 'Available in'}: ${others}.` : ''}`,
    };
  },
});

export const catalogTools: ToolDefinition[] = [listGpusTool, checkGpuAvailabilityTool, listImagesTool];
