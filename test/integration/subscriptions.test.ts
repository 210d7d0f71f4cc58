/** integrationStatusChanged over Server-Sent Events, confined to the subscriber's tenant. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, startFakeApi, stripeBalance } from '../helpers/fake-api.ts';
import { subscribeSse, subscriptionAnswer } from '../helpers/sse.ts';

let server: TestServer;
let stripe: FakeApi;

beforeAll(async () => {
  stripe = await startFakeApi(stripeBalance('sk_test_ok'));
  server = await startTestServer({ STRIPE_API_BASE_URL: stripe.url });
});
afterAll(async () => {
  await server?.close();
  await stripe?.close();
});

/** Opens an SSE subscription and collects its `next` payloads. */
async function subscribe(token: string, query: string) {
  const events: any[] = [];
  const { response, close } = await subscribeSse(server.url, token, query, (payload) => events.push(payload));
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
  return { events, close };
}

it('streams each status transition to the tenant’s subscribers only', async () => {
  const tokenA = await server.token({ tenant_id: 'sse-a' });
  const tokenB = await server.token({ tenant_id: 'sse-b' });
  const query = 'subscription { integrationStatusChanged { id status provider { name } } }';
  const a = await subscribe(tokenA, query);
  const b = await subscribe(tokenB, query);
  await new Promise((r) => setTimeout(r, 200));

  const created = await server.gql(
    `mutation { configureIntegration(input: { provider: "stripe", credentials: { publishable_key: "pk_test_1", secret_key: "sk_test_ok" } }) {
      ... on ConfigureIntegrationPayload { integration { id } } } }`,
    {},
    { token: tokenA },
  );
  const id = created.data.configureIntegration.integration.id;
  const deadline = Date.now() + 15_000;
  while (!a.events.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await server.gql(`mutation($id: ID!) { disableIntegration(input: { id: $id }) { __typename } }`, { id }, { token: tokenA });
  while (a.events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

  expect(a.events.map((e) => e.data.integrationStatusChanged)).toEqual([
    { id, status: 'ACTIVE', provider: { name: 'stripe' } },
    { id, status: 'INACTIVE', provider: { name: 'stripe' } },
  ]);
  expect(b.events).toEqual([]);
  a.close();
  b.close();
});

it('refuses anonymous subscriptions', async () => {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: 'subscription { integrationStatusChanged { id } }' }),
  });
  expect(res.status).toBe(401);
  await res.body?.cancel();
});

it('refuses a subscription the credential lacks the scope for before any stream opens', async () => {
  // a webhooks-only token may not follow integrations: one typed 403, no event stream
  const token = await server.token({ tenant_id: 'sse-scope', scope: 'webhooks:read' });
  const answer = await subscriptionAnswer(server.url, token, 'subscription { integrationStatusChanged { id } }');
  expect(answer).toMatchObject({ status: 403, stream: false, error: { extensions: { code: 'FORBIDDEN' } } });
});

it('answers a subscription to another tenant’s (or a missing) webhook with one 404, not a stream', async () => {
  const token = await server.token({ tenant_id: 'sse-scope' });
  const answer = await subscriptionAnswer(
    server.url,
    token,
    'subscription { webhookDeliveryUpdated(webhookId: "V2ViaG9vazpub3BlCg") { id } }',
  );
  expect(answer).toMatchObject({ status: 404, error: { extensions: { code: 'NOT_FOUND' } } });
});

it('answers a subscription to one integration the caller cannot see with one 404, and follows one it can', async () => {
  const owner = await server.token({ tenant_id: 'sse-one' });
  const stranger = await server.token({ tenant_id: 'sse-stranger' });
  const created = await server.gql(
    `mutation { configureIntegration(input: { provider: "stripe", credentials: { publishable_key: "pk_test_1", secret_key: "sk_test_ok" } }) {
      ... on ConfigureIntegrationPayload { integration { id } } } }`,
    {},
    { token: owner },
  );
  const id = created.data.configureIntegration.integration.id as string;
  const query = 'subscription($id: ID) { integrationStatusChanged(id: $id) { id status } }';
  const refused = async (token: string, id: string) => {
    const answer = await subscriptionAnswer(server.url, token, query, { id });
    expect(answer).toMatchObject({ status: 404, stream: false, error: { extensions: { code: 'NOT_FOUND' } } });
    return answer.raw;
  };
  // another tenant's, a malformed one, another type's: each the same typed answer, no stream
  await refused(stranger, id);
  expect(await refused(owner, 'not-an-id')).not.toContain('not-an-id');
  // a secret pasted where the id goes, even wrapped as an Integration id, is not repeated
  const wrapped = Buffer.from('Integration:sk_live_pasted_by_mistake').toString('base64');
  expect(await refused(owner, wrapped)).not.toContain(wrapped);
  await refused(owner, Buffer.from('Webhook:0190d7a0-0000-7000-8000-000000000000').toString('base64'));

  // its owner's stream hears it
  const { events, close } = await subscribe(owner, `subscription { integrationStatusChanged(id: "${id}") { id status } }`);
  await new Promise((r) => setTimeout(r, 200));
  await server.gql(`mutation($id: ID!) { disableIntegration(input: { id: $id }) { __typename } }`, { id }, { token: owner });
  await eventually(
    async () => (events.some((e) => e.data?.integrationStatusChanged?.status === 'INACTIVE') ? true : undefined),
    15_000,
    'INACTIVE heard',
  );
  close();

  // deleted, it is no longer there to follow
  await server.gql(`mutation($id: ID!) { deleteIntegration(input: { id: $id }) { __typename } }`, { id }, { token: owner });
  await refused(owner, id);
});

it('holds more than ten subscribers of one tenant without a listener-leak warning, and each hears the change', async () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  try {
    const token = await server.token({ tenant_id: 'sse-many' });
    const subscribers = await Promise.all(
      Array.from({ length: 12 }, () => subscribe(token, 'subscription { integrationStatusChanged { id status } }')),
    );
    await new Promise((r) => setTimeout(r, 200));
    await server.gql(
      `mutation { configureIntegration(input: { provider: "stripe", credentials: { publishable_key: "pk_test_1", secret_key: "sk_test_ok" } }) {
        __typename } }`,
      {},
      { token },
    );
    await eventually(async () => subscribers.every((s) => s.events.length > 0) || undefined, 15_000, 'an event on every stream');
    for (const s of subscribers) s.close();
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  } finally {
    process.off('warning', onWarning);
  }
});
