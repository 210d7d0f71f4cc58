/**
 * No single read can hold the process: every list is bounded in the cost model (unpaged lists
 * count as their cap), rules and API keys are capped per tenant, and what passes the cost check
 * still stops at an execution deadline and a ceiling on list items.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forTenant } from '../../src/db/tenant.ts';
import { TENANT_CAPS } from '../../src/db/tenant-caps.ts';
import { DOCUMENT_LIMITS } from '../../src/graphql/yoga.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';

const NO_CACHE = { 'cache-control': 'no-cache' };

async function configureStripe(server: TestServer, token: string): Promise<string> {
  const res = await server.gql(
    `mutation { configureIntegration(input: { provider: "stripe", credentials: { publishable_key: "pk_test_1", secret_key: "sk_test_1" } }) {
      ... on ConfigureIntegrationPayload { integration { id } } } }`,
    {},
    { token },
  );
  return res.data.configureIntegration.integration.id;
}

describe('a tenant with many routing rules on one integration', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    token = await server.token({ tenant_id: 'many-rules' });
    const id = await configureStripe(server, token);
    const create = `mutation($id: ID!) { createRoutingRule(input: { capability: "initiate_payment", integrationId: $id }) {
      __typename ... on ConflictError { message code } } }`;
    for (let i = 0; i < TENANT_CAPS.routingRules; i++) {
      const res = await server.gql(create, { id }, { token });
      expect(res.data.createRoutingRule.__typename).toBe('CreateRoutingRulePayload');
    }
  }, 120_000);
  afterAll(() => server?.close());

  it(`refuses rule ${TENANT_CAPS.routingRules + 1} as a CONFLICT naming the cap`, async () => {
    const id = (await server.gql('{ integrations { edges { node { id } } } }', {}, { token })).data.integrations.edges[0].node.id;
    const over = await server.gql(
      `mutation($id: ID!) { createRoutingRule(input: { capability: "verify_payment", integrationId: $id }) { __typename ... on ConflictError { code message } } }`,
      { id },
      { token },
    );
    expect(over.data.createRoutingRule).toEqual({
      __typename: 'ConflictError',
      code: 'CONFLICT',
      message: expect.stringContaining(`at most ${TENANT_CAPS.routingRules} routing rules`),
    });
  });

  it('refuses the nested unpaged query that exhausted the heap, for its cost, naming the limit and the cost', async () => {
    const reader = await server.token({ tenant_id: 'many-rules', scope: 'integrations:read' });
    const res = await server.gql(
      '{ routingRules { id integration { id routingRules { id integration { id routingRules { id } } } } } }',
      {},
      { token: reader, headers: { ...NO_CACHE, accept: 'application/graphql-response+json' } },
    );
    expect(res.status).toBe(400);
    expect(res.data).toBeUndefined();
    const error = res.errors![0]!;
    expect(error.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', maxCost: DOCUMENT_LIMITS.cost });
    expect(error.extensions!.cost as number).toBeGreaterThan(DOCUMENT_LIMITS.cost);
    expect(error.message).toContain(`limit of ${DOCUMENT_LIMITS.cost}`);
    expect(error.message).toContain(`found ${error.extensions!.cost}`);
  });

  it('still answers one level of nesting in full', async () => {
    const res = await server.gql('{ routingRules { id integration { id routingRules { id } } } }', {}, { token, headers: NO_CACHE });
    expect(res.errors).toBeUndefined();
    expect(res.data.routingRules).toHaveLength(TENANT_CAPS.routingRules);
    expect(res.data.routingRules[0].integration.routingRules).toHaveLength(TENANT_CAPS.routingRules);
  });
});

describe('API keys', () => {
  let server: TestServer;
  afterAll(() => server?.close());

  it(`are capped at ${TENANT_CAPS.apiKeys} unrevoked per tenant; revoking one frees a place`, async () => {
    server = await startTestServer();
    const token = await server.token({ tenant_id: 'many-keys' });
    const create =
      'mutation { createApiKey(input: { name: "k" }) { __typename ... on CreateApiKeyPayload { apiKey { id } } ... on ConflictError { code message } } }';
    let first = '';
    for (let i = 0; i < TENANT_CAPS.apiKeys; i++) {
      const res = await server.gql(create, {}, { token });
      expect(res.data.createApiKey.__typename).toBe('CreateApiKeyPayload');
      first ||= res.data.createApiKey.apiKey.id;
    }
    const over = await server.gql(create, {}, { token });
    expect(over.data.createApiKey).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
    expect(over.data.createApiKey.message).toContain(`at most ${TENANT_CAPS.apiKeys}`);
    await server.gql(`mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename } }`, { id: first }, { token });
    expect((await server.gql(create, {}, { token })).data.createApiKey.__typename).toBe('CreateApiKeyPayload');
  }, 120_000);
});

describe('webhooks', () => {
  let server: TestServer;
  afterAll(() => server?.close());

  it(`are capped at ${TENANT_CAPS.webhooks} per tenant, the next one a typed CONFLICT (it was a masked internal error)`, async () => {
    server = await startTestServer({ WEBHOOK_ALLOW_HOSTS: '127.0.0.1:9' });
    const token = await server.token({ tenant_id: 'many-hooks' });
    const create = `mutation { createWebhook(input: { name: "h", url: "http://127.0.0.1:9/hook", eventTypes: ["*"] }) {
      __typename ... on ConflictError { code message } } }`;
    for (let i = 0; i < TENANT_CAPS.webhooks; i++) {
      expect((await server.gql(create, {}, { token })).data.createWebhook.__typename).toBe('CreateWebhookPayload');
    }
    const over = await server.gql(create, {}, { token });
    expect(over.errors).toBeUndefined();
    expect(over.data.createWebhook).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
    expect(over.data.createWebhook.message).toContain(`at most ${TENANT_CAPS.webhooks} webhooks`);
  }, 120_000);
});

describe('a delivery’s attempts', () => {
  let server: TestServer;
  afterAll(() => server?.close());

  it('lists the latest ten, oldest first, whatever the redeliveries added', async () => {
    server = await startTestServer({ WEBHOOK_ALLOW_HOSTS: '127.0.0.1:9', WEBHOOK_RETRY_SCHEDULE: '1h' });
    const token = await server.token({ tenant_id: 'attempts' });
    const hook = await server.gql(
      `mutation { createWebhook(input: { name: "h", url: "http://127.0.0.1:9/hook", eventTypes: ["*"] }) { ... on CreateWebhookPayload { webhook { id } } } }`,
      {},
      { token },
    );
    const sent = await server.gql(
      `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { ... on SendTestEventPayload { delivery { id } } } }`,
      { id: hook.data.createWebhook.webhook.id },
      { token },
    );
    const deliveryId: string = sent.data.sendTestEvent.delivery.id;
    const rowId = Buffer.from(deliveryId, 'base64').toString('utf8').split(':')[1]!;
    // the first attempt (to a closed port) is the worker's; more, as redeliveries leave them
    const db = forTenant(server.app.database.prisma, 'attempts');
    await eventually(async () => ((await db.deliveryAttempt.count({ where: { deliveryId: rowId } })) ? true : undefined));
    await db.deliveryAttempt.createMany({
      data: Array.from({ length: 14 }, (_, i) => ({
        tenantId: 'attempts',
        deliveryId: rowId,
        attemptNumber: i + 2,
        startedAt: new Date(),
        durationMs: 1,
      })),
    });
    const res = await server.gql(
      `query($id: ID!) { node(id: $id) { ... on WebhookDelivery { attempts { attemptNumber } } } }`,
      { id: deliveryId },
      { token, headers: NO_CACHE },
    );
    expect(res.data.node.attempts.map((a: { attemptNumber: number }) => a.attemptNumber)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });
});

describe('execution deadline', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ GRAPHQL_EXECUTION_TIMEOUT_MS: '1' });
  });
  afterAll(() => server?.close());

  it('stops a query that runs past it with one DEADLINE_EXCEEDED error, and the server goes on serving', async () => {
    const token = await server.token({ tenant_id: 'deadline' });
    const query = '{ integrations { totalCount edges { node { id routingRules { id } } } } webhooks { totalCount } }';
    const res = await server.gql(query, {}, { token, headers: NO_CACHE });
    expect(res.status).toBe(503);
    expect(res.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'DEADLINE_EXCEEDED', deadlineMs: 1 }) }),
    ]);
    expect(res.errors![0]!.message).toContain('deadline of 1 ms');
    expect((await server.gql('{ __typename }', {}, { token })).data).toEqual({ __typename: 'Query' });
  });

  it('does not cut a mutation, whose change would go on after the answer', async () => {
    const token = await server.token({ tenant_id: 'deadline' });
    expect(await configureStripe(server, token)).toEqual(expect.any(String));
  });
});

describe('list item ceiling', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ GRAPHQL_MAX_LIST_ITEMS: '5' });
  });
  afterAll(() => server?.close());

  it('stops a response that would hold more list items than the ceiling, naming it', async () => {
    const token = await server.token({ tenant_id: 'ceiling' });
    const res = await server.gql('{ providers { name credentialSchema { key } } }', {}, { token });
    expect(res.status).toBe(400);
    expect(res.data ?? null).toBeNull();
    expect(res.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'RESPONSE_TOO_LARGE', maxListItems: 5 }) }),
    ]);
  });

  it('never cuts a mutation, whose change has committed: its payload comes whole', async () => {
    const token = await server.token({ tenant_id: 'ceiling-mutation' });
    const id = await configureStripe(server, token);
    for (let i = 0; i < 6; i++) {
      await server.gql(
        `mutation($id: ID!) { createRoutingRule(input: { capability: "initiate_payment", integrationId: $id }) { __typename } }`,
        { id },
        { token },
      );
    }
    const res = await server.gql(
      `mutation($id: ID!) { deleteIntegration(input: { id: $id }) { ... on DeleteIntegrationPayload { deletedId affectedRoutingRules { id } } } }`,
      { id },
      { token },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.deleteIntegration.affectedRoutingRules).toHaveLength(6);
  });

  it('answers what stays under it', async () => {
    const token = await server.token({ tenant_id: 'ceiling' });
    const res = await server.gql('{ providers(category: PAYMENT) { name } }', {}, { token });
    expect(res.errors).toBeUndefined();
    expect(res.data.providers).toEqual([{ name: 'stripe' }]);
  });
});
