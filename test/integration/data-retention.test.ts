/**
 * DATA_RETENTION and AUDIT_RETENTION on the running service: history backdated past the window
 * vanishes at once from every read (lists, totalCounts, node(id), typed by-id queries, nested
 * connections) and from the tables once the purge runs, in batches of 1,000, children first;
 * what is still pending is kept and readable; other tenants' recent rows and everything that is
 * not history stay. The configuration's checks of the two settings are here too.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { transactionInRowScope } from '../../src/db/row-security.ts';
import { tryParseGlobalId } from '../../src/ids.ts';
import { PURGE_BATCH } from '../../src/retention/purge.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';

const A = 'retention-tenant-a';
const B = 'retention-tenant-b';
const NOW = `(now() AT TIME ZONE 'UTC')`;
const OLD = `(now() AT TIME ZONE 'UTC') - interval '40 days'`; // past DATA_RETENTION (30d), within AUDIT_RETENTION
const ANCIENT = `(now() AT TIME ZONE 'UTC') - interval '400 days'`; // past AUDIT_RETENTION (365d)
const OLD_AUDIT_ROWS = 2 * PURGE_BATCH + 500;

const id = () => randomUUID();
const DAY_MS = 86_400_000;
const OLD_MS = 40 * DAY_MS;
const ANCIENT_MS = 400 * DAY_MS;
/** A uuid(7) of `msAgo` ago, as the service makes ids: on PostgreSQL the id decides the row's partition. */
const idAt = (msAgo: number) => uuidv7({ msecs: Date.now() - msAgo });
const ids = {
  integration: id(),
  eventNew: idAt(0),
  eventOldDone: idAt(OLD_MS),
  eventOldPending: idAt(OLD_MS),
  eventOldPlain: idAt(OLD_MS),
  deliveryNew: idAt(0),
  deliveryOldDone: idAt(OLD_MS),
  deliveryOldPending: idAt(OLD_MS),
  opNew: idAt(0),
  opOldDone: idAt(OLD_MS),
  opOldQueued: idAt(OLD_MS),
  auditRecent: idAt(OLD_MS),
  auditOld: idAt(ANCIENT_MS),
  sessionLive: id(),
  sessionExpiredRecently: id(),
  sessionExpiredLongAgo: id(),
  eventBNew: idAt(0),
  eventBOld: idAt(OLD_MS),
};
let webhookId = '';
let server: TestServer;
let tokenA: string;
let tokenB: string;

function sql(tenantId: string, text: string, ...values: unknown[]) {
  return transactionInRowScope(server.app.database.prisma, { tenantId }, (tx) => tx.$executeRawUnsafe(text, ...values));
}

async function count(tenantId: string, table: string, idList?: string[]): Promise<number> {
  return transactionInRowScope(server.app.database.prisma, { tenantId }, async (tx) => {
    const rows = (await tx.$queryRawUnsafe(
      `SELECT count(*)::int AS n FROM "${table}"${idList ? ' WHERE "id" = ANY($1::text[])' : ''}`,
      ...(idList ? [idList] : []),
    )) as { n: number }[];
    return rows[0]!.n;
  });
}

async function event(tenantId: string, eventId: string, at: string) {
  await sql(
    tenantId,
    `INSERT INTO "Event" ("id", "tenantId", "type", "payload", "occurredAt", "createdAt", "updatedAt")
     VALUES ($1, $2, 'retention.test', '{}', ${at}, ${at}, ${at})`,
    eventId,
    tenantId,
  );
}

async function delivery(deliveryId: string, eventId: string, status: 'PENDING' | 'SUCCEEDED', at: string, attempts: number) {
  await sql(
    A,
    `INSERT INTO "WebhookDelivery" ("id", "tenantId", "webhookId", "eventId", "status", "attemptCount", "createdAt", "updatedAt")
     VALUES ($1, $2, $3, $4, $5::"DeliveryStatus", $6, ${at}, ${at})`,
    deliveryId,
    A,
    webhookId,
    eventId,
    status,
    attempts,
  );
  for (let n = 1; n <= attempts; n++) {
    await sql(
      A,
      `INSERT INTO "DeliveryAttempt" ("id", "tenantId", "deliveryId", "attemptNumber", "startedAt", "durationMs", "responseStatus", "createdAt", "updatedAt")
       VALUES ($1, $2, $3, $4, ${at}, 12, 200, ${at}, ${at})`,
      id(),
      A,
      deliveryId,
      n,
    );
  }
}

async function operation(opId: string, status: 'SUCCEEDED' | 'QUEUED', createdAt: string, completedAt: string | null) {
  await sql(
    A,
    `INSERT INTO "Operation" ("id", "tenantId", "capability", "status", "integrationId", "attemptCount", "completedAt", "createdAt", "updatedAt")
     VALUES ($1, $2, 'send_sms', $3::"OperationStatus", $4, 1, ${completedAt ?? 'NULL'}, ${createdAt}, ${NOW})`,
    opId,
    A,
    status,
    ids.integration,
  );
  await sql(
    A,
    `INSERT INTO "OperationAttempt" ("id", "tenantId", "operationId", "attemptNumber", "integrationId", "startedAt", "durationMs", "outcome", "createdAt", "updatedAt")
     VALUES ($1, $2, $3, 1, $4, ${createdAt}, 20, 'TRANSIENT_FAILURE', ${createdAt}, ${createdAt})`,
    id(),
    A,
    opId,
    ids.integration,
  );
}

async function audit(tenantId: string, auditId: string, at: string) {
  await sql(
    tenantId,
    `INSERT INTO "AuditEntry" ("id", "tenantId", "via", "operation", "outcome", "objectIds", "createdAt", "updatedAt")
     VALUES ($1, $2, 'jwt', 'retentionTest', 'ok', '{}', ${at}, ${at})`,
    auditId,
    tenantId,
  );
}

beforeAll(async () => {
  server = await startTestServer({
    WEBHOOK_ALLOW_HOSTS: '127.0.0.1:9',
    RETENTION_PURGE_INTERVAL_SECONDS: '3600',
    STRIPE_API_BASE_URL: 'http://127.0.0.1:9',
    VERIFY_RETRY_LIMIT: '0',
  });
  tokenA = await server.token({ tenant_id: A });
  tokenB = await server.token({ tenant_id: B });
  // the run every worker makes at start, finished before the history exists
  await server.app.retention!.purgeOnce();
  const created = await server.gql(
    `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { ... on CreateWebhookPayload { webhook { id } } ... on Error { message } } }`,
    { input: { name: 'retention', url: 'http://127.0.0.1:9/hook', eventTypes: ['webhook.test'] } },
    { token: tokenA },
  );
  if (!created.data?.createWebhook?.webhook) throw new Error(`createWebhook: ${created.raw}`);
  webhookId = tryParseGlobalId('Webhook', created.data.createWebhook.webhook.id)!;
  await sql(
    A,
    `INSERT INTO "Integration" ("id", "tenantId", "provider", "status", "enabledCapabilities", "secretKeys", "inboundToken", "updatedAt")
     VALUES ($1, $2, 'twilio', 'INACTIVE', '{send_sms}', '{}', $3, ${NOW})`,
    ids.integration,
    A,
    `retention-${id()}`,
  );
  await event(A, ids.eventNew, NOW);
  await event(A, ids.eventOldDone, OLD);
  await event(A, ids.eventOldPending, OLD);
  await event(A, ids.eventOldPlain, OLD);
  await delivery(ids.deliveryNew, ids.eventNew, 'SUCCEEDED', NOW, 1);
  await delivery(ids.deliveryOldDone, ids.eventOldDone, 'SUCCEEDED', OLD, 2);
  // held while its webhook is paused, or awaiting a retry: kept however old
  await delivery(ids.deliveryOldPending, ids.eventOldPending, 'PENDING', OLD, 1);
  await operation(ids.opNew, 'SUCCEEDED', NOW, NOW);
  await operation(ids.opOldDone, 'SUCCEEDED', OLD, OLD);
  await operation(ids.opOldQueued, 'QUEUED', OLD, null);
  await audit(A, ids.auditRecent, OLD);
  await audit(A, ids.auditOld, ANCIENT);
  await sql(
    A,
    `INSERT INTO "AuditEntry" ("id", "tenantId", "via", "operation", "outcome", "objectIds", "createdAt", "updatedAt")
     SELECT unnest($2::text[]), $1, 'jwt', 'bulk', 'ok', '{}', ${ANCIENT}, ${ANCIENT}`,
    A,
    Array.from({ length: OLD_AUDIT_ROWS - 1 }, () => idAt(ANCIENT_MS)),
  );
  await event(B, ids.eventBNew, NOW);
  await event(B, ids.eventBOld, OLD);
  await audit(B, id(), NOW);
  for (const [sessionId, expiresAt] of [
    [ids.sessionLive, `${NOW} + interval '10 minutes'`],
    [ids.sessionExpiredRecently, `${NOW} - interval '1 day'`],
    [ids.sessionExpiredLongAgo, OLD],
  ] as const) {
    await sql(
      A,
      `INSERT INTO "ConnectSession" ("id", "tenantId", "tokenHash", "allowedProviders", "expiresAt", "createdAt")
       VALUES ($1, $2, $3, '{stripe}', ${expiresAt}, ${OLD})`,
      sessionId,
      A,
      `retention-${id()}`,
    );
  }
}, 60_000);

afterAll(async () => {
  await server?.close();
});

const gid = (type: string, rowId: string) => encodeGlobalID(type, rowId);
const nodeIds = (connection: { edges: { node: { id: string } }[] }) => connection.edges.map((e) => e.node.id).sort();

async function reads() {
  const res = await server.gql(
    `query($webhook: ID!, $integration: ID!) {
      events(first: 50) { totalCount edges { node { id } } }
      webhook(id: $webhook) { deliveries(first: 50) { totalCount edges { node { id event { id } } } } }
      operations(first: 50) { totalCount edges { node { id } } }
      integration(id: $integration) { lastUsedAt operations(first: 50) { totalCount edges { node { id } } } }
      auditLog(first: 100) { totalCount edges { node { id } } }
    }`,
    { webhook: gid('Webhook', webhookId), integration: gid('Integration', ids.integration) },
    { token: tokenA },
  );
  expect(res.errors).toBeUndefined();
  return res.data;
}

describe('reads hide expired history at once', () => {
  it('lists, totalCounts and nested connections show only what is retained or pending', async () => {
    const data = await reads();
    expect(nodeIds(data.events)).toEqual([gid('Event', ids.eventNew)]);
    expect(data.events.totalCount).toBe(1);
    expect(nodeIds(data.webhook.deliveries)).toEqual(
      [gid('WebhookDelivery', ids.deliveryNew), gid('WebhookDelivery', ids.deliveryOldPending)].sort(),
    );
    expect(data.webhook.deliveries.totalCount).toBe(2);
    // a pending delivery's event stays readable through it
    expect(data.webhook.deliveries.edges.map((e: { node: { event: { id: string } } }) => e.node.event.id).sort()).toEqual(
      [gid('Event', ids.eventNew), gid('Event', ids.eventOldPending)].sort(),
    );
    const ops = [gid('Operation', ids.opNew), gid('Operation', ids.opOldQueued)].sort();
    expect(nodeIds(data.operations)).toEqual(ops);
    expect(data.operations.totalCount).toBe(2);
    expect(nodeIds(data.integration.operations)).toEqual(ops);
    expect(data.integration.operations.totalCount).toBe(2);
    // the audit log: the 40-day-old entry is within AUDIT_RETENTION, the 400-day-old ones are not
    const audited = nodeIds(data.auditLog);
    expect(audited).toContain(gid('AuditEntry', ids.auditRecent));
    expect(audited).not.toContain(gid('AuditEntry', ids.auditOld));
    expect(data.auditLog.totalCount).toBeLessThan(10);
  });

  it('node(id) and the typed by-id queries answer null for expired rows, and find retained ones', async () => {
    const res = await server.gql(
      `query($e1: ID!, $e2: ID!, $d1: ID!, $d2: ID!, $o1: ID!, $o2: ID!) {
        oldEvent: node(id: $e1) { id } pendingEvent: node(id: $e2) { id }
        oldDelivery: node(id: $d1) { id } pendingDelivery: node(id: $d2) { id }
        oldOperation: operation(id: $o1) { id } queuedOperation: operation(id: $o2) { id status }
        oldOperationNode: node(id: $o1) { id }
      }`,
      {
        e1: gid('Event', ids.eventOldDone),
        e2: gid('Event', ids.eventOldPending),
        d1: gid('WebhookDelivery', ids.deliveryOldDone),
        d2: gid('WebhookDelivery', ids.deliveryOldPending),
        o1: gid('Operation', ids.opOldDone),
        o2: gid('Operation', ids.opOldQueued),
      },
      { token: tokenA },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      oldEvent: null,
      pendingEvent: null, // stored while its delivery is pending, and read through it (above)
      oldDelivery: null,
      pendingDelivery: { id: gid('WebhookDelivery', ids.deliveryOldPending) },
      oldOperation: null,
      queuedOperation: { id: gid('Operation', ids.opOldQueued), status: 'QUEUED' },
      oldOperationNode: null,
    });
  });

  it('another tenant sees its own recent history only', async () => {
    const res = await server.gql(`{ events(first: 10) { totalCount edges { node { id } } } }`, undefined, { token: tokenB });
    expect(nodeIds(res.data.events)).toEqual([gid('Event', ids.eventBNew)]);
  });
});

describe('the purge', () => {
  it('deletes expired rows in batches of 1,000, children first, and keeps what is pending or recent', async () => {
    const before = {
      webhooks: await count(A, 'Webhook'),
      integrations: await count(A, 'Integration'),
      auditB: await count(B, 'AuditEntry'),
    };
    const from = server.queries.length;
    const result = await server.app.retention!.purgeOnce();
    const statements = server.queries.slice(from).filter((q) => q.includes('icp_purge_expired'));

    expect(result.yielded).toBe(false);
    expect(result.deleted).toEqual({
      DeliveryAttempt: 2,
      WebhookDelivery: 1,
      Event: 3, // A's finished and plain old events, B's old one
      OperationAttempt: 1,
      Operation: 1,
      AuditEntry: OLD_AUDIT_ROWS,
      ConnectSession: 1, // expired longer than DATA_RETENTION ago
    });
    // one short statement for each kind of row, and three for 2,500 audit entries
    expect(statements).toHaveLength(6 + Math.ceil((OLD_AUDIT_ROWS + 1) / PURGE_BATCH));

    expect(await count(A, 'Event', [ids.eventOldDone, ids.eventOldPlain])).toBe(0);
    expect(await count(A, 'Event', [ids.eventNew, ids.eventOldPending])).toBe(2);
    expect(await count(A, 'WebhookDelivery')).toBe(2);
    expect(await count(A, 'DeliveryAttempt')).toBe(2); // the new delivery's and the pending one's
    expect(await count(A, 'Operation', [ids.opNew, ids.opOldQueued])).toBe(2);
    expect(await count(A, 'Operation', [ids.opOldDone])).toBe(0);
    expect(await count(A, 'OperationAttempt')).toBe(2);
    expect(await count(A, 'AuditEntry', [ids.auditRecent])).toBe(1);
    expect(await count(A, 'AuditEntry', [ids.auditOld])).toBe(0);
    expect(await count(B, 'Event')).toBe(1);
    expect(await count(A, 'ConnectSession', [ids.sessionLive, ids.sessionExpiredRecently])).toBe(2);
    expect(await count(A, 'ConnectSession', [ids.sessionExpiredLongAgo])).toBe(0);
    // nothing but expired history
    expect(await count(A, 'Webhook')).toBe(before.webhooks);
    expect(await count(A, 'Integration')).toBe(before.integrations);
    expect(await count(B, 'AuditEntry')).toBe(before.auditB);
  });

  it('reads answer as before the purge, and a second run finds nothing', async () => {
    const data = await reads();
    expect(data.events.totalCount).toBe(1);
    expect(data.webhook.deliveries.totalCount).toBe(2);
    expect(data.operations.totalCount).toBe(2);
    const again = await server.app.retention!.purgeOnce();
    expect(Object.values(again.deleted).every((n) => n === 0)).toBe(true);
  });
});

describe('inbound provider events', () => {
  const C = 'retention-tenant-c';
  const WHSEC = 'whsec_retentionTestSecret123';
  const body = JSON.stringify({ id: 'evt_retention', object: 'event', type: 'charge.updated', data: { object: { id: 'ch_1' } } });
  const post = (hook: string) => {
    const t = Math.floor(Date.now() / 1000);
    const signature = `t=${t},v1=${createHmac('sha256', WHSEC).update(`${t}.${body}`).digest('hex')}`;
    return fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body });
  };
  const stored = () =>
    transactionInRowScope(server.app.database.prisma, { tenantId: C }, async (tx) => {
      const rows = (await tx.$queryRawUnsafe(`SELECT count(*)::int AS n FROM "Event" WHERE "providerEventId" = 'evt_retention'`)) as {
        n: number;
      }[];
      return rows[0]!.n;
    });
  const listed = async (token: string) =>
    (await server.gql(`{ events(type: "provider.stripe.charge.updated") { totalCount } }`, undefined, { token })).data.events.totalCount;

  it('an expired one is hidden, still acknowledged once if sent again before the purge, and gone after it', async () => {
    const token = await server.token({ tenant_id: C });
    const configured = await server.gql(
      `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) {
        ... on ConfigureIntegrationPayload { integration { inboundWebhookUrl } } ... on Error { message } } }`,
      { input: { provider: 'stripe', credentials: { publishable_key: 'pk_test_r', secret_key: 'sk_test_r', webhook_secret: WHSEC } } },
      { token },
    );
    const hook = configured.data.configureIntegration.integration.inboundWebhookUrl as string;
    expect((await post(hook)).status).toBe(200);
    expect(await listed(token)).toBe(1);
    // made 40 days ago: its id too (on PostgreSQL the id decides its partition)
    await sql(C, `UPDATE "Event" SET "createdAt" = ${OLD}, "id" = $1 WHERE "providerEventId" = 'evt_retention'`, idAt(OLD_MS));
    expect(await listed(token)).toBe(0);
    // the provider sends it again: acknowledged, not stored or relayed twice (the stored event still holds its id)
    expect((await post(hook)).status).toBe(200);
    expect(await stored()).toBe(1);
    await server.app.retention!.purgeOnce();
    expect(await stored()).toBe(0);
  });
});

describe('configuration', () => {
  const base = { AUTH_JWT_SECRET: 'x'.repeat(32) };
  it('defaults to 30 days of history and a year of audit log', () => {
    const { retention } = loadConfig(base);
    expect(retention).toMatchObject({ dataMs: 30 * 86_400_000, auditMs: 365 * 86_400_000 });
  });
  it('takes durations like the retry schedule', () => {
    expect(loadConfig({ ...base, DATA_RETENTION: '2h', AUDIT_RETENTION: '90d' }).retention).toMatchObject({
      dataMs: 7_200_000,
      auditMs: 90 * 86_400_000,
    });
  });
  it('reports each bad value on a line of its own', () => {
    let error: unknown;
    try {
      loadConfig({ ...base, DATA_RETENTION: '30 days', AUDIT_RETENTION: '0s' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.filter((p) => p.startsWith('DATA_RETENTION: '))).toHaveLength(1);
    expect(problems.filter((p) => p.startsWith('AUDIT_RETENTION: '))).toHaveLength(1);
  });
});
