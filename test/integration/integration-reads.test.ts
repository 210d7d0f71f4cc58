/**
 * What GraphQL reads of integrations fetch from the database: the sealed credential columns
 * (ciphertext, data key, IV, tag, key id) are never shown, so no page, node or lookup reads them;
 * a first page that holds every row is its own totalCount. Checked on the SQL the running service
 * sends, with a Stripe integration verified against a fake and an OpenAI one that cannot be.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, startFakeApi, stripeBalance } from '../helpers/fake-api.ts';
import { configureActive, configureIntegration, gqlAs } from '../helpers/integrations.ts';
import { subscribeSse } from '../helpers/sse.ts';

const GOOD = 'sk_test_sealedReads123';
const FIELDS = `id status version metadata enabledCapabilities lastError verifiedAt createdAt updatedAt createdBy updatedBy
  credentials credentialFields { key sensitive isSet value } inboundWebhookUrl provider { name }`;
const SEALED = /"secret(KeyId|DataKey|Iv|Tag|Ciphertext)"/;
/** Prisma's reads of Integration, and the first page read in SQL (src/integrations/first-page.ts). */
const READS_INTEGRATION = /^SELECT\b.*\bFROM ("(\w+"\.")?Integration"|icp_integration_page\()/s;
/** A statement of its own that counts (Prisma's `count`); a first page read in SQL counts inside its own statement. */
const COUNT = /^SELECT\s+COUNT\(/i;

let server: TestServer;
let stripe: FakeApi;
let token: string;
let id: string;

beforeAll(async () => {
  stripe = await startFakeApi(stripeBalance(GOOD));
  server = await startTestServer({ STRIPE_API_BASE_URL: stripe.url, OPENAI_API_BASE_URL: 'http://127.0.0.1:9', VERIFY_RETRY_LIMIT: '0' });
  token = await server.token({ tenant_id: 'sealed-reads' });
  const gql = gqlAs(server, { token });
  ({ id } = await configureActive(gql, 'stripe', { publishable_key: 'pk_test_sealed', secret_key: GOOD }));
  // a second live integration, never ACTIVE (its API is unreachable), for counts and cut pages
  const openai = await configureIntegration(gql, 'openai', { api_key: 'sk-proj-sealed' });
  // its verification (which reads the sealed columns, as it must) is over before anything is counted
  await eventually(
    async () =>
      (await gql(`query($id: ID!) { integration(id: $id) { status } }`, { id: openai.id })).integration?.status === 'ERROR'
        ? true
        : undefined,
    20_000,
    'the OpenAI integration verified (ERROR)',
  );
});

afterAll(async () => {
  await server?.close();
  await stripe?.close();
});

/** The answer, executed (not from the response cache), and the SELECTs of Integration it sent. */
async function reads(query: string, variables: Record<string, unknown> = {}) {
  const before = server.queries.length;
  const res = await server.gql(query, variables, { token, headers: { 'cache-control': 'no-cache' } });
  expect(res.errors).toBeUndefined();
  const selects = server.queries.slice(before).filter((sql) => READS_INTEGRATION.test(sql));
  return { data: res.data, selects, counts: selects.filter((sql) => COUNT.test(sql)).length };
}

/** The integration as every read must show it: the secret known to be set, never its value. */
function expectShown(node: any) {
  expect(node).toMatchObject({
    id,
    status: 'ACTIVE',
    credentials: { publishable_key: 'pk_test_sealed', secret_key: null },
    provider: { name: 'stripe' },
  });
  expect(node.credentialFields).toContainEqual({ key: 'secret_key', sensitive: true, isSet: true, value: null });
  expect(node.inboundWebhookUrl).toMatch(/\/hooks\/stripe\//);
  expect(JSON.stringify(node)).not.toContain(GOOD);
}

describe('a GraphQL read of integrations', () => {
  it('sends no sealed column for an executed page with its count', async () => {
    const { data, selects } = await reads(
      `query($first: Int) { integrations(first: $first) { totalCount edges { node { ${FIELDS} } } } }`,
      {
        first: 25,
      },
    );
    expect(data.integrations.totalCount).toBe(2);
    expectShown(data.integrations.edges.find((e: any) => e.node.id === id).node);
    expect(selects.length).toBeGreaterThan(0);
    for (const sql of selects) expect(sql).not.toMatch(SEALED);
  });

  it('sends no sealed column for integration(id), node(id) or a provider’s integration', async () => {
    for (const [query, pick] of [
      [`query($id: ID!) { integration(id: $id) { ${FIELDS} } }`, (d: any) => d.integration],
      [`query($id: ID!) { node(id: $id) { ... on Integration { ${FIELDS} } } }`, (d: any) => d.node],
      [`{ providers { name integration { ${FIELDS} } } }`, (d: any) => d.providers.find((p: any) => p.name === 'stripe').integration],
    ] as const) {
      const { data, selects } = await reads(query, { id });
      expectShown(pick(data));
      expect(selects.length, query).toBeGreaterThan(0);
      for (const sql of selects) expect(sql, query).not.toMatch(SEALED);
    }
  });
});

describe('an integrations page’s totalCount', () => {
  const PAGE = `query($first: Int, $after: String, $status: IntegrationStatus) {
    integrations(first: $first, after: $after, status: $status) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`;

  it('is the first page’s rows when the page is not cut: no COUNT is sent', async () => {
    for (const [variables, total] of [
      [{ first: 25 }, 2],
      [{}, 2],
      [{ first: 25, status: 'ACTIVE' }, 1],
    ] as const) {
      const { data, counts } = await reads(PAGE, variables);
      expect(data.integrations.totalCount, JSON.stringify(variables)).toBe(total);
      expect(data.integrations.edges).toHaveLength(total);
      expect(counts, JSON.stringify(variables)).toBe(0);
    }
  });

  it('is counted with the page when a first page is cut, and by a COUNT when the page starts at a cursor', async () => {
    const cut = await reads(PAGE, { first: 1 });
    expect(cut.data.integrations).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true } });
    expect(cut.data.integrations.edges).toHaveLength(1);
    // src/integrations/first-page.ts: rows and count(*) OVER () in one statement
    expect(cut.selects).toHaveLength(1);
    expect(cut.counts).toBe(0);

    const next = await reads(PAGE, { first: 25, after: cut.data.integrations.pageInfo.endCursor });
    expect(next.data.integrations).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: false } });
    expect(next.data.integrations.edges).toHaveLength(1);
    expect(next.counts).toBe(1);
  });
});

describe('a subscription’s reload of a changed integration', () => {
  it('sends no sealed column', async () => {
    const heard: any[] = [];
    const sub = await subscribeSse(server.url, token, `subscription { integrationStatusChanged(id: "${id}") { ${FIELDS} } }`, (payload) =>
      heard.push(payload),
    );
    try {
      expect(sub.response.status).toBe(200);
      const before = server.queries.length;
      const gql = gqlAs(server, { token });
      // the status changes, and every subscriber's stream reloads the row
      await gql(`mutation($id: ID!) { disableIntegration(input: { id: $id }) { __typename } }`, { id });
      await eventually(async () => (heard.length ? true : undefined), 10_000, 'the status change heard');
      expect(heard[0].data.integrationStatusChanged).toMatchObject({ id, status: 'INACTIVE' });
      // the mutation's own locked read may read them (it can re-seal); the reload is a plain read
      const reloads = server.queries.slice(before).filter((sql) => READS_INTEGRATION.test(sql) && !/FOR UPDATE/i.test(sql));
      expect(reloads.length).toBeGreaterThan(0);
      for (const sql of reloads) expect(sql).not.toMatch(SEALED);
    } finally {
      sub.close();
      // back as it was for the other tests (its credentials verified: no new check)
      await gqlAs(server, { token })(`mutation($id: ID!) { activateIntegration(input: { id: $id }) { __typename } }`, { id });
    }
  });
});
