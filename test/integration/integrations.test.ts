/**
 * The integration lifecycle over HTTP against the running service, with Stripe's API replaced by
 * a loopback fake that accepts exactly `GET /v1/balance` with the right Bearer key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, startFakeApi, stripeBalance } from '../helpers/fake-api.ts';

const GOOD = 'sk_test_goodKey123';
const STRIPE = { publishable_key: 'pk_test_abc', secret_key: GOOD };

const FIELDS = `id status version lastError verifiedAt enabledCapabilities metadata credentials
  credentialFields { key sensitive isSet value } inboundWebhookUrl createdBy updatedBy provider { name }`;
const BASE_ERRORS = `... on Error { __typename code message }`;
const ERRORS = `${BASE_ERRORS} ... on ValidationError { fieldErrors { path message } }`;

const CONFIGURE = `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) {
  __typename ... on ConfigureIntegrationPayload { integration { ${FIELDS} } } ${ERRORS} } }`;
const UPDATE = `mutation($input: UpdateIntegrationInput!) { updateIntegration(input: $input) {
  __typename ... on UpdateIntegrationPayload { integration { ${FIELDS} } } ${ERRORS} } }`;
const ROTATE = `mutation($input: RotateIntegrationCredentialsInput!) { rotateIntegrationCredentials(input: $input) {
  __typename ... on RotateIntegrationCredentialsPayload { integration { ${FIELDS} } } ${ERRORS} } }`;
const lifecycle = (name: string) => `mutation($id: ID!) { ${name}(input: { id: $id }) {
  __typename ... on ${name[0]!.toUpperCase()}${name.slice(1)}Payload { integration { ${FIELDS} } } ${BASE_ERRORS} } }`;
const DELETE = `mutation($id: ID!) { deleteIntegration(input: { id: $id }) { __typename ... on DeleteIntegrationPayload { deletedId } ${BASE_ERRORS} } }`;
const GET = `query($id: ID!) { integration(id: $id) { ${FIELDS} } }`;

let server: TestServer;
let stripe: FakeApi;
let tokenA: string;
let tokenB: string;

async function configure(token: string, input: Record<string, unknown>) {
  const res = await server.gql(CONFIGURE, { input }, { token });
  return res.data?.configureIntegration;
}

async function statusOf(token: string, id: string) {
  const res = await server.gql(GET, { id }, { token });
  return res.data?.integration;
}

async function waitForStatus(token: string, id: string, status: string) {
  return eventually(
    async () => {
      const i = await statusOf(token, id);
      return i?.status === status ? i : undefined;
    },
    20_000,
    `integration ${id} to become ${status}`,
  );
}

beforeAll(async () => {
  stripe = await startFakeApi(stripeBalance(GOOD));
  server = await startTestServer({ STRIPE_API_BASE_URL: stripe.url });
  tokenA = await server.token({ tenant_id: 'tenant-a', sub: 'alice' });
  tokenB = await server.token({ tenant_id: 'tenant-b', sub: 'bob' });
});

afterAll(async () => {
  await server?.close();
  await stripe?.close();
});

it('runs on the database the suite was started for', () => {
  expect(server.app.database.kind).toBe(process.env.TEST_DATABASE_URL ? 'postgres' : 'embedded');
});

describe('configureIntegration', () => {
  let id: string;

  it('is refused without credentials (401 UNAUTHENTICATED)', async () => {
    const res = await server.gql(CONFIGURE, { input: { provider: 'stripe', credentials: STRIPE } });
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('is refused with a read-only scope (FORBIDDEN)', async () => {
    const token = await server.token({ tenant_id: 'tenant-a', scope: 'integrations:read' });
    const res = await server.gql(CONFIGURE, { input: { provider: 'stripe', credentials: STRIPE } }, { token });
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(res.data).toBeNull();
  });

  it('creates a PENDING_VERIFY integration that verification against the provider makes ACTIVE', async () => {
    const seenBefore = stripe.seen.length;
    const result = await configure(tokenA, { provider: 'stripe', credentials: STRIPE, metadata: { team: 'billing' } });
    expect(result.__typename).toBe('ConfigureIntegrationPayload');
    const created = result.integration;
    id = created.id;
    expect(created.status).toBe('PENDING_VERIFY');
    expect(created.version).toBe(1);
    expect(created.createdBy).toBe('alice');
    expect(created.enabledCapabilities).toEqual(['initiate_payment', 'process_refund', 'verify_payment']);
    expect(created.credentials).toEqual({ publishable_key: 'pk_test_abc', secret_key: null, webhook_secret: null });
    expect(created.credentialFields).toEqual([
      { key: 'publishable_key', sensitive: false, isSet: true, value: 'pk_test_abc' },
      { key: 'secret_key', sensitive: true, isSet: true, value: null },
      { key: 'webhook_secret', sensitive: true, isSet: false, value: null },
    ]);
    expect(created.inboundWebhookUrl).toMatch(new RegExp(`^${server.url}/hooks/stripe/[A-Za-z0-9_-]{32}$`));
    expect(JSON.stringify(result)).not.toContain(GOOD);

    const active = await waitForStatus(tokenA, id, 'ACTIVE');
    expect(active.verifiedAt).toBeTruthy();
    expect(active.lastError).toBeNull();
    expect(active.version).toBe(2);
    const call = stripe.seen.slice(seenBefore).find((s) => s.path === '/v1/balance');
    expect(call?.method).toBe('GET');
    expect(call?.headers.authorization).toBe(`Bearer ${GOOD}`);
  });

  it('refuses a second integration of the same provider (CONFLICT)', async () => {
    const result = await configure(tokenA, { provider: 'stripe', credentials: STRIPE });
    expect(result).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
  });

  it('lets another tenant configure the same provider, and hides each tenant’s integration from the other', async () => {
    const other = await configure(tokenB, { provider: 'stripe', credentials: STRIPE });
    expect(other.__typename).toBe('ConfigureIntegrationPayload');
    expect(await statusOf(tokenB, id)).toBeNull();
    const list = await server.gql(`{ integrations { totalCount edges { node { id } } } }`, {}, { token: tokenB });
    expect(list.data.integrations.totalCount).toBe(1);
    expect(list.data.integrations.edges[0].node.id).toBe(other.integration.id);
    const node = await server.gql(`query($id: ID!) { node(id: $id) { id } }`, { id }, { token: tokenB });
    expect(node.errors).toBeUndefined();
    expect(node.data.node).toBeNull();
  });

  it.each([
    [{ provider: 'nope', credentials: {} }, ['provider'], /^unknown provider \(known: .*\bstripe\b.*\)$/],
    [{ provider: 'stripe', credentials: { publishable_key: 'pk_test_x' } }, ['credentials', 'secret_key'], /is required/],
    [
      { provider: 'stripe', credentials: { ...STRIPE, colour: 'red' } },
      ['credentials'],
      /^has a field that is not a stripe credential field \(known: publishable_key, secret_key, webhook_secret\)$/,
    ],
    [{ provider: 'stripe', credentials: { ...STRIPE, secret_key: 42 } }, ['credentials', 'secret_key'], /expected a string/],
    [{ provider: 'stripe', credentials: { ...STRIPE, secret_key: 'pk_live_wrongfield' } }, ['credentials', 'secret_key'], /wrong format/],
    [{ provider: 'docusign', credentials: { environment: 'moon' } }, ['credentials', 'environment'], /expected one of: stage, production/],
    [{ provider: 'docusign', credentials: { changeKeys: 'yes' } }, ['credentials', 'changeKeys'], /true or false/],
    [
      { provider: 'docusign', credentials: { webhookCatcherEndpoint: 'ftp://x' } },
      ['credentials', 'webhookCatcherEndpoint'],
      /http\(s\) URL/,
    ],
    [
      { provider: 'stripe', credentials: STRIPE, enabledCapabilities: ['send_sms'] },
      ['enabledCapabilities', '0'],
      /^stripe does not support this capability \(supported: /,
    ],
  ])('returns VALIDATION with the field path (%#)', async (input, path, message) => {
    const result = await configure(tokenA, input);
    expect(result.__typename).toBe('ValidationError');
    expect(result.code).toBe('VALIDATION');
    const hit = result.fieldErrors.find((e: { path: string[] }) => e.path.join('.') === path.join('.'));
    expect(hit?.message).toMatch(message);
    expect(JSON.stringify(result)).not.toContain('pk_live_wrongfield');
  });

  it('gives exactly one success among 12 concurrent configures of one provider (the rest CONFLICT)', async () => {
    const token = await server.token({ tenant_id: 'tenant-race' });
    const results = await Promise.all(Array.from({ length: 12 }, () => configure(token, { provider: 'stripe', credentials: STRIPE })));
    const kinds = results.map((r) => r.__typename);
    expect(kinds.filter((k) => k === 'ConfigureIntegrationPayload')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'ConflictError')).toHaveLength(11);
  });

  describe('changes to an existing integration', () => {
    it('merges credentials by key and keeps the secret; a key that does not authenticate does not re-verify', async () => {
      const before = await statusOf(tokenA, id);
      const result = await server.gql(
        UPDATE,
        { input: { id, credentials: { publishable_key: 'pk_test_new' }, metadata: { team: 'payments' } } },
        { token: tokenA },
      );
      const updated = result.data.updateIntegration.integration;
      expect(updated.credentials.publishable_key).toBe('pk_test_new');
      expect(updated.credentialFields.find((f: { key: string }) => f.key === 'secret_key').isSet).toBe(true);
      expect(updated.metadata).toEqual({ team: 'payments' });
      // the publishable key is the browser's: Stripe's API authenticates with the secret key (#20)
      expect(updated.status).toBe(before.status);
      expect(updated.version).toBe(before.version + 1);
    });

    it('refuses a stale expectedVersion (VERSION_CONFLICT) and accepts the current one', async () => {
      const current = await statusOf(tokenA, id);
      const stale = await server.gql(
        UPDATE,
        { input: { id, metadata: { a: 1 }, expectedVersion: current.version - 1 } },
        { token: tokenA },
      );
      expect(stale.data.updateIntegration).toMatchObject({ __typename: 'ConflictError', code: 'VERSION_CONFLICT' });
      const fresh = await server.gql(UPDATE, { input: { id, metadata: { a: 1 }, expectedVersion: current.version } }, { token: tokenA });
      expect(fresh.data.updateIntegration.integration.version).toBe(current.version + 1);
    });

    it('rotating to a key the provider refuses ends in ERROR with a clear lastError', async () => {
      const rotated = await server.gql(ROTATE, { input: { id, credentials: { secret_key: 'sk_test_revoked' } } }, { token: tokenA });
      expect(rotated.data.rotateIntegrationCredentials.integration.status).toBe('PENDING_VERIFY');
      const failed = await waitForStatus(tokenA, id, 'ERROR');
      expect(failed.lastError).toBe('Stripe rejected the credentials (HTTP 401)');
      expect(stripe.seen.some((s) => s.headers.authorization === 'Bearer sk_test_revoked')).toBe(true);
    });

    it('refuses activation of an ERROR integration (INVALID_STATE) and recovers after a good rotation', async () => {
      const refused = await server.gql(lifecycle('activateIntegration'), { id }, { token: tokenA });
      expect(refused.data.activateIntegration).toMatchObject({ __typename: 'InvalidStateError', code: 'INVALID_STATE' });
      await server.gql(ROTATE, { input: { id, credentials: { secret_key: GOOD } } }, { token: tokenA });
      await waitForStatus(tokenA, id, 'ACTIVE');
    });

    it('an ERROR integration that is disabled and activated is verified again, never made ACTIVE unverified', async () => {
      await server.gql(ROTATE, { input: { id, credentials: { secret_key: 'sk_test_revokedAgain' } } }, { token: tokenA });
      await waitForStatus(tokenA, id, 'ERROR');
      await server.gql(lifecycle('disableIntegration'), { id }, { token: tokenA });
      const activated = await server.gql(lifecycle('activateIntegration'), { id }, { token: tokenA });
      expect(activated.data.activateIntegration.integration.status).toBe('PENDING_VERIFY');
      await waitForStatus(tokenA, id, 'ERROR'); // still the refused key
      await server.gql(ROTATE, { input: { id, credentials: { secret_key: GOOD } } }, { token: tokenA });
      await waitForStatus(tokenA, id, 'ACTIVE');
    });

    it('disable → INACTIVE; verify is refused; activate → ACTIVE without calling the provider', async () => {
      const disabled = await server.gql(lifecycle('disableIntegration'), { id }, { token: tokenA });
      expect(disabled.data.disableIntegration.integration.status).toBe('INACTIVE');
      const verify = await server.gql(lifecycle('verifyIntegration'), { id }, { token: tokenA });
      expect(verify.data.verifyIntegration.__typename).toBe('InvalidStateError');
      const calls = stripe.seen.length;
      const activated = await server.gql(lifecycle('activateIntegration'), { id }, { token: tokenA });
      expect(activated.data.activateIntegration.integration.status).toBe('ACTIVE');
      await new Promise((r) => setTimeout(r, 1200));
      expect(stripe.seen.length).toBe(calls);
    });

    it('verifyIntegration re-checks an ACTIVE integration', async () => {
      const calls = stripe.seen.length;
      const res = await server.gql(lifecycle('verifyIntegration'), { id }, { token: tokenA });
      expect(res.data.verifyIntegration.integration.status).toBe('PENDING_VERIFY');
      await waitForStatus(tokenA, id, 'ACTIVE');
      expect(stripe.seen.length).toBeGreaterThan(calls);
    });

    it('rotateInboundWebhookToken gives a new inboundWebhookUrl', async () => {
      const before = await statusOf(tokenA, id);
      const res = await server.gql(lifecycle('rotateInboundWebhookToken'), { id }, { token: tokenA });
      expect(res.data.rotateInboundWebhookToken.integration.inboundWebhookUrl).not.toBe(before.inboundWebhookUrl);
    });

    it('another tenant’s id, a malformed id and an unknown id are all NOT_FOUND', async () => {
      for (const name of ['disableIntegration', 'activateIntegration', 'verifyIntegration', 'rotateInboundWebhookToken']) {
        const res = await server.gql(lifecycle(name), { id }, { token: tokenB });
        expect(res.data[name]).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
      }
      for (const bad of ['garbage', Buffer.from('Integration:00000000-0000-0000-0000-000000000000').toString('base64')]) {
        const res = await server.gql(UPDATE, { input: { id: bad, metadata: {} } }, { token: tokenA });
        expect(res.data.updateIntegration.__typename).toBe('NotFoundError');
      }
      const upd = await server.gql(UPDATE, { input: { id, metadata: { hijack: true } } }, { token: tokenB });
      expect(upd.data.updateIntegration.__typename).toBe('NotFoundError');
      const rot = await server.gql(ROTATE, { input: { id, credentials: { secret_key: 'sk_test_x' } } }, { token: tokenB });
      expect(rot.data.rotateIntegrationCredentials.__typename).toBe('NotFoundError');
      const del = await server.gql(DELETE, { id }, { token: tokenB });
      expect(del.data.deleteIntegration.__typename).toBe('NotFoundError');
      expect((await statusOf(tokenA, id)).metadata).not.toHaveProperty('hijack');
    });

    it('every mutation is refused without credentials', async () => {
      for (const name of ['disableIntegration', 'activateIntegration', 'verifyIntegration', 'rotateInboundWebhookToken']) {
        const res = await server.gql(lifecycle(name), { id });
        expect(res.status).toBe(401);
      }
      expect((await server.gql(UPDATE, { input: { id } })).status).toBe(401);
      expect((await server.gql(ROTATE, { input: { id, credentials: {} } })).status).toBe(401);
      expect((await server.gql(DELETE, { id })).status).toBe(401);
    });

    it('records every change as an event, never with a credential', async () => {
      const res = await server.gql(`{ events(first: 100) { totalCount edges { node { type payload } } } }`, {}, { token: tokenA });
      const types = res.data.events.edges.map((e: { node: { type: string } }) => e.node.type);
      for (const t of ['integration.created', 'integration.updated', 'integration.status_changed', 'integration.credentials_rotated']) {
        expect(types).toContain(t);
      }
      expect(res.raw).not.toContain(GOOD);
      expect(res.raw).not.toContain('sk_test_revoked');
    });

    it('deleteIntegration soft-deletes: gone for reads, and the provider can be configured again', async () => {
      const res = await server.gql(DELETE, { id }, { token: tokenA });
      expect(res.data.deleteIntegration.deletedId).toBe(id);
      expect(await statusOf(tokenA, id)).toBeNull();
      const again = await server.gql(DELETE, { id }, { token: tokenA });
      expect(again.data.deleteIntegration.__typename).toBe('NotFoundError');
      const provider = await server.gql(`{ provider(name: "stripe") { isConfigured integration { id } } }`, {}, { token: tokenA });
      expect(provider.data.provider).toEqual({ isConfigured: false, integration: null });
      const reconfigured = await configure(tokenA, { provider: 'stripe', credentials: STRIPE });
      expect(reconfigured.__typename).toBe('ConfigureIntegrationPayload');
      id = reconfigured.integration.id;
    });
  });
});

describe('verification failures', () => {
  it('retries a provider outage, then gives up with ERROR and says why', async () => {
    const token = await server.token({ tenant_id: 'tenant-outage' });
    stripe.route = () => ({ status: 503 });
    try {
      const result = await configure(token, { provider: 'stripe', credentials: STRIPE });
      const failed = await waitForStatus(token, result.integration.id, 'ERROR');
      expect(failed.lastError).toBe('Stripe API unavailable (HTTP 503); gave up after 2 attempts');
    } finally {
      stripe.route = stripeBalance(GOOD);
    }
  });
});

describe('reads', () => {
  it('lists integrations with totalCount, filters and Relay paging; more than 100 a page is an error', async () => {
    const token = await server.token({ tenant_id: 'tenant-list' });
    for (const provider of ['stripe', 'openai']) {
      await configure(token, {
        provider,
        credentials: provider === 'stripe' ? STRIPE : { api_key: 'sk-test-abc' },
      });
    }
    const page = await server.gql(
      `{ integrations(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { node { provider { name } } } } }`,
      {},
      { token },
    );
    expect(page.data.integrations.totalCount).toBe(2);
    expect(page.data.integrations.pageInfo.hasNextPage).toBe(true);
    expect(page.data.integrations.edges[0].node.provider.name).toBe('openai'); // newest first
    const next = await server.gql(
      `query($after: String) { integrations(first: 1, after: $after) { edges { node { provider { name } } } pageInfo { hasNextPage } } }`,
      { after: page.data.integrations.pageInfo.endCursor },
      { token },
    );
    expect(next.data.integrations.edges[0].node.provider.name).toBe('stripe');
    expect(next.data.integrations.pageInfo.hasNextPage).toBe(false);

    const payments = await server.gql(`{ integrations(category: PAYMENT) { totalCount } }`, {}, { token });
    expect(payments.data.integrations.totalCount).toBe(1);
    const ai = await server.gql(`{ integrations(provider: "openai") { totalCount } }`, {}, { token });
    expect(ai.data.integrations.totalCount).toBe(1);

    const tooMany = await server.gql(`{ integrations(first: 101) { totalCount } }`, {}, { token });
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('VALIDATION');
    expect(tooMany.errors?.[0]?.message).toMatch(/first: must be at most 100/);
  });

  it('reads a page with its totalCount: a first page in one statement, a later one in one transaction, also in a fragment, with counts per filter', async () => {
    const token = await server.token({ tenant_id: 'tenant-list' });
    const sentFor = async (query: string) => {
      const before = server.queries.length;
      const res = await server.gql(query, {}, { token });
      expect(res.errors).toBeUndefined();
      const sent = server.queries.slice(before);
      return {
        res,
        // statements that read Integration rows (the page, a count), Prisma's or src/integrations/first-page.ts's
        reads: sent.filter((q) => /FROM (?:"(?:public"\.")?Integration"|icp_integration_page\()/.test(q)).length,
        // each transaction Prisma runs starts by naming the tenant (src/db/row-security.ts)
        transactions: sent.filter((q) => /^SELECT set_config\(\$1, \$2, true\)/.test(q.trim())).length,
      };
    };
    // a first page: rows and count in one statement (count(*) OVER ()), no COUNT of its own
    const direct = await sentFor(`{ integrations(first: 1) { totalCount pageInfo { endCursor } edges { node { id } } } }`);
    expect(direct).toMatchObject({ reads: 1, res: { data: { integrations: { totalCount: 2 } } } });
    const fragment = await sentFor(
      `{ integrations(first: 1) { ...Counted edges { node { id } } } } fragment Counted on IntegrationConnection { totalCount }`,
    );
    expect(fragment).toMatchObject({ reads: 1, res: { data: { integrations: { totalCount: 2 } } } });
    // two aliases with different filters: each gets its own count
    const aliased = await sentFor(
      `{ all: integrations { totalCount edges { node { id } } } ai: integrations(provider: "openai") { totalCount edges { node { id } } } }`,
    );
    expect(aliased.res.data).toMatchObject({ all: { totalCount: 2 }, ai: { totalCount: 1 } });
    expect(aliased.reads).toBe(2);
    // a page after a cursor goes through Prisma: the page and its COUNT share one transaction
    const after = await sentFor(
      `{ integrations(first: 1, after: "${direct.res.data.integrations.pageInfo.endCursor}") { totalCount edges { node { id } } } }`,
    );
    expect(after).toMatchObject({ reads: 2, transactions: 1, res: { data: { integrations: { totalCount: 2 } } } });
    // two connections with the same arguments: each its own count
    const two = await sentFor(`{ integrations(first: 1) { totalCount } webhooks(first: 1) { totalCount edges { node { id } } } }`);
    expect(two.res.data).toEqual({ integrations: { totalCount: 2 }, webhooks: { totalCount: 0, edges: [] } });
  });

  it('serves the catalog with credential schemas and the tenant’s view of each provider', async () => {
    const token = await server.token({ tenant_id: 'tenant-list' });
    const res = await server.gql(
      `{ providers { name category capabilities isConfigured credentialSchema { key sensitive required type enumValues } } }`,
      {},
      { token },
    );
    const byName = Object.fromEntries(res.data.providers.map((p: { name: string }) => [p.name, p]));
    expect(Object.keys(byName)).toHaveLength(11);
    expect(byName.stripe.isConfigured).toBe(true);
    expect(byName.twilio.isConfigured).toBe(false);
    expect(byName.twilio.credentialSchema.find((f: { key: string }) => f.key === 'auth_token')).toMatchObject({
      sensitive: true,
      required: true,
    });
    expect(byName.docusign.credentialSchema.find((f: { key: string }) => f.key === 'environment')).toMatchObject({
      type: 'ENUM',
      enumValues: ['stage', 'production'],
    });
    const esign = await server.gql(`{ providers(category: E_SIGNATURE) { name } }`, {}, { token });
    expect(esign.data.providers.map((p: { name: string }) => p.name)).toEqual([
      'docusign',
      'clicksign',
      'd4sign',
      'certisign',
      'adobe_sign',
    ]);
    const sms = await server.gql(`{ providers(capability: "send_sms") { name } }`, {}, { token });
    expect(sms.data.providers.map((p: { name: string }) => p.name)).toEqual(['twilio', 'plivo']);
  });
});
