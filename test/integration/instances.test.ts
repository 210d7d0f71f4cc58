/**
 * Two instances on one PostgreSQL database (runs in the PostgreSQL pass: npm run test:postgres):
 * a subscriber connected to one instance hears the changes made through the other.
 */
import { afterAll, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';

const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
const servers: TestServer[] = [];

afterAll(async () => {
  for (const s of servers.reverse()) await s.close();
});

/**
 * An instance whose OpenAI verifications fail at once (nothing listens on port 9), on a database
 * of its own or on another instance's; closed after the file.
 */
async function startInstance(options: { shareDatabaseWith?: TestServer } = {}) {
  const server = await startTestServer({ OPENAI_API_BASE_URL: 'http://127.0.0.1:9', VERIFY_RETRY_LIMIT: '0' }, options);
  servers.push(server);
  return server;
}

/** Instances A and B on one database. */
async function startPair() {
  const a = await startInstance();
  return { a, b: await startInstance({ shareDatabaseWith: a }) };
}

it.skipIf(!onPostgres)('streams status changes made on instance A to a subscriber on instance B', async () => {
  const { a, b } = await startPair();
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
  const { a, b } = await startPair();
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
  // kept by B once verification (on either instance's worker) has written its verdict
  await eventually(
    async () => {
      const before = b.queries.length;
      expect(await metadataOnB()).toEqual({ v: 1 });
      return b.queries.length === before ? true : undefined;
    },
    10_000,
    'B to answer from its cache',
    100,
  );

  const updated = await a.gql(
    `mutation($id: ID!) { updateIntegration(input: { id: $id, metadata: { v: 2 } }) { __typename } }`,
    { id },
    { token },
  );
  expect(updated.data.updateIntegration.__typename).toBe('UpdateIntegrationPayload');
  await eventually(async () => ((await metadataOnB()).v === 2 ? true : undefined), 5_000, 'B to show the change', 10);
});

/** A superuser connection to a test server's own database (the suite's server is run as one). */
async function adminOf(server: TestServer) {
  const pg = (await import('pg')).default;
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = new URL(server.databaseUrl!).pathname;
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  return admin;
}

const META_PAGE = '{ integrations(first: 5) { edges { node { metadata } } } }';

/** An instance, a token of `tenant`, and that tenant's integrations page with the SQL statements it took. */
async function instanceWithPage(tenant: string) {
  const server = await startInstance();
  const token = await server.token({ tenant_id: tenant });
  const page = async () => {
    const before = server.queries.length;
    const res = await server.gql(META_PAGE, {}, { token });
    expect(res.errors).toBeUndefined();
    return { metadata: res.data.integrations.edges[0]?.node.metadata, statements: server.queries.length - before };
  };
  return { server, token, page };
}

it.skipIf(!onPostgres)(
  'a change nobody announced is not given from the cache after its LISTEN connection was lost and restored',
  async () => {
    const { server, token, page } = await instanceWithPage('listen-lost');
    await server.gql(
      `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-lost" }, metadata: { v: 1 } }) { __typename } }`,
      {},
      { token },
    );
    await eventually(async () => ((await page()).statements === 0 ? true : undefined), 10_000, 'a kept page', 100);

    const admin = await adminOf(server);
    try {
      // a write with triggers off (replication role): the cache cannot hear of it
      await admin.query(`SET session_replication_role = replica`);
      await admin.query(`UPDATE "Integration" SET metadata = '{"v": 2}' WHERE "tenantId" = 'listen-lost'`);
      expect(await page()).toEqual({ metadata: { v: 1 }, statements: 0 });

      const { rows } = await admin.query(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'icp-pubsub-listen' AND datname = current_database()`,
      );
      expect(rows).toEqual([{ ok: true }]);
    } finally {
      await admin.end();
    }
    // what was kept before the loss is gone once it is heard again, and answers are kept again
    await eventually(
      async () => (server.logs.join('').includes('pub/sub LISTEN connection restored') ? true : undefined),
      10_000,
      'LISTEN again',
      20,
    );
    expect((await page()).metadata).toEqual({ v: 2 });
    await eventually(async () => ((await page()).statements === 0 ? true : undefined), 10_000, 'the cache to come back', 100);
    expect((await page()).metadata).toEqual({ v: 2 });
  },
);

it.skipIf(!onPostgres)('a mutation’s change is read at once through the instance it was made on, announcement or not', async () => {
  const { server, token, page } = await instanceWithPage('own-writes');
  const admin = await adminOf(server);
  try {
    await admin.query(`ALTER TABLE "Integration" DISABLE TRIGGER announce_change`);
  } finally {
    await admin.end();
  }
  const created = await server.gql(
    `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-own" }, metadata: { v: 1 } }) {
      ... on ConfigureIntegrationPayload { integration { id } } } }`,
    {},
    { token },
  );
  const id = created.data.configureIntegration.integration.id;
  expect((await page()).metadata).toEqual({ v: 1 });
  // kept (the count includes the worker's statements: it settles first)
  await eventually(async () => ((await page()).statements === 0 ? true : undefined), 10_000, 'a kept page', 100);
  await server.gql(`mutation($id: ID!) { updateIntegration(input: { id: $id, metadata: { v: 2 } }) { __typename } }`, { id }, { token });
  expect((await page()).metadata).toEqual({ v: 2 });
});

it.skipIf(!onPostgres)('two tenants at the same change version (a fresh instance) never share a kept answer', async () => {
  const a = await startInstance();
  for (const tenant of ['iso-1', 'iso-2']) {
    const token = await a.token({ tenant_id: tenant });
    await a.gql(
      `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-iso" }, metadata: { t: "${tenant}" } }) { __typename } }`,
      {},
      { token },
    );
    await eventually(async () =>
      (await a.gql('{ integrations { edges { node { status } } } }', {}, { token })).data.integrations.edges[0].node.status === 'ERROR'
        ? true
        : undefined,
    );
  }
  // b started after every change: both tenants are at its first version
  const b = await startInstance({ shareDatabaseWith: a });
  for (const tenant of ['iso-1', 'iso-2', 'iso-1', 'iso-2']) {
    const res = await b.gql(META_PAGE, {}, { token: await b.token({ tenant_id: tenant }) });
    expect(res.data.integrations.edges.map((e: any) => e.node.metadata)).toEqual([{ t: tenant }]);
  }
});

it.skipIf(!onPostgres)(
  'a LISTEN connection that stops answering without a word is given up and made again',
  async (ctx) => {
    const { server, token, page } = await instanceWithPage('listen-frozen');
    await server.gql(
      `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-frozen" } }) { __typename } }`,
      {},
      { token },
    );
    await eventually(async () => ((await page()).statements === 0 ? true : undefined), 10_000, 'a kept page', 100);
    const admin = await adminOf(server);
    let frozen: number | undefined;
    try {
      const { rows } = await admin.query(
        `SELECT pid FROM pg_stat_activity WHERE application_name = 'icp-pubsub-listen' AND datname = current_database()`,
      );
      frozen = rows[0].pid as number;
      try {
        process.kill(frozen, 'SIGSTOP');
      } catch {
        frozen = undefined;
        return ctx.skip(); // the server's processes belong to a user this suite may not signal
      }
      // its heartbeat goes unanswered: the cache stops, and a new connection listens
      await eventually(
        async () => (server.logs.join('').includes('pub/sub LISTEN connection restored') ? true : undefined),
        25_000,
        'a new LISTEN connection',
        200,
      );
      await eventually(async () => ((await page()).statements === 0 ? true : undefined), 10_000, 'the cache to come back', 100);
    } finally {
      if (frozen) process.kill(frozen, 'SIGCONT');
      await admin.end();
    }
  },
  45_000,
);

it.skipIf(!onPostgres)(
  'an API instance without a worker and a separate worker process share the queue',
  async () => {
    const { spawn } = await import('node:child_process');
    const path = await import('node:path');
    const { startFakeApi, stripeBalance } = await import('../helpers/fake-api.ts');
    const { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } = await import('../helpers/app.ts');
    const stripe = await startFakeApi(stripeBalance('sk_test_worker'));
    const api = await startTestServer({ WORKER: 'false', STRIPE_API_BASE_URL: stripe.url });
    servers.push(api);
    let output = '';
    const worker = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
      cwd: path.resolve(import.meta.dirname, '../..'),
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
      await eventually(
        async () => {
          const res = await api.gql(`query($id: ID!) { integration(id: $id) { status } }`, { id }, { token });
          return res.data.integration.status === 'ACTIVE' ? true : undefined;
        },
        30_000,
        'the worker process to verify the integration',
      );
      expect(stripe.seen.some((s) => s.headers.authorization === 'Bearer sk_test_worker')).toBe(true);
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
      await stripe.close();
    }
  },
  120_000,
);
