/**
 * What configureIntegration and deleteIntegration send, in raw transactions as every other change
 * of an integration (src/db/raw-transaction.ts): the INSERT or UPDATE with its event and the
 * webhook read in one statement, the fan-out, the verification job, the audit entry; and that the
 * rows they return (the new row, the deleted one, the routing rules that named it) are the ones
 * Prisma reads, value for value and type for type. The background worker is off, so every
 * statement counted is the request's.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { forTenant } from '../../src/db/tenant.ts';
import { parseGlobalId } from '../../src/errors.ts';
import { routingRuleGlobalId } from '../../src/ids.ts';
import { insertWithEvents } from '../../src/integrations/update-row.ts';
import { RULE_LIST_ORDER, rulesReferencing } from '../../src/routing/service.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { everyKindOfColumn } from '../helpers/integrations.ts';

const TENANT = 'configure-delete-statements';
const CREATE_WEBHOOK = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { __typename } }`;
const CONFIGURE = `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename
  ... on ConfigureIntegrationPayload { integration { id version status metadata } } ... on Error { code message } } }`;
const DELETE = `mutation($id: ID!) { deleteIntegration(input: { id: $id }) { __typename
  ... on DeleteIntegrationPayload { deletedId affectedRoutingRules { id } } ... on Error { code } } }`;
const RULE = `mutation($input: CreateRoutingRuleInput!) { createRoutingRule(input: $input) {
  ... on CreateRoutingRulePayload { routingRule { id } } } }`;
const DELETE_RULE = `mutation($id: ID!) { deleteRoutingRule(input: { id: $id }) { __typename } }`;
const EVENTS = `{ webhooks(first: 5) { edges { node { deliveries(first: 5) { edges { node { event { type } } } } } } } }`;

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer({ WORKER: 'false', WEBHOOK_ALLOW_HOSTS: '127.0.0.1:9' });
  token = await server.token({ tenant_id: TENANT });
  for (let i = 0; i < 2; i++) {
    const input = { name: `hook ${i}`, url: 'http://127.0.0.1:9/hook', eventTypes: ['integration.*'] };
    expect((await server.gql(CREATE_WEBHOOK, { input }, { token })).data.createWebhook.__typename).toBe('CreateWebhookPayload');
  }
});

afterAll(() => server?.close());

async function sent<T>(work: () => Promise<T>) {
  const before = server.queries.length;
  const result = await work();
  return { result, statements: server.queries.slice(before) };
}

it('configures in one raw transaction: the INSERT with its event and the webhook read, deliveries, jobs, verification, audit', async () => {
  const { result: res, statements } = await sent(() =>
    server.gql(CONFIGURE, { input: { provider: 'openai', credentials: { api_key: 'sk-test' }, metadata: { team: 'a' } } }, { token }),
  );
  expect(res.data.configureIntegration).toMatchObject({ __typename: 'ConfigureIntegrationPayload', integration: { version: 1 } });
  // BEGIN, set_config, INSERT … RETURNING with the event and webhooks, deliveries, delivery jobs, verification job, audit, COMMIT
  expect(statements, statements.join('\n\n')).toHaveLength(8);
  expect(statements[0]).toMatch(/^BEGIN/);
  expect(statements.at(-1)).toBe('COMMIT');
  expect(statements.filter((s) => /INSERT INTO "Integration"[\s\S]*INSERT INTO "Event"/.test(s))).toHaveLength(1);

  const db = forTenant(server.app.services.prisma, TENANT);
  const id = parseGlobalId('Integration', res.data.configureIntegration.integration.id);
  const stored = await db.integration.findUniqueOrThrow({ where: { id } });
  expect(stored).toMatchObject({
    provider: 'openai',
    status: 'PENDING_VERIFY',
    version: 1,
    credentialsRevision: 1,
    metadata: { team: 'a' },
  });
  expect(stored.secretCiphertext).toBeInstanceOf(Uint8Array);
  const page = await server.gql(EVENTS, {}, { token });
  expect(page.data.webhooks.edges).toHaveLength(2);
  for (const { node } of page.data.webhooks.edges) {
    expect(node.deliveries.edges.map((e: any) => e.node.event.type)).toContain('integration.created');
  }

  // the second of a provider fails on the unique index, as a typed conflict, and leaves nothing
  const events = await db.event.count();
  const again = await server.gql(CONFIGURE, { input: { provider: 'openai', credentials: { api_key: 'sk-test' } } }, { token });
  expect(again.data.configureIntegration).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
  expect(await db.event.count()).toBe(events);
});

it('gives back the row it inserted as findUnique reads it, every kind of column', async () => {
  const db = forTenant(server.app.services.prisma, TENANT);
  const id = '019ae000-0000-7000-8000-000000000001';
  const written = await server.app.services.transactions.run(TENANT, (tx) =>
    insertWithEvents(tx, {
      id,
      tenantId: TENANT,
      appId: 'app-1',
      provider: 'sendgrid',
      status: 'PENDING_VERIFY',
      ...everyKindOfColumn(),
      enabledCapabilities: ['send_email'],
      config: { from_email: 'a@example.com' },
      actorId: 'type-check',
    }),
  );
  expect(written.row).toStrictEqual(await db.integration.findUnique({ where: { id } }));
  expect(written.row).toMatchObject({ version: 1, credentialsRevision: 1, verifiedAt: null, lastError: null, createdBy: 'type-check' });
  expect(Math.abs(written.row.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
  expect(written.row.updatedAt).toStrictEqual(written.row.createdAt);
});

it('deletes in one raw transaction and reports the rules that named it, as Prisma reads them', async () => {
  const db = forTenant(server.app.services.prisma, TENANT);
  const configured = await server.gql(
    CONFIGURE,
    { input: { provider: 'twilio', credentials: { account_sid: `AC${'1'.repeat(32)}`, auth_token: 'x', from_number: '+15005550006' } } },
    { token },
  );
  const twilio = configured.data.configureIntegration.integration.id;
  const other = await server.gql(
    CONFIGURE,
    { input: { provider: 'plivo', credentials: { auth_id: 'MAPLIVOID', auth_token: 'y', from_number: '+15005550007' } } },
    { token },
  );
  const plivo = other.data.configureIntegration.integration.id;
  const rules: string[] = [];
  for (const input of [
    // the default comes first of its capability whatever its priority; the same priority falls to the id
    { capability: 'send_sms', integrationId: twilio, priority: 20, isDefault: true },
    { capability: 'send_sms', integrationId: plivo, fallbackIntegrationId: twilio, priority: 10 },
    { capability: 'send_sms', integrationId: plivo, fallbackIntegrationId: twilio, priority: 10 },
    { capability: 'send_whatsapp', integrationId: twilio },
    // deleted: not reported
    { capability: 'send_sms', integrationId: twilio, priority: 5 },
  ]) {
    rules.push((await server.gql(RULE, { input }, { token })).data.createRoutingRule.routingRule.id);
  }
  const gone = await server.gql(DELETE_RULE, { id: rules.pop() }, { token });
  expect(gone.data.deleteRoutingRule.__typename).toBe('DeleteRoutingRulePayload');
  const twilioId = parseGlobalId('Integration', twilio);
  // the raw read of the referencing rules is findMany's, in RULE_LIST_ORDER
  const viaPrisma = await db.routingRule.findMany({
    where: { OR: [{ integrationId: twilioId }, { fallbackIntegrationId: twilioId }] },
    orderBy: RULE_LIST_ORDER,
  });
  expect(viaPrisma.map((r) => routingRuleGlobalId(r.id))).toEqual(rules);
  const { transactions } = server.app.services;
  expect(await transactions.run(TENANT, (tx) => rulesReferencing(tx, TENANT, twilioId))).toStrictEqual(viaPrisma);
  // row-level security: a transaction of another tenant sees none of them, even asked for this tenant's
  expect(await transactions.run('someone-else', (tx) => rulesReferencing(tx, TENANT, twilioId))).toEqual([]);

  const { result: res, statements } = await sent(() => server.gql(DELETE, { id: twilio }, { token }));
  expect(res.data.deleteIntegration.__typename).toBe('DeleteIntegrationPayload');
  expect(res.data.deleteIntegration.affectedRoutingRules.map((r: { id: string }) => r.id)).toEqual(rules);
  // BEGIN, set_config, audit + SELECT … FOR UPDATE, UPDATE with the event and webhooks, deliveries, jobs, the rules, COMMIT
  expect(statements, statements.join('\n\n')).toHaveLength(8);
  const deleted = await db.integration.findUniqueOrThrow({ where: { id: twilioId, deletedAt: { not: null } } });
  expect(deleted).toMatchObject({ deletedBy: expect.any(String), version: 2 });
  // the application's clock in UTC, as Prisma writes instants
  for (const at of [deleted.deletedAt!, deleted.updatedAt]) expect(Math.abs(at.getTime() - Date.now())).toBeLessThan(60_000);
  const page = await server.gql(EVENTS, {}, { token });
  expect(page.data.webhooks.edges).toHaveLength(2);
  for (const { node } of page.data.webhooks.edges) {
    expect(node.deliveries.edges.map((e: any) => e.node.event.type)).toContain('integration.deleted');
  }
  expect((await server.gql(DELETE, { id: twilio }, { token })).data.deleteIntegration).toMatchObject({ code: 'NOT_FOUND' });
});
