/**
 * The audit fields' values as a client reads them back: createdBy is who created the row,
 * updatedBy who last changed it (a JWT sub, or apikey:<id>), appId the application of the token
 * that created it. And what updateIntegration does to an ACTIVE integration: an authenticating
 * credential re-verifies it (credentials_rotated), metadata alone does not (integration.updated).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, startFakeApi } from '../helpers/fake-api.ts';
import { addRule, configureActive, type Gql, gqlAs } from '../helpers/integrations.ts';

const STRIPE = { publishable_key: 'pk_test_audit', secret_key: 'sk_test_auditKeyOne' };
const AUDIT = 'createdBy updatedBy appId';
const NODE = `query($id: ID!) { node(id: $id) {
  ... on RoutingRule { ${AUDIT} } ... on ApiKey { ${AUDIT} } ... on Integration { status verifiedAt ${AUDIT} } } }`;
const UPDATE_RULE = `mutation($input: UpdateRoutingRuleInput!) { updateRoutingRule(input: $input) {
  __typename ... on UpdateRoutingRulePayload { routingRule { id ${AUDIT} } } ... on Error { code message } } }`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  __typename ... on CreateApiKeyPayload { apiKey { id ${AUDIT} } } ... on Error { code message } } }`;
const UPDATE = `mutation($input: UpdateIntegrationInput!) { updateIntegration(input: $input) {
  __typename ... on UpdateIntegrationPayload { integration { id status verifiedAt metadata ${AUDIT} } } ... on Error { code message } } }`;
const EVENTS = `query($type: String) { events(first: 100, type: $type) { edges { node { type payload } } } }`;

let server: TestServer;
let stripe: FakeApi;

beforeAll(async () => {
  // Stripe's balance check, accepting any key
  stripe = await startFakeApi((req) =>
    req.path === '/v1/balance' ? { status: 200, body: { object: 'balance', available: [] } } : { status: 404 },
  );
  server = await startTestServer({ STRIPE_API_BASE_URL: stripe.url });
});

afterAll(async () => {
  await server?.close();
  await stripe?.close();
});

/** Two people of a tenant of its own (one stripe integration per tenant), and an application's credential. */
async function callers(tenant: string): Promise<{ alice: Gql; bob: Gql; billingApp: Gql }> {
  const as = async (claims: Record<string, unknown>) => gqlAs(server, { token: await server.token({ tenant_id: tenant, ...claims }) });
  return {
    alice: await as({ sub: 'alice' }),
    bob: await as({ sub: 'bob' }),
    billingApp: await as({ sub: 'billing-service', app_id: 'billing' }),
  };
}

const read = async (gql: Gql, id: string) => (await gql(NODE, { id })).node;

/** The payloads of one type's events about one integration, newest first. */
async function eventsOf(gql: Gql, type: string, id: string): Promise<Record<string, any>[]> {
  const edges = (await gql(EVENTS, { type })).events.edges as { node: { payload: Record<string, any> } }[];
  return edges.map((e) => e.node.payload).filter((p) => p.id === id);
}

describe('audit fields read back through the API', () => {
  it('a RoutingRule: createdBy and appId of its creator, updatedBy of whoever changed it last', async () => {
    const { alice, bob, billingApp } = await callers('audit-rule');
    const { id: integrationId } = await configureActive(alice, 'stripe', STRIPE);
    const ruleId = await addRule(billingApp, { capability: 'verify_payment', integrationId, isDefault: true });
    expect(await read(alice, ruleId)).toEqual({ createdBy: 'billing-service', updatedBy: 'billing-service', appId: 'billing' });

    const updated = (await bob(UPDATE_RULE, { input: { id: ruleId, priority: 5 } })).updateRoutingRule;
    expect(updated.__typename, updated.message).toBe('UpdateRoutingRulePayload');
    expect(updated.routingRule).toMatchObject({ createdBy: 'billing-service', updatedBy: 'bob', appId: 'billing' });
    expect(await read(alice, ruleId)).toEqual({ createdBy: 'billing-service', updatedBy: 'bob', appId: 'billing' });
  });

  it('an ApiKey: createdBy of its creator; appId when the creating token carries app_id', async () => {
    const { alice, billingApp } = await callers('audit-key');
    const personal = (await alice(CREATE_KEY, { input: { name: 'personal', scopes: ['integrations:read'] } })).createApiKey;
    expect(personal.__typename, personal.message).toBe('CreateApiKeyPayload');
    expect(await read(alice, personal.apiKey.id)).toEqual({ createdBy: 'alice', updatedBy: 'alice', appId: null });

    const minted = (await billingApp(CREATE_KEY, { input: { name: 'billing', scopes: ['integrations:read'] } })).createApiKey;
    expect(minted.__typename, minted.message).toBe('CreateApiKeyPayload');
    expect(minted.apiKey).toMatchObject({ createdBy: 'billing-service', appId: 'billing' });
    expect(await read(billingApp, minted.apiKey.id)).toEqual({
      createdBy: 'billing-service',
      updatedBy: 'billing-service',
      appId: 'billing',
    });
  });

  it('an Integration changed by updateIntegration: updatedBy of the second subject, createdBy kept', async () => {
    const { alice, bob } = await callers('audit-integration');
    const { id } = await configureActive(alice, 'stripe', STRIPE);
    const updated = (await bob(UPDATE, { input: { id, metadata: { owner: 'bob' } } })).updateIntegration;
    expect(updated.__typename, updated.message).toBe('UpdateIntegrationPayload');
    expect(updated.integration).toMatchObject({ createdBy: 'alice', updatedBy: 'bob', appId: null });
    expect(await read(alice, id)).toMatchObject({ createdBy: 'alice', updatedBy: 'bob', appId: null });
  });
});

describe('updateIntegration of an ACTIVE integration', () => {
  it('an authenticating credential: PENDING_VERIFY, verifiedAt null, integration.credentials_rotated', async () => {
    const { alice, bob } = await callers('audit-rotate');
    const { id } = await configureActive(alice, 'stripe', STRIPE);
    expect((await read(alice, id)).verifiedAt).toBeTruthy();

    const updated = (await bob(UPDATE, { input: { id, credentials: { secret_key: 'sk_test_auditKeyTwo' } } })).updateIntegration;
    expect(updated.__typename, updated.message).toBe('UpdateIntegrationPayload');
    expect(updated.integration).toMatchObject({ status: 'PENDING_VERIFY', verifiedAt: null, updatedBy: 'bob' });

    const [rotated] = await eventsOf(alice, 'integration.credentials_rotated', id);
    expect(rotated).toMatchObject({ changedFields: ['secret_key'] });
    expect(JSON.stringify(rotated)).not.toContain('sk_test_auditKeyTwo');
  });

  it('metadata only: stays ACTIVE, keeps verifiedAt, integration.updated', async () => {
    const { alice, bob } = await callers('audit-metadata');
    const { id } = await configureActive(alice, 'stripe', STRIPE);
    const before = await read(alice, id);
    expect(before.verifiedAt).toBeTruthy();

    const updated = (await bob(UPDATE, { input: { id, metadata: { team: 'payments' } } })).updateIntegration;
    expect(updated.integration).toMatchObject({ status: 'ACTIVE', verifiedAt: before.verifiedAt, metadata: { team: 'payments' } });

    expect(await eventsOf(alice, 'integration.credentials_rotated', id)).toEqual([]);
    const [changed] = await eventsOf(alice, 'integration.updated', id);
    expect(changed).toMatchObject({ changedFields: ['metadata'] });
  });
});
