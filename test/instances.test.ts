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

it.skipIf(!onPostgres)('a page kept by instance B’s response cache shows a change made through instance A', async () => {
  const a = await startTestServer({ OPENAI_API_BASE_URL: 'http://127.0.0.1:9', VERIFY_RETRY_LIMIT: '0' });
  servers.push(a);
  const b = await startTestServer({ OPENAI_API_BASE_URL: 'http://127.0.0.1:9', VERIFY_RETRY_LIMIT: '0' }, { shareDatabaseWith: a });
  servers.push(b);
  const token = await a.token({ tenant_id: 'two-instances-cache' });
  const created = await a.gql(
    `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-two" }, metadata: { v: 1 } }) {
      ... on ConfigureIntegrationPayload { integration { id } } } }`,
    {},
    { token },
  );
  const id = created.data.configureIntegration.integration.id;
  const PAGE = '{ integrations(first: 5) { edges { node { metadata } } } }';
  const metadataOnB = async () => (await b.gql(PAGE, {}, { token })).data.integrations.edges[0].node.metadata;
  expect(await metadataOnB()).toEqual({ v: 1 });
  const before = b.queries.length;
  expect(await metadataOnB()).toEqual({ v: 1 });
  expect(b.queries.length, 'B answered the repeat from its cache').toBe(before);

  const updated = await a.gql(`mutation($id: ID!) { updateIntegration(input: { id: $id, metadata: { v: 2 } }) { __typename } }`, { id }, { token });
  expect(updated.data.updateIntegration.__typename).toBe('UpdateIntegrationPayload');
  const { eventually } = await import('./helpers/app.ts');
  await eventually(async () => ((await metadataOnB()).v === 2 ? true : undefined), 5_000, 'B to show the change', 10);
});

it.skipIf(!onPostgres)('while its LISTEN connection is lost, an instance answers from the database, and keeps nothing it held before', async () => {
  const pg = (await import('pg')).default;
  const { eventually } = await import('./helpers/app.ts');
  const a = await startTestServer({ OPENAI_API_BASE_URL: 'http://127.0.0.1:9', VERIFY_RETRY_LIMIT: '0' });
  servers.push(a);
  const token = await a.token({ tenant_id: 'listen-lost' });
  await a.gql(`mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-lost" }, metadata: { v: 1 } }) { __typename } }`, {}, { token });
  const PAGE = '{ integrations(first: 5) { edges { node { metadata } } } }';
  const statementsOfPage = async () => {
    const before = a.queries.length;
    const res = await a.gql(PAGE, {}, { token });
    expect(res.errors).toBeUndefined();
    return a.queries.length - before;
  };
  // kept once verification has written its verdict
  await eventually(async () => ((await statementsOfPage()) === 0 ? true : undefined), 10_000, 'a kept page', 100);

  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'icp-pubsub-listen' AND datname = $1`,
      [new URL(a.databaseUrl!).pathname.slice(1)],
    );
    expect(rows).toEqual([{ ok: true }]);
  } finally {
    await admin.end();
  }
  // deaf: every read is executed (the first reconnection comes after 250 ms)
  await eventually(async () => ((await statementsOfPage()) > 0 && (await statementsOfPage()) > 0 ? true : undefined), 2_000, 'reads to be executed', 0);
  // heard again: reads are kept again
  await eventually(async () => ((await statementsOfPage()) === 0 ? true : undefined), 10_000, 'the cache to come back', 100);
  expect(a.logs.join('')).toContain('pub/sub LISTEN connection restored');
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
