/**
 * What one metadata-only updateIntegration costs in SQL, with the tenant's 25 webhooks subscribed:
 * the change, its event, the 25 deliveries and their jobs, and the audit entry in one transaction
 * (docs/performance.md). The background worker is off, so every statement counted is the request's.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { forTenant, type TenantTx, tenantTransaction } from '../../src/db/tenant.ts';
import { parseGlobalId } from '../../src/errors.ts';
import { lockAndRead } from '../../src/integrations/service.ts';
import { updateWithEvents } from '../../src/integrations/update-row.ts';
import type { RequestScope } from '../../src/services.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { everyKindOfColumn } from '../helpers/integrations.ts';

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

it('sends 7 statements: BEGIN, the locked read with the audit entry, UPDATE with the event and the webhook read, deliveries, jobs, COMMIT', async () => {
  const { res, statements } = await update({ expectedVersion: version, metadata: { team: 'billing' } });
  expect(res.data.updateIntegration.__typename).toBe('UpdateIntegrationPayload');
  expect(res.data.updateIntegration.integration).toMatchObject({ id, version: version + 1, metadata: { team: 'billing' } });
  // BEGIN, set_config, audit entry + SELECT … FOR UPDATE, UPDATE … RETURNING with events + webhooks, deliveries, jobs, COMMIT
  expect(statements, statements.join('\n\n')).toHaveLength(7);
  expect(statements.filter((s) => /UPDATE "Integration"[\s\S]*INSERT INTO "Event"/.test(s))).toHaveLength(1);
  expect(statements[0]).toMatch(/^BEGIN/);
  expect(statements.at(-1)).toBe('COMMIT');
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
  expect(statements.filter((s) => /INSERT INTO "(Event|WebhookDelivery)"|UPDATE "Integration"/.test(s))).toEqual([]);
  const audit = await server.gql(AUDIT, {}, { token });
  expect(audit.data.auditLog.edges.map((e: any) => e.node.outcome)).toEqual(['CONFLICT_ERROR', 'OK']);
});

it('reads the locked row with the values and types findUnique gives', async () => {
  const db = forTenant(server.app.services.prisma, 'update-statements');
  const rowId = parseGlobalId('Integration', id);
  const viaPrisma = await db.integration.findUnique({ where: { id: rowId } });
  expect(viaPrisma?.secretCiphertext).toBeTruthy();
  const scope = { viewer: { tenantId: 'update-statements' } } as RequestScope;
  // in the raw transaction changes run in (src/db/raw-transaction.ts), and in Prisma's (deleteIntegration)
  const { transactions } = server.app.services;
  expect(await transactions.run('update-statements', (tx) => lockAndRead(scope, tx, rowId))).toStrictEqual(viaPrisma);
  expect(await tenantTransaction(db, (tx: TenantTx) => lockAndRead(scope, tx, rowId))).toStrictEqual(viaPrisma);
  // another tenant's id reads nothing
  const other = { viewer: { tenantId: 'someone-else' } } as RequestScope;
  expect(await transactions.run('someone-else', (tx) => lockAndRead(other, tx, rowId))).toBeUndefined();
  expect(
    await tenantTransaction(forTenant(server.app.services.prisma, 'someone-else'), (tx: TenantTx) => lockAndRead(other, tx, rowId)),
  ).toBeUndefined();
});

it('writes every kind of column with one UPDATE whose row has the values and types findUnique gives', async () => {
  const db = forTenant(server.app.services.prisma, 'update-statements');
  const rowId = parseGlobalId('Integration', id);
  const scope = { viewer: { tenantId: 'update-statements' } } as RequestScope;
  const before = (await db.integration.findUnique({ where: { id: rowId } }))!;
  const change = {
    ...everyKindOfColumn(),
    enabledCapabilities: ['generate_text'],
    config: { organization: 'org-1' },
    newRevision: true as const,
  };
  const { transactions } = server.app.services;
  const returned = await transactions.run('update-statements', async (tx) => {
    const row = (await lockAndRead(scope, tx, rowId))!;
    return (await updateWithEvents(tx, row, change, { status: 'PENDING_VERIFY', clearLastError: true, actorId: 'type-check' }))?.row;
  });
  const stored = await db.integration.findUnique({ where: { id: rowId } });
  expect(returned).toStrictEqual(stored);
  const { newRevision: _, ...columns } = change;
  expect(stored).toMatchObject({
    ...columns,
    status: 'PENDING_VERIFY',
    version: before.version + 1,
    credentialsRevision: before.credentialsRevision + 1,
    verifiedAt: null,
    lastError: null,
    updatedBy: 'type-check',
  });
  // the application's clock in UTC, as Prisma's @updatedAt writes it
  expect(Math.abs(stored!.updatedAt.getTime() - Date.now())).toBeLessThan(60_000);
  expect(stored!.updatedAt.getTime()).toBeGreaterThanOrEqual(before.updatedAt.getTime());

  // at a version that is not the row's, or as another tenant, nothing is written
  const stale = await transactions.run('update-statements', (tx) =>
    updateWithEvents(tx, before, { metadata: { team: 'stale' } }, { status: 'ACTIVE', clearLastError: false, actorId: null }),
  );
  expect(stale).toBeUndefined();
  const foreign = await transactions.run('someone-else', (tx) =>
    updateWithEvents(tx, stored!, { metadata: { team: 'foreign' } }, { status: 'ACTIVE', clearLastError: false, actorId: null }),
  );
  expect(foreign).toBeUndefined();
  expect(await db.integration.findUnique({ where: { id: rowId } })).toStrictEqual(stored);
});

it('writes the events with the UPDATE and reads the webhooks they fan out to; an UPDATE that matched nothing leaves no event once rolled back', async () => {
  const db = forTenant(server.app.services.prisma, 'update-statements');
  const rowId = parseGlobalId('Integration', id);
  const scope = { viewer: { tenantId: 'update-statements' } } as RequestScope;
  const { transactions, outbox } = server.app.services;
  const actor = { actorId: 'fold-check', appId: null };
  const event = (team: string) => ({ actor, type: 'integration.updated' as const, subjectId: rowId, data: { team } });
  const countEvents = () => db.event.count({ where: { createdBy: 'fold-check' } });

  const prepared = outbox.prepare('update-statements', [event('folded')]);
  const written = await transactions.run('update-statements', async (tx) => {
    const row = (await lockAndRead(scope, tx, rowId))!;
    return updateWithEvents(
      tx,
      row,
      { metadata: { team: 'folded' } },
      { status: 'ACTIVE', clearLastError: false, actorId: null },
      prepared,
    );
  });
  // the row without the webhooks' column, as findUnique gives it
  expect(written!.row).toStrictEqual(await db.integration.findUnique({ where: { id: rowId } }));
  const active = await db.webhook.findMany({ where: { status: 'ACTIVE' }, select: { id: true, eventTypes: true, timeoutMs: true } });
  expect(active).toHaveLength(25);
  expect([...written!.webhooks].sort((a, b) => a.id.localeCompare(b.id))).toEqual(active.sort((a, b) => a.id.localeCompare(b.id)));
  const stored = await db.event.findUniqueOrThrow({ where: { id: prepared.rows[0]!.id } });
  expect(stored).toMatchObject({
    type: 'integration.updated',
    subjectId: rowId,
    payload: { team: 'folded' },
    tenantId: 'update-statements',
  });

  // a stale version: nothing matched, and the caller's throw rolls the event back with the transaction
  const stale = outbox.prepare('update-statements', [event('stale')]);
  await expect(
    transactions.run('update-statements', async (tx) => {
      const before = (await lockAndRead(scope, tx, rowId))!;
      const none = await updateWithEvents(
        tx,
        { ...before, version: before.version - 1 },
        { metadata: { team: 'x' } },
        {
          status: 'ACTIVE',
          clearLastError: false,
          actorId: null,
        },
        stale,
      );
      expect(none).toBeUndefined();
      throw new Error('roll back');
    }),
  ).rejects.toThrow('roll back');
  expect(await countEvents()).toBe(1);
});

it.skipIf(!process.env.TEST_DATABASE_URL)(
  'a row written otherwise than foreseen (here by a trigger) fails the change and rolls back its events',
  async () => {
    const pg = (await import('pg')).default;
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = new URL(server.databaseUrl!).pathname;
    const admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
    const db = forTenant(server.app.services.prisma, 'update-statements');
    const rowId = parseGlobalId('Integration', id);
    try {
      // a status the change did not ask for, on the row its UPDATE writes
      await admin.query(`CREATE FUNCTION test_unforeseen() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW."lastError" := 'set by a trigger'; RETURN NEW; END $$`);
      await admin.query(`CREATE TRIGGER test_unforeseen BEFORE UPDATE ON "Integration" FOR EACH ROW
        WHEN (NEW."metadata" ? 'unforeseen') EXECUTE FUNCTION test_unforeseen()`);
      const before = await db.integration.findUniqueOrThrow({ where: { id: rowId } });
      const events = await db.event.count();
      const { res } = await update({ metadata: { unforeseen: true } });
      expect(res.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(res)).not.toContain('foreseen');
      expect(await db.integration.findUniqueOrThrow({ where: { id: rowId } })).toStrictEqual(before);
      expect(await db.event.count()).toBe(events);
      expect(server.logs.join('\n')).toContain('the event data foreseen differs from the row written');
    } finally {
      await admin.query('DROP TRIGGER IF EXISTS test_unforeseen ON "Integration"');
      await admin.query('DROP FUNCTION IF EXISTS test_unforeseen()');
      await admin.end();
    }
  },
);
