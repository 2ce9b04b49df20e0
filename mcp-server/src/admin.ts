// The operator CLI: `npm run admin -- <command>`. Each command calls the platform core; this file
// only parses arguments and prints results. DATABASE_URL is the only setting it reads.
import { pathToFileURL } from 'node:url';
import { createDb, type Db } from '@pictor/platform/db';
import type { TeamRole } from '@pictor/migrations/schema';
import { addTeamMember, createTeam, ensureUser, findUser, setTeamRole } from './pictor/accounts.ts';
import { grantPromotionCredit } from './pictor/balance.ts';
import { parsePlanFields, PLAN_KEYS, setCapacity, upsertPlan } from './pictor/catalog-admin.ts';
import { listPlans } from './pictor/catalog.ts';
import { seedCatalog } from './pictor/catalog-seed.ts';
import { BASE_IMAGE_ID, listImages } from './pictor/images.ts';
import { IMAGE_KEYS, parseImageFields, retireImage, upsertImage } from './pictor/images-admin.ts';
import { DomainError, InvalidInputError, NotFoundError } from './pictor/errors.ts';
import { formatCredits, parseCredits } from '@pictor/platform/money';
import { isTeamRole, TEAM_ROLES } from './pictor/roles.ts';

const ROLE_LIST = TEAM_ROLES.join(', ');

export const USAGE = `Usage: npm run admin -- <command>

  credit <email> <amount>             Grant promotional credit (amount in credits, e.g. 25 or 12.50)
  plan:list                           List GPU plans with prices and capacity per region
  plan:set <id> key=value…            Change a plan, or create one when every field is given
                                      keys: ${PLAN_KEYS.join(', ')}
                                      (prices in credits, allowed_gpu_counts as 1,2,4,8)
  capacity:set <region> <plan> <total>  Set a region's GPUs for a plan; free GPUs move by the same delta
  image:list                          List machine images, retired ones too
  image:set <id> key=value…           Change an image, or add one when name, description, os and cuda_version are given
                                      keys: ${IMAGE_KEYS.join(', ')}
                                      (frameworks and default_ports comma-separated; min_vram_gb in GB per GPU)
  image:retire <id>                   Retire an image: running instances keep it, new ones cannot choose it
  team:create <owner-email> <name>    Create a team owned by that user
  team:add <team-id> <email> [role]   Add a user to a team (role: ${ROLE_LIST}; default member)
  team:role <team-id> <email> <role>  Change a member's role (a team always keeps an owner)
                                      viewer: reads only; member: also runs the team's instances
                                      (spends its money); admin, owner: also SSH keys and top-ups
  seed                                Fill an empty catalog with the default plans, regions and capacity

Reads DATABASE_URL (postgres://…).`;

/** A mistake in how the command was typed: print it with the usage, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

function arg(args: string[], index: number, name: string): string {
  const value = args[index];
  if (value === undefined || value.trim() === '') throw new UsageError(`missing <${name}>`);
  return value;
}

function roleArg(value: string): TeamRole {
  if (!isTeamRole(value)) throw new InvalidInputError('role', `expected one of ${ROLE_LIST}, got "${value}"`);
  return value;
}

async function findTeam(db: Db, teamId: string): Promise<{ id: string; name: string }> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(teamId)) throw new NotFoundError('Team', teamId);
  const team = await db.selectFrom('teams').select(['id', 'name']).where('id', '=', teamId).executeTakeFirst();
  if (!team) throw new NotFoundError('Team', teamId);
  return team;
}

/** Runs one admin command against the database, writing human-readable lines to `out`. */
export async function runAdmin(db: Db, argv: string[], out: (line: string) => void): Promise<void> {
  const [command, ...args] = argv;
  switch (command) {
    case 'credit': {
      const email = arg(args, 0, 'email');
      const amount = parseCredits(arg(args, 1, 'amount'));
      if (amount === null || amount <= 0n) throw new InvalidInputError('amount', 'expected a positive amount in credits, e.g. 25 or 12.50');
      const granted = await grantPromotionCredit(db, email, amount, 'Promotion credit granted by an operator');
      out(
        `Granted ${formatCredits(granted.amount)} credits of promotional credit to ${email.trim()}; their credit is now ${formatCredits(granted.creditAfter)}.`,
      );
      return;
    }
    case 'plan:list': {
      const plans = await listPlans(db, { includeInactive: true });
      if (plans.length === 0) out('No plans. Run `npm run admin -- seed` for the default catalog.');
      for (const p of plans) {
        const regions = p.regions.map((r) => `${r.id} ${r.freeGpus}/${r.totalGpus} free`).join(', ') || 'no capacity';
        out(
          `${p.id}${p.active ? '' : ' (inactive)'}: ${p.gpuModel}, ${p.vramGb} GB VRAM, ${p.vcpuPerGpu} vCPU + ${p.ramGbPerGpu} GB RAM per GPU, ` +
            `${formatCredits(p.pricePerGpuHour)}/GPU-h, counts ${p.allowedGpuCounts.join(',')}, storage ${p.minStorageGb}–${p.maxStorageGb} GB ` +
            `at ${formatCredits(p.storagePricePerGbMonth)}/GB-month; ${regions}`,
        );
      }
      return;
    }
    case 'plan:set': {
      const id = arg(args, 0, 'id');
      if (args.length < 2) throw new UsageError('give at least one key=value');
      const { created } = await upsertPlan(db, id, parsePlanFields(args.slice(1)));
      out(`${created ? 'Created' : 'Updated'} plan ${id}. New rentals use these prices; existing instances keep theirs.`);
      return;
    }
    case 'capacity:set': {
      const region = arg(args, 0, 'region');
      const plan = arg(args, 1, 'plan');
      const totalText = arg(args, 2, 'total');
      if (!/^\d{1,9}$/.test(totalText)) throw new InvalidInputError('total', `expected a whole number of GPUs, got "${totalText}"`);
      const c = await setCapacity(db, region, plan, Number(totalText));
      out(`${region} ${plan}: ${c.totalGpus} GPUs in total, ${c.freeGpus} free, ${c.inUse} in use.`);
      return;
    }
    case 'image:list': {
      for (const i of await listImages(db, { includeRetired: true })) {
        out(
          `${i.id}${i.retired ? ' (retired)' : ''}${i.id === BASE_IMAGE_ID ? ' (default)' : ''}: ${i.name}; ${i.os}, CUDA ${i.cudaVersion}; ` +
            `frameworks ${i.frameworks.join(', ') || 'none'}; ports ${i.defaultPorts.join(',') || 'none'}; needs ${i.minVramGb} GB GPU memory per GPU`,
        );
      }
      return;
    }
    case 'image:set': {
      const id = arg(args, 0, 'id');
      if (args.length < 2) throw new UsageError('give at least one key=value');
      const { created } = await upsertImage(db, id, parseImageFields(args.slice(1)));
      out(`${created ? 'Added' : 'Updated'} image ${id}. Instances already running keep what they booted.`);
      return;
    }
    case 'image:retire': {
      const id = arg(args, 0, 'id');
      const { changed } = await retireImage(db, id);
      out(changed ? `Retired image ${id}: instances running it keep it; new instances cannot choose it.` : `Image ${id} already is retired; nothing changed.`);
      return;
    }
    case 'team:create': {
      const owner = await ensureUser(db, arg(args, 0, 'owner-email'));
      const name = args.slice(1).join(' ').trim();
      if (name.length === 0 || name.length > 100) throw new InvalidInputError('name', 'a team name of 1–100 characters is required');
      const team = await createTeam(db, owner.id, name);
      out(`Created team "${name}" (${team.id}) owned by ${owner.email}.`);
      return;
    }
    case 'team:add': {
      const team = await findTeam(db, arg(args, 0, 'team-id'));
      const email = arg(args, 1, 'email');
      const role = roleArg(args[2] ?? 'member');
      const user = await ensureUser(db, email);
      await addTeamMember(db, team.id, user.id, role);
      out(`Added ${user.email} to "${team.name}" as ${role}.`);
      return;
    }
    case 'team:role': {
      const team = await findTeam(db, arg(args, 0, 'team-id'));
      const email = arg(args, 1, 'email');
      const role = roleArg(arg(args, 2, 'role'));
      const user = await findUser(db, email);
      const notMember = new InvalidInputError('email', `${email.trim()} is not a member of "${team.name}"; add them with team:add`);
      if (!user) throw notMember;
      const { previous } = await setTeamRole(db, team.id, user.id, role).catch((error: unknown) => {
        throw error instanceof NotFoundError && error.details.resource === 'Team member' ? notMember : error;
      });
      out(
        previous === role
          ? `${user.email} already is ${role} in "${team.name}"; nothing changed.`
          : `${user.email} is now ${role} in "${team.name}" (was ${previous}).`,
      );
      return;
    }
    case 'seed': {
      out((await seedCatalog(db)) ? 'Seeded the default catalog.' : 'The catalog already has plans or regions; nothing changed.');
      return;
    }
    case undefined:
    case 'help':
    case '--help':
      out(USAGE);
      return;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function main(): Promise<number> {
  const url = process.env.DATABASE_URL;
  if (!url || !/^postgres(ql)?:\/\//.test(url)) {
    console.error('DATABASE_URL is required: a postgres:// connection URL of the Pictor database.');
    return 2;
  }
  const db = createDb(url, { max: 2, applicationName: 'pictor-admin' });
  try {
    await runAdmin(db, process.argv.slice(2), (line) => console.log(line));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof DomainError) {
      console.error(error.message);
      return 1;
    }
    if (error instanceof Error && /relation .* does not exist/.test(error.message)) {
      console.error('The database has no Pictor schema yet: run `npm run migrate` first.');
      return 1;
    }
    throw error;
  } finally {
    await db.destroy();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main();
}
