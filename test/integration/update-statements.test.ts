/**
 * What one metadata-only updateIntegration costs in SQL, with the tenant's 25 webhooks subscribed:
 * the change, its event, the 25 deliveries and their jobs, and the audit entry in one transaction
 * (docs/performance.md). The background worker is off, so every statement counted is the request's.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { forTenant, type TenantTx, tenantTransaction } from '../../src/db/tenant.ts';
import { parseGlobalId } from '../../src/errors.ts';
import { lockAndRead } from '../../src/integrations/service.ts';
import type { RequestScope } from '../../src/services.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';

const CREATE_WEBHOOK = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { __typename } }`;
const CONFIGURE = `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) {
  ... on ConfigureIntegrationPayload { integration { id version } } } }`;
const UPDATE = `mutation($input: UpdateIntegrationInput!) { updateIntegration(input: $input) { __typename
  ... on UpdateIntegrationPayload { integration { id version updatedAt metadata } } ... on Error { code } } }`;
const DELIVERIES = `{ webhooks(first: 25) { totalCount edges { node { deliveries(first: 3) { totalCount edges { node { event { type payload } } } } } } } }`;
const AUDIT = `query { auditLog(operation: "updateIntegration") { totalCount edges { node { outcome objectIds } } } }`;

let server: TestServer;
let token: string;
let id: string;
let version: number;

beforeAll(async () => {
  server = await startTestServer({ WORKER: 'false', WEBHOOK_ALLOW_HOSTS: '127.0.0.1:9' });
  token = await server.token({ tenant_id: 'update-statements' });
  for (let i = 0; i < 25; i++) {
    const input = { name: `hook ${i}`, url: 'http://127.0.0.1:9/hook', eventTypes: ['integration.*'] };
    const res = await server.gql(CREATE_WEBHOOK, { input }, { token });
    expect(res.data.createWebhook.__typename).toBe('CreateWebhookPayload');
  }
  const res = await server.gql(CONFIGURE, { input: { provider: 'openai', credentials: { api_key: 'sk-test' } } }, { token });
  ({ id, version } = res.data.configureIntegration.integration);
});

afterAll(() => server?.close());

async function update(input: Record<string, unknown>) {
  const before = server.queries.length;
  const res = await server.gql(UPDATE, { input: { id, ...input } }, { token });
  return { res, statements: server.queries.slice(before) };
}

it('sends 7 statements besides BEGIN: the locked read with the audit entry, UPDATE, the event with the webhook read, deliveries, jobs', async () => {
  const { res, statements } = await update({ expectedVersion: version, metadata: { team: 'billing' } });
  expect(res.data.updateIntegration.__typename).toBe('UpdateIntegrationPayload');
  expect(res.data.updateIntegration.integration).toMatchObject({ id, version: version + 1, metadata: { team: 'billing' } });
  // set_config, audit entry + SELECT … FOR UPDATE, UPDATE … RETURNING, events + webhooks, deliveries, jobs, COMMIT
  expect(statements, statements.join('\n\n')).toHaveLength(7);
  expect(statements.filter((s) => /FOR UPDATE/.test(s))).toHaveLength(1);
  expect(statements.filter((s) => /^SELECT set_config/.test(s))).toHaveLength(1);

  // the event fanned out to every webhook, and the audit entry was written once
  const page = await server.gql(DELIVERIES, {}, { token });
  expect(page.data.webhooks.totalCount).toBe(25);
  for (const { node } of page.data.webhooks.edges) {
    expect(node.deliveries.totalCount).toBe(2);
    const updated = node.deliveries.edges.map((e: any) => e.node.event).find((e: any) => e.type === 'integration.updated');
    expect(updated.payload).toMatchObject({ changedFields: ['metadata'] });
  }
  const audit = await server.gql(AUDIT, {}, { token });
  expect(audit.data.auditLog.edges.map((e: any) => e.node)).toEqual([{ outcome: 'OK', objectIds: [expect.any(String)] }]);
  version += 1;
});

it('refuses a stale expectedVersion with nothing written but its audit entry', async () => {
  const { res, statements } = await update({ expectedVersion: version - 1, metadata: { team: 'stale' } });
  expect(res.data.updateIntegration).toEqual({ __typename: 'ConflictError', code: 'VERSION_CONFLICT' });
  expect(statements.filter((s) => /INSERT INTO "(Event|WebhookDelivery)"|UPDATE "public"."Integration"/.test(s))).toEqual([]);
  const audit = await server.gql(AUDIT, {}, { token });
  expect(audit.data.auditLog.edges.map((e: any) => e.node.outcome)).toEqual(['CONFLICT_ERROR', 'OK']);
});

it('reads the locked row with the values and types findUnique gives', async () => {
  const db = forTenant(server.app.services.prisma, 'update-statements');
  const rowId = parseGlobalId('Integration', id);
  const viaPrisma = await db.integration.findUnique({ where: { id: rowId } });
  expect(viaPrisma?.secretCiphertext).toBeTruthy();
  const scope = { viewer: { tenantId: 'update-statements' } } as RequestScope;
  const raw = await tenantTransaction(db, (tx: TenantTx) => lockAndRead(scope, tx, rowId));
  expect(raw).toStrictEqual(viaPrisma);
  // another tenant's id reads nothing
  const other = { viewer: { tenantId: 'someone-else' } } as RequestScope;
  expect(
    await tenantTransaction(forTenant(server.app.services.prisma, 'someone-else'), (tx: TenantTx) => lockAndRead(other, tx, rowId)),
  ).toBeUndefined();
});
