// `node inflow-sandbox/src/main.ts`: the sandbox as its own process (docker-compose, manual dev).
// The only reader of the environment in this package.
import { startInflowSandbox } from './sandbox.ts';

const env = process.env;
const port = Number(env.INFLOW_SANDBOX_PORT ?? 4100);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('INFLOW_SANDBOX_PORT must be a port number');
const apiKey = env.INFLOW_API_KEY;
if (!apiKey) throw new Error('INFLOW_API_KEY is required: the API key the sandbox accepts');
const webhookSecret = env.INFLOW_WEBHOOK_SECRET;
if (webhookSecret !== undefined && !/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(webhookSecret)) {
  throw new Error('INFLOW_WEBHOOK_SECRET must look like whsec_<base64>');
}

const sandbox = await startInflowSandbox({
  port,
  host: env.INFLOW_SANDBOX_HOST ?? '0.0.0.0',
  apiKey,
  ...(webhookSecret ? { webhookSecret } : {}),
  ...(env.INFLOW_WEBHOOK_URL ? { webhookUrl: env.INFLOW_WEBHOOK_URL } : {}),
  publicUrl: env.INFLOW_SANDBOX_PUBLIC_URL ?? `http://localhost:${port}`,
});
// Never print the key or the secret.
console.log(JSON.stringify({ msg: 'inflow sandbox listening', url: sandbox.url, webhookUrl: env.INFLOW_WEBHOOK_URL ?? null }));

// Stops on SIGINT/SIGTERM, and when a supervisor that started it with an IPC channel (`npm start`)
// is gone, even killed outright.
const stop = () => void sandbox.close().then(() => process.exit(0));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, stop);
if (process.channel) process.once('disconnect', stop);
