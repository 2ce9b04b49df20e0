// A person connects Pictor to Claude and rents a GPU, the way the seed describes it: catalog,
// availability, an SSH key, a top-up paid on InFlow's checkout page, a priced and then real
// instance, its logs, more hours, rename, stop, start, delete; and the balance at the end is
// exactly what was paid minus what was charged plus what was refunded.
import { sshBlob, sshLine, cryptoKey } from '../mcp-server/test/ssh-keys-fixtures.ts';
import { connectClaude, expect, test } from './support/fixtures.ts';
import type { Connection } from './support/claude.ts';
import { credits, micro } from './support/money.ts';

interface Cost {
  hours: number;
  gpu: string;
  storage: string;
  total: string;
}
interface Instance {
  id: string;
  name: string;
  state: string;
  pending_action: string | null;
  expires_at: string;
  ssh: { command: string } | null;
  ssh_keys: Array<{ id: string }>;
}
interface Balance {
  balance: string;
  credit: string;
  total: string;
}

/** Polls get-instance-detail until the instance is `state` with no power action pending. */
async function settled(connection: Connection, id: string, state: string): Promise<Instance> {
  let last: Instance | undefined;
  await expect
    .poll(
      async () => {
        last = await connection.call<Instance>('get-instance-detail', { instance_id: id });
        return `${last.state}/${last.pending_action ?? 'none'}`;
      },
      { timeout: 30_000, intervals: [250, 500] },
    )
    .toBe(`${state}/none`);
  return last!;
}

test('the journey: connect, top up through InFlow, rent a GPU and give it back; the balance adds up to the micro-credit', async ({ world, context }) => {
  const email = 'ada@example.com'; // the screenshots' person
  const { connector, connection } = await connectClaude(world, context, { email, screenshots: true });

  // What Claude asked for and got: every advertised permission.
  expect(connector.client.client_name).toBe('Claude');
  expect(connector.client.token_endpoint_auth_method).toBe('client_secret_post');
  expect(new Set(connection.scopes)).toEqual(new Set(['pictor:read', 'instances:write', 'ssh_keys:write', 'billing:write']));

  const start = await connection.call<Balance>('get-user-balance');
  expect(start.total).toBe('0.00');

  // The catalog and availability.
  const { plans } = await connection.call<{
    plans: Array<{
      id: string;
      price_per_gpu_hour: string;
      allowed_gpu_counts: number[];
      storage: { min_gb: number };
      regions: Array<{ id: string; free_gpus: number }>;
    }>;
  }>('list-gpus');
  expect(plans.length).toBeGreaterThan(0);
  const plan = plans.find((p) => p.id === 'rtx4090-24gb')!;
  expect(plan.regions.find((r) => r.id === 'eu-west')?.free_gpus).toBeGreaterThanOrEqual(2);
  const availability = await connection.call<{ available: boolean; plan_id: string; price_per_hour: string }>('check-gpu-availability', {
    gpu: 'RTX 4090',
    gpu_count: 2,
    region: 'eu-west',
  });
  expect(availability).toMatchObject({ available: true, plan_id: 'rtx4090-24gb' });
  expect(micro(availability.price_per_hour)).toBe(2n * micro(plan.price_per_gpu_hour));

  // An SSH key made on "the laptop".
  const publicKey = sshLine('ssh-ed25519', sshBlob(cryptoKey('ed25519').publicKey), 'me@laptop');
  const key = await connection.call<{ id: string; fingerprint: string }>('create-ssh-key', { name: 'laptop', public_key: publicKey });
  expect(key.fingerprint).toMatch(/^SHA256:/);

  // Not enough money yet: the price check says so, and nothing is created.
  const request = { plan: 'rtx4090-24gb', gpu_count: 2, region: 'eu-west', storage_gb: 100, rental_hours: 3, name: 'llama-finetune', ssh_key_ids: [key.id] };
  const tooPoor = await connection.call<{ would_succeed: boolean; reason: string | null }>('create-instance', { ...request, dry_run: true });
  expect(tooPoor.would_succeed).toBe(false);
  expect(tooPoor.reason).toMatch(/insufficient balance/i);

  // Top-up: checkout, the person pays on InFlow's page in the browser, Claude verifies.
  const checkout = await connection.call<{ transaction_id: string; purchase_url: string; amount: string; credited: boolean }>('create-inflow-checkout', {
    amount: '25.00',
    currency: 'USD',
    idempotency_key: `journey-${Date.now()}`,
  });
  expect(checkout.credited).toBe(false);
  const pay = await context.newPage();
  await pay.goto(checkout.purchase_url);
  await expect(pay.getByRole('heading', { name: 'Pay 25.00 USD' })).toBeVisible();
  await pay.getByRole('button', { name: /^Pay / }).click();
  await pay.waitForURL((url) => !url.pathname.startsWith('/pay/'));
  await pay.close();
  let verified: { transaction: { credited: boolean; amount: string; status: string }; balance: string } | undefined;
  await expect
    .poll(
      async () => {
        verified = await connection.call('verify-inflow-transaction', { transaction_id: checkout.transaction_id });
        return verified!.transaction.credited;
      },
      { timeout: 20_000 },
    )
    .toBe(true);
  expect(verified!.transaction.status).toBe('PAYMENT_SUCCESS');
  const paid = micro(verified!.transaction.amount);
  expect(paid).toBe(micro('25.00'));

  // Price check, then the real thing.
  const quote = await connection.call<{ would_succeed: boolean; cost: Cost; balance_after: string; instance: null }>('create-instance', {
    ...request,
    dry_run: true,
  });
  expect(quote.would_succeed).toBe(true);
  expect(quote.instance).toBeNull();
  expect((await connection.call<Balance>('get-user-balance')).total).toBe('25.00'); // a dry run charges nothing
  const created = await connection.call<{ cost: Cost; balance_after: string; instance: Instance }>('create-instance', { ...request, dry_run: false });
  expect(created.cost).toEqual(quote.cost);
  expect(created.balance_after).toBe(quote.balance_after);
  const charged = [micro(created.cost.total)];
  const id = created.instance.id;
  expect(created.instance.state).toBe('provisioning');

  // The worker provisions it.
  const running = await settled(connection, id, 'running');
  expect(running.ssh?.command).toMatch(/^ssh /);
  expect(running.ssh_keys.map((k) => k.id)).toEqual([key.id]);

  const { lines } = await connection.call<{ lines: Array<{ source: string; message: string }> }>('get-instance-logs', { instance_id: id, limit: 100 });
  expect(lines.some((l) => l.source === 'boot' && /nvidia-smi|NVIDIA/i.test(l.message))).toBe(true);
  expect(lines.some((l) => l.source === 'billing')).toBe(true);

  // Two more hours: priced, then charged.
  const moreQuote = await connection.call<{ cost: Cost; would_succeed: boolean }>('add-instance-hours', { instance_id: id, hours: 2, dry_run: true });
  expect(moreQuote.would_succeed).toBe(true);
  const more = await connection.call<{ cost: Cost; expires_at: string; expires_after: string }>('add-instance-hours', {
    instance_id: id,
    hours: 2,
    dry_run: false,
  });
  expect(more.cost).toEqual(moreQuote.cost);
  expect(Date.parse(more.expires_after) - Date.parse(more.expires_at)).toBe(2 * 3600_000);
  charged.push(micro(more.cost.total));

  const renamed = await connection.call<{ changed: boolean; instance: Instance }>('rename-instance', { instance_id: id, name: 'llama-finetune-v2' });
  expect(renamed.changed).toBe(true);
  expect(renamed.instance.name).toBe('llama-finetune-v2');

  await connection.call('stop-instance', { instance_id: id });
  const stopped = await settled(connection, id, 'stopped');
  expect(stopped.expires_at).toBe(more.expires_after); // stopping does not pause the prepaid time
  await connection.call('start-instance', { instance_id: id });
  await settled(connection, id, 'running');

  const deleted = await connection.call<{ refund: Cost; gpus_released: number }>('delete-instance', { instance_id: id });
  expect(deleted.gpus_released).toBe(2);
  expect(deleted.refund.hours).toBeGreaterThanOrEqual(4); // 5 h prepaid, less than one used
  const refunded = micro(deleted.refund.total);

  const listed = await connection.call<{ instances: unknown[] }>('list-my-instances');
  expect(listed.instances).toEqual([]);
  const gone = await connection.callTool('get-instance-detail', { instance_id: id });
  expect(gone.isError).toBe(true);
  expect(JSON.stringify(gone.content)).toMatch(/Instance not found/);

  const end = await connection.call<Balance>('get-user-balance');
  const expected = micro(start.total) + paid - charged.reduce((a, b) => a + b, 0n) + refunded;
  expect(credits(micro(end.total))).toBe(credits(expected));
  expect(micro(end.balance) + micro(end.credit)).toBe(micro(end.total));
  await connection.close();
  await connector.close();
});
