/**
 * Two instances on one PostgreSQL database (runs in the PostgreSQL pass: npm run test:postgres):
 * a subscriber connected to one instance hears the changes made through the other.
 */
import { afterAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/app.ts';

const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
const servers: TestServer[] = [];

afterAll(async () => {
  for (const s of servers.reverse()) await s.close();
});

it.skipIf(!onPostgres)('streams status changes made on instance A to a subscriber on instance B', async () => {
  const a = await startTestServer({ OPENAI_API_BASE_URL: 'http://127.0.0.1:9', VERIFY_RETRY_LIMIT: '0' });
  servers.push(a);
  const b = await startTestServer({ OPENAI_API_BASE_URL: 'http://127.0.0.1:9', VERIFY_RETRY_LIMIT: '0' }, { shareDatabaseWith: a });
  servers.push(b);
  const token = await a.token({ tenant_id: 'two-instances' });

  const res = await fetch(`${b.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: 'subscription { integrationStatusChanged { id status } }' }),
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  await new Promise((r) => setTimeout(r, 300));

  const created = await a.gql(
    `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-two" } }) {
      ... on ConfigureIntegrationPayload { integration { id } } } }`,
    {},
    { token },
  );
  const id = created.data.configureIntegration.integration.id;
  await a.gql(`mutation($id: ID!) { disableIntegration(input: { id: $id }) { __typename } }`, { id }, { token });

  let text = '';
  const deadline = Date.now() + 15_000;
  while (!text.includes('"INACTIVE"') && Date.now() < deadline) {
    const chunk = await Promise.race([reader.read(), new Promise<{ value?: string }>((r) => setTimeout(() => r({}), 1000))]);
    text += chunk.value ?? '';
  }
  await reader.cancel();
  const statuses = text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)).data.integrationStatusChanged)
    .filter((i) => i.id === id)
    .map((i) => i.status);
  expect(statuses).toContain('INACTIVE');
});

it.skipIf(!onPostgres)('an API instance without a worker and a separate worker process share the queue', async () => {
  const { spawn } = await import('node:child_process');
  const path = await import('node:path');
  const { startFakeApi, stripeBalance } = await import('./helpers/fake-api.ts');
  const { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET, eventually } = await import('./helpers/app.ts');
  const stripe = await startFakeApi(stripeBalance('sk_test_worker'));
  const api = await startTestServer({ WORKER: 'false', STRIPE_API_BASE_URL: stripe.url });
  servers.push(api);
  let output = '';
  const worker = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: api.databaseUrl!,
      ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      STRIPE_API_BASE_URL: stripe.url,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  worker.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  try {
    await eventually(async () => (output.includes('worker started') ? true : undefined), 60_000, 'the worker to start');
    const token = await api.token({ tenant_id: 'split-worker' });
    const created = await api.gql(
      `mutation { configureIntegration(input: { provider: "stripe", credentials: { publishable_key: "pk_test_w", secret_key: "sk_test_worker" } }) {
        ... on ConfigureIntegrationPayload { integration { id } } } }`,
      {},
      { token },
    );
    const id = created.data.configureIntegration.integration.id;
    await eventually(async () => {
      const res = await api.gql(`query($id: ID!) { integration(id: $id) { status } }`, { id }, { token });
      return res.data.integration.status === 'ACTIVE' ? true : undefined;
    }, 30_000, 'the worker process to verify the integration');
    expect(stripe.seen.some((s) => s.headers.authorization === 'Bearer sk_test_worker')).toBe(true);
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await stripe.close();
  }
}, 120_000);
