/**
 * The response cache of the integrations read model (src/cache/response-cache.ts) against the
 * running service: a repeated page costs no SQL, and every way an integration can change (a
 * mutation, the verification worker, a write the API never saw) is seen by the next read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forTenant } from '../../src/db/tenant.ts';
import { parseGlobalId } from '../../src/errors.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, startFakeApi, stripeBalance } from '../helpers/fake-api.ts';

const GOOD = 'sk_test_cacheKey123';
const PAGE = `query Page($first: Int) { integrations(first: $first) { totalCount
  edges { node { id status version metadata provider { name } credentialFields { key isSet value } } } } }`;
const CONFIGURE = `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) {
  __typename ... on ConfigureIntegrationPayload { integration { id status } } } }`;

let server: TestServer;
let stripe: FakeApi;

beforeAll(async () => {
  stripe = await startFakeApi(stripeBalance(GOOD));
  server = await startTestServer({ STRIPE_API_BASE_URL: stripe.url, OPENAI_API_BASE_URL: 'http://127.0.0.1:9', VERIFY_RETRY_LIMIT: '0' });
});

afterAll(async () => {
  await server?.close();
  await stripe?.close();
});

/** The answer, and how many SQL statements Prisma sent for it. */
async function measured(query: string, variables: Record<string, unknown>, token: string, headers: Record<string, string> = {}) {
  const before = server.queries.length;
  const res = await server.gql(query, variables, { token, headers });
  return { res, statements: server.queries.length - before };
}

const page = (token: string, headers?: Record<string, string>) => measured(PAGE, { first: 25 }, token, headers);
const statuses = (res: { data?: any }) => res.data.integrations.edges.map((e: any) => e.node.status);

async function configureStripe(token: string) {
  const res = await server.gql(
    CONFIGURE,
    { input: { provider: 'stripe', credentials: { publishable_key: 'pk_test_1', secret_key: GOOD } } },
    { token },
  );
  expect(res.data.configureIntegration.__typename).toBe('ConfigureIntegrationPayload');
  return res.data.configureIntegration.integration.id as string;
}

describe('a repeated read', () => {
  it('is answered without SQL, with the same answer, until something changes', async () => {
    const token = await server.token({ tenant_id: 'cache-repeat' });
    await configureStripe(token);
    await eventually(async () => ((await page(token)).res.data.integrations.edges[0].node.status === 'ACTIVE' ? true : undefined));

    const first = await page(token);
    // the count is the whole server's: the verification job finishing may add a statement to one read
    const again = await eventually(
      async () => {
        const read = await page(token);
        return read.statements === 0 ? read : undefined;
      },
      5_000,
      'a read without SQL',
    );
    expect(again.res.raw).toBe(first.res.raw);

    // another page size is another answer
    const one = await measured(PAGE, { first: 1 }, token);
    expect(one.statements).toBeGreaterThan(0);
  });

  it('is executed when the client asks with Cache-Control: no-cache', async () => {
    const token = await server.token({ tenant_id: 'cache-repeat' });
    await page(token);
    const fresh = await page(token, { 'cache-control': 'no-cache' });
    expect(fresh.statements).toBeGreaterThan(0);
    expect(fresh.res.errors).toBeUndefined();
  });

  // resolveRoute is executed too, from the routing table (test/integration/routing-table.test.ts)
  it('of webhooks or an integration’s routing rules is always executed', async () => {
    const token = await server.token({ tenant_id: 'cache-repeat' });
    for (const query of [
      '{ webhooks(first: 5) { totalCount } }',
      '{ integrations(first: 5) { edges { node { id routingRules { id } } } } }',
      '{ integrations(first: 5) { totalCount } viewer { tenantId } }',
    ]) {
      await measured(query, {}, token);
      const again = await measured(query, {}, token);
      expect(again.res.errors, query).toBeUndefined();
      expect(again.statements, query).toBeGreaterThan(0);
    }
  });
});

describe('a kept answer is not given', () => {
  it('to another tenant, or to a caller without the scope', async () => {
    const token = await server.token({ tenant_id: 'cache-owner' });
    await configureStripe(token);
    await page(token);
    const other = await page(await server.token({ tenant_id: 'cache-other' }));
    expect(other.res.data.integrations.totalCount).toBe(0);

    const narrow = await page(await server.token({ tenant_id: 'cache-owner', scope: 'webhooks:read' }));
    expect(narrow.res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('after a mutation of the tenant: the next read sees it at once', async () => {
    const token = await server.token({ tenant_id: 'cache-mutation' });
    const id = await configureStripe(token);
    const before = await page(token);
    expect(before.res.data.integrations.totalCount).toBe(1);
    await page(token);

    const updated = await server.gql(
      `mutation($input: UpdateIntegrationInput!) { updateIntegration(input: $input) { __typename } }`,
      { input: { id, metadata: { team: 'payments' } } },
      { token },
    );
    expect(updated.data.updateIntegration.__typename).toBe('UpdateIntegrationPayload');
    const after = await page(token);
    expect(after.statements).toBeGreaterThan(0);
    expect(after.res.data.integrations.edges[0].node.metadata).toEqual({ team: 'payments' });

    await server.gql(`mutation($id: ID!) { deleteIntegration(input: { id: $id }) { __typename } }`, { id }, { token });
    expect((await page(token)).res.data.integrations.totalCount).toBe(0);
  });

  it('after the verification worker changed the integration', async () => {
    const token = await server.token({ tenant_id: 'cache-worker' });
    let answer!: () => void;
    const held = new Promise<void>((resolve) => (answer = resolve));
    stripe.route = async (req) => {
      await held;
      return stripeBalance(GOOD)(req);
    };
    try {
      const seen = stripe.seen.length;
      await configureStripe(token);
      // the worker holds the call: it sends no SQL until the fake answers
      await eventually(async () => (stripe.seen.length > seen ? true : undefined), 10_000, 'the verification call');
      // kept (the announcement of the configure's own commit may move the version once more first)
      await eventually(
        async () => {
          const { res, statements } = await page(token);
          expect(statuses(res)).toEqual(['PENDING_VERIFY']);
          return statements === 0 ? true : undefined;
        },
        5_000,
        'the PENDING_VERIFY page to be kept',
      );
      answer();
      await eventually(async () => (statuses((await page(token)).res)[0] === 'ACTIVE' ? true : undefined), 10_000, 'ACTIVE', 20);
    } finally {
      answer();
      stripe.route = stripeBalance(GOOD);
    }
  });

  it('after a write the API never saw (another process, a script): the database announces it', async () => {
    const token = await server.token({ tenant_id: 'cache-outside' });
    const id = await configureStripe(token);
    await eventually(async () => (statuses((await page(token)).res)[0] === 'ACTIVE' ? true : undefined));
    await eventually(async () => ((await page(token)).statements === 0 ? true : undefined), 10_000, 'a kept page');

    await forTenant(server.app.services.prisma, 'cache-outside').integration.update({
      where: { id: parseGlobalId('Integration', id) },
      data: { status: 'INACTIVE', version: { increment: 1 } },
    });
    await eventually(async () => (statuses((await page(token)).res)[0] === 'INACTIVE' ? true : undefined), 5_000, 'the announcement', 10);
  });
});

it('counts hits, misses and bypasses in /metrics', async () => {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  for (const outcome of ['hit', 'miss', 'bypass']) {
    expect(text).toMatch(new RegExp(`icp_graphql_response_cache_total\\{outcome="${outcome}"\\} [1-9]`));
  }
});
