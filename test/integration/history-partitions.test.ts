/**
 * Time partitions of history (migration history_partitions). On PostgreSQL the service makes a
 * week of daily partitions ahead (a month at a time for the audit log), rows land in their day's,
 * only the owner makes or names partitions, and the purge drops whole those whose rows have all
 * expired, keeping any that holds a pending row or rows that others refer to. The embedded
 * database makes none: new rows go to the default partition and the batched purge deletes them.
 */
import { randomBytes } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transactionInRowScope } from '../../src/db/row-security.ts';
import { tryParseGlobalId } from '../../src/ids.ts';
import { PURGE_STEPS } from '../../src/retention/purge.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
const TENANT = 'partitions-tenant';
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** The tables partitioned by day; AuditEntry is by month. */
const DAILY = ['Event', 'WebhookDelivery', 'DeliveryAttempt', 'Operation', 'OperationAttempt'] as const;
const HISTORY = [...DAILY, 'AuditEntry'] as const;
type HistoryTable = (typeof HISTORY)[number];
/** The column each table is partitioned by. */
const PARTITION_KEY: Record<HistoryTable, string> = {
  Event: 'id',
  WebhookDelivery: 'id',
  DeliveryAttempt: 'deliveryId',
  Operation: 'id',
  OperationAttempt: 'operationId',
  AuditEntry: 'id',
};

// ---- time, ids and names ----

const now = new Date();
const TODAY = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
/** The start of the UTC day `n` days before today (negative: after). */
const daysAgo = (n: number) => TODAY - n * DAY_MS;
/** The start of the UTC month `n` months before this one. */
const monthsAgo = (n: number) => Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - n, 1);

/** A uuid(7) made at `ms`: 48 bits of time (8-4 hex digits), then version 7, variant 8, random bits. */
function uuid7At(ms: number): string {
  const time = ms.toString(16).padStart(12, '0');
  const rest = randomBytes(9).toString('hex');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${rest.slice(0, 3)}-8${rest.slice(3, 6)}-${rest.slice(6)}`;
}

/** The millisecond a uuid(7) was made. */
const uuid7Time = (id: string) => Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

/** `ms` as a `timestamp` in UTC, as Prisma stores times (pass it as text, cast to timestamp). */
const sqlTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** The daily partition of `table` holding `ms`, or the monthly one for AuditEntry. */
function partitionName(table: HistoryTable, ms: number): string {
  const day = new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
  return `${table}_p${table === 'AuditEntry' ? day.slice(0, 6) : day}`;
}

// ---- the database ----

type Tx = Parameters<Parameters<TestServer['app']['database']['prisma']['$transaction']>[0]>[0];

/** Raw SQL as the service's role, in a transaction scoped to TENANT (the way the service writes). */
function asTenant<T>(server: TestServer, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return transactionInRowScope(server.app.database.prisma, { tenantId: TENANT }, fn);
}

/** Raw SQL as the schema's owner (PostgreSQL, `separateOwner`), in a transaction with `settings`. */
async function asOwner<T = Record<string, unknown>>(
  server: TestServer,
  sql: string,
  params: unknown[] = [],
  settings: Record<string, string> = {},
): Promise<T[]> {
  const client = new pg.Client({ connectionString: server.ownerUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    for (const [name, value] of Object.entries(settings)) await client.query('SELECT set_config($1, $2, true)', [name, value]);
    const { rows } = await client.query(sql, params);
    await client.query('COMMIT');
    return rows as T[];
  } finally {
    await client.end();
  }
}

/** The partitions of `table` by name, from pg_inherits. */
async function partitionsOf(server: TestServer, table: HistoryTable): Promise<string[]> {
  const rows = await server.app.database.prisma.$queryRawUnsafe<{ name: string }[]>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = format('%I', $1::text)::regclass ORDER BY 1`,
    table,
  );
  return rows.map((r) => r.name);
}

/** Every row of TENANT's in `table`: its partition key and the partition that holds it. */
function placement(server: TestServer, table: HistoryTable): Promise<{ key: string; partition: string }[]> {
  return asTenant(server, (tx) =>
    tx.$queryRawUnsafe<{ key: string; partition: string }[]>(
      `SELECT x."${PARTITION_KEY[table]}" AS key, c.relname AS partition FROM "${table}" x JOIN pg_class c ON c.oid = x.tableoid`,
    ),
  );
}

/** How many of TENANT's rows of `table` have `column` among `values` (all of them without `values`). */
async function count(server: TestServer, table: HistoryTable, values?: string[], column = 'id'): Promise<number> {
  const [row] = await asTenant(server, (tx) =>
    tx.$queryRawUnsafe<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM "${table}"${values ? ` WHERE "${column}" = ANY($1::text[])` : ''}`,
      ...(values ? [values] : []),
    ),
  );
  return row!.n;
}

// ---- history written through the partitioned tables, as the service writes it ----

function insert(server: TestServer, sql: string, ...values: unknown[]) {
  return asTenant(server, (tx) => tx.$executeRawUnsafe(sql, ...values));
}

function insertEvent(server: TestServer, id: string) {
  return insert(
    server,
    `INSERT INTO "Event" ("id", "tenantId", "type", "payload", "occurredAt", "createdAt", "updatedAt")
     VALUES ($1, $2, 'partitions.test', '{}', $3::timestamp, $3::timestamp, $3::timestamp)`,
    id,
    TENANT,
    sqlTime(uuid7Time(id)),
  );
}

/** A delivery made and last changed when its id says, with one attempt (failed while PENDING). */
async function insertDelivery(server: TestServer, id: string, eventId: string, webhookId: string, status: 'PENDING' | 'SUCCEEDED') {
  const at = sqlTime(uuid7Time(id));
  await insert(
    server,
    `INSERT INTO "WebhookDelivery" ("id", "tenantId", "webhookId", "eventId", "status", "attemptCount", "createdAt", "updatedAt")
     VALUES ($1, $2, $3, $4, $5::"DeliveryStatus", 1, $6::timestamp, $6::timestamp)`,
    id,
    TENANT,
    webhookId,
    eventId,
    status,
    at,
  );
  await insert(
    server,
    `INSERT INTO "DeliveryAttempt" ("id", "tenantId", "deliveryId", "attemptNumber", "startedAt", "durationMs", "responseStatus", "createdAt", "updatedAt")
     VALUES ($1, $2, $3, 1, $4::timestamp, 12, $5, $4::timestamp, $4::timestamp)`,
    uuid7At(uuid7Time(id)),
    TENANT,
    id,
    at,
    status === 'PENDING' ? 503 : 200,
  );
}

/** An operation made when its id says (ended then when SUCCEEDED), with one attempt. */
async function insertOperation(server: TestServer, id: string, integrationId: string, status: 'SUCCEEDED' | 'QUEUED') {
  const at = sqlTime(uuid7Time(id));
  await insert(
    server,
    `INSERT INTO "Operation" ("id", "tenantId", "capability", "status", "integrationId", "attemptCount", "completedAt", "createdAt", "updatedAt")
     VALUES ($1, $2, 'send_sms', $3::"OperationStatus", $4, 1, $5::timestamp, $6::timestamp, $6::timestamp)`,
    id,
    TENANT,
    status,
    integrationId,
    status === 'SUCCEEDED' ? at : null,
    at,
  );
  await insert(
    server,
    `INSERT INTO "OperationAttempt" ("id", "tenantId", "operationId", "attemptNumber", "integrationId", "startedAt", "durationMs", "outcome", "createdAt", "updatedAt")
     VALUES ($1, $2, $3, 1, $4, $5::timestamp, 20, 'TRANSIENT_FAILURE', $5::timestamp, $5::timestamp)`,
    uuid7At(uuid7Time(id)),
    TENANT,
    id,
    integrationId,
    at,
  );
}

async function insertIntegration(server: TestServer): Promise<string> {
  const id = uuid7At(Date.now());
  await insert(
    server,
    `INSERT INTO "Integration" ("id", "tenantId", "provider", "status", "enabledCapabilities", "secretKeys", "inboundToken", "updatedAt")
     VALUES ($1, $2, 'twilio', 'INACTIVE', '{send_sms}', '{}', $3, now())`,
    id,
    TENANT,
    `partitions-${id}`,
  );
  return id;
}

// ---- the API ----

const CREATE_WEBHOOK = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) {
  ... on CreateWebhookPayload { webhook { id } } ... on Error { message } } }`;
const SEND_TEST = `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) {
  ... on SendTestEventPayload { delivery { id event { id } } } ... on Error { message } } }`;

/**
 * A webhook to `receiver` and a test event sent to it, delivered: rows in Event, WebhookDelivery,
 * DeliveryAttempt and AuditEntry, written by the service. Their ids, not global.
 */
async function deliverTestEvent(server: TestServer, receiver: Receiver, token: string) {
  const created = await server.gql(
    CREATE_WEBHOOK,
    { input: { name: 'partitions', url: receiver.url, eventTypes: ['webhook.test'] } },
    { token },
  );
  const webhook = created.data?.createWebhook?.webhook?.id as string | undefined;
  if (!webhook) throw new Error(`createWebhook: ${created.raw}`);
  const sent = await server.gql(SEND_TEST, { id: webhook }, { token });
  const delivery = sent.data?.sendTestEvent?.delivery;
  if (!delivery) throw new Error(`sendTestEvent: ${sent.raw}`);
  const ids = {
    webhookId: tryParseGlobalId('Webhook', webhook)!,
    deliveryId: tryParseGlobalId('WebhookDelivery', delivery.id)!,
    eventId: tryParseGlobalId('Event', delivery.event.id)!,
  };
  await eventually(
    async () => ((await count(server, 'DeliveryAttempt', [ids.deliveryId], 'deliveryId')) > 0 ? true : undefined),
    15_000,
    'the test event delivered',
  );
  expect(receiver.received.length).toBeGreaterThan(0);
  return ids;
}

describe.skipIf(!onPostgres)('time partitions on PostgreSQL', () => {
  let server: TestServer;
  let receiver: Receiver;
  let token: string;
  /** The rows of the API's test event (written today). */
  let api: { webhookId: string; deliveryId: string; eventId: string };

  /** The daily partitions of `table` from today to a week on, as the service makes them. */
  const weekAhead = (table: HistoryTable) => Array.from({ length: 8 }, (_, n) => partitionName(table, daysAgo(-n)));

  beforeAll(async () => {
    receiver = await startReceiver();
    server = await startTestServer(
      { WEBHOOK_ALLOW_HOSTS: receiver.hostPort, DATA_RETENTION: '30d', AUDIT_RETENTION: '30d' },
      { separateOwner: true },
    );
    token = await server.token({ tenant_id: TENANT });
  });

  afterAll(async () => {
    await server?.close();
    await receiver?.close();
  });

  describe('made ahead', () => {
    it('at start: one a UTC day from today to a week on for each daily table, and this month’s for the audit log', async () => {
      // a fresh database: no legacy partition
      const expected: Record<string, string[]> = Object.fromEntries(DAILY.map((t) => [t, [`${t}_default`, ...weekAhead(t)]]));
      const months = [partitionName('AuditEntry', TODAY)];
      if (monthsAgo(-1) < Date.now() + 7 * DAY_MS) months.push(partitionName('AuditEntry', monthsAgo(-1)));
      expected.AuditEntry = ['AuditEntry_default', ...months];
      const actual = async () => Object.fromEntries(await Promise.all(HISTORY.map(async (t) => [t, await partitionsOf(server, t)])));
      // the first purge runs at start, unawaited, and makes them one at a time: wait for the last,
      // then compare (a timeout leaves the comparison to say what is missing)
      await eventually(async () => (JSON.stringify(await actual()) === JSON.stringify(expected) ? true : undefined), 15_000).catch(
        () => {},
      );
      expect(await actual()).toEqual(expected);
    });

    it('rows the API writes land in the partition of their day (of their month for the audit log)', async () => {
      api = await deliverTestEvent(server, receiver, token);
      for (const table of ['Event', 'WebhookDelivery', 'DeliveryAttempt', 'AuditEntry'] as const) {
        const rows = await placement(server, table);
        expect(rows.length, table).toBeGreaterThan(0);
        for (const row of rows) {
          // made now, so in today's partition
          expect(Math.abs(uuid7Time(row.key) - Date.now()), table).toBeLessThan(10 * 60_000);
          expect(row.partition, table).toBe(partitionName(table, uuid7Time(row.key)));
        }
      }
      expect((await placement(server, 'Event')).map((r) => r.key)).toEqual([api.eventId]);
    });

    it('the service’s role cannot name a partition, and reads through the partitioned table as before', async () => {
      const prisma = server.app.database.prisma;
      for (const name of [
        partitionName('Event', TODAY),
        'Event_default',
        partitionName('WebhookDelivery', TODAY),
        partitionName('AuditEntry', TODAY),
      ]) {
        await expect(prisma.$queryRawUnsafe(`SELECT count(*) FROM "${name}"`), name).rejects.toThrow(/permission denied/);
      }
      expect(await count(server, 'Event', [api.eventId])).toBe(1);
      const listed = await server.gql(`{ events(type: "webhook.test") { totalCount } }`, undefined, { token });
      expect(listed.data.events.totalCount).toBe(1);
      // the owner, naming it, sees no row either (row-level security and no policy); through its table, it does
      const direct = await asOwner<{ n: number }>(server, `SELECT count(*)::int AS n FROM "${partitionName('Event', TODAY)}"`, [], {
        'app.tenant_id': TENANT,
      });
      expect(direct[0]!.n).toBe(0);
      const parent = await asOwner<{ n: number }>(server, `SELECT count(*)::int AS n FROM "Event" WHERE "id" = $1`, [api.eventId], {
        'app.tenant_id': TENANT,
      });
      expect(parent[0]!.n).toBe(1);
    });

    it('only the owner makes partitions, and only of history tables', async () => {
      await expect(
        server.app.database.prisma.$queryRawUnsafe(
          `SELECT icp_create_partitions('Event', (now() AT TIME ZONE 'UTC')::timestamp, (now() AT TIME ZONE 'UTC')::timestamp + interval '40 days')`,
        ),
      ).rejects.toThrow(/permission denied for function icp_create_partitions/);
      await expect(
        asOwner(server, `SELECT icp_create_partitions('Webhook', $1::timestamp, $2::timestamp)`, [sqlTime(TODAY), sqlTime(daysAgo(-1))]),
      ).rejects.toThrow(/not a table of history: Webhook/);
      // what exists already is not made again
      const [made] = await asOwner<{ n: number }>(server, `SELECT icp_create_partitions('Event', $1::timestamp, $2::timestamp) AS n`, [
        sqlTime(TODAY),
        sqlTime(daysAgo(-3)),
      ]);
      expect(made!.n).toBe(0);
      expect(await partitionsOf(server, 'Event')).toEqual(['Event_default', ...weekAhead('Event')]);
    });
  });

  describe('expired partitions are dropped whole', () => {
    /** Two hours into the UTC day `n` days ago: a time of that day's partition. */
    const on = (n: number) => uuid7At(daysAgo(n) + 2 * HOUR_MS + Math.floor(Math.random() * HOUR_MS));
    const day = (table: HistoryTable, n: number) => partitionName(table, daysAgo(n));
    const rows = {
      // day 45: all ended: every partition of the day goes
      event45: on(45),
      delivery45: on(45),
      operation45: on(45),
      // day 44: a delivery awaiting a retry and a queued operation: kept, with the event it carries
      event44: on(44),
      delivery44: on(44),
      operation44: on(44),
      // day 43's event, delivered on day 42: both expired, both go in one pass
      event43: on(43),
      delivery42: on(42),
      // day 41's event, delivered on day 29 (within DATA_RETENTION): its partition stays
      event41: on(41),
      delivery29: on(29),
    };
    const counts: Partial<Record<HistoryTable, number>> = {};

    beforeAll(async () => {
      // the partitions of the past, as the owner makes them (the service makes only those ahead)
      for (const table of DAILY) {
        for (const [from, to] of [
          [45, 40],
          [29, 28],
        ] as const) {
          const [made] = await asOwner<{ n: number }>(server, `SELECT icp_create_partitions($1, $2::timestamp, $3::timestamp) AS n`, [
            table,
            sqlTime(daysAgo(from)),
            sqlTime(daysAgo(to)),
          ]);
          expect(made!.n).toBe(from - to);
        }
      }
      const integrationId = await insertIntegration(server);
      for (const id of [rows.event45, rows.event44, rows.event43, rows.event41]) await insertEvent(server, id);
      await insertDelivery(server, rows.delivery45, rows.event45, api.webhookId, 'SUCCEEDED');
      await insertDelivery(server, rows.delivery44, rows.event44, api.webhookId, 'PENDING');
      await insertDelivery(server, rows.delivery42, rows.event43, api.webhookId, 'SUCCEEDED');
      await insertDelivery(server, rows.delivery29, rows.event41, api.webhookId, 'SUCCEEDED');
      await insertOperation(server, rows.operation45, integrationId, 'SUCCEEDED');
      await insertOperation(server, rows.operation44, integrationId, 'QUEUED');
      // each row in the partition of its id's day
      for (const table of DAILY) {
        for (const row of await placement(server, table)) expect(row.partition).toBe(partitionName(table, uuid7Time(row.key)));
        counts[table] = await count(server, table);
      }
    });

    it('drops those whose rows have all expired, deliveries before the events they carry, and keeps the rest', async () => {
      const result = await server.app.retention!.purgeOnce();
      expect(result.partitions).toMatchObject({
        dropped: [
          day('WebhookDelivery', 45),
          day('WebhookDelivery', 43), // empty
          day('WebhookDelivery', 42),
          day('WebhookDelivery', 41), // empty
          day('Event', 45),
          day('Event', 43), // its delivery's partition went first
          day('Event', 42), // empty
          day('Operation', 45),
          day('Operation', 43),
          day('Operation', 42),
          day('Operation', 41),
        ],
        kept: [day('WebhookDelivery', 44), day('Event', 44), day('Event', 41), day('Operation', 44)],
        yielded: false,
      });
      // nothing was deleted row by row
      expect(result.deleted).toEqual(Object.fromEntries(PURGE_STEPS.map((s) => [s.table, 0])));

      // attempts' partitions went with their parent's
      for (const table of ['WebhookDelivery', 'DeliveryAttempt'] as const) {
        expect(await partitionsOf(server, table), table).toEqual([`${table}_default`, day(table, 44), day(table, 29), ...weekAhead(table)]);
      }
      for (const table of ['Operation', 'OperationAttempt'] as const) {
        expect(await partitionsOf(server, table), table).toEqual([`${table}_default`, day(table, 44), day(table, 29), ...weekAhead(table)]);
      }
      expect(await partitionsOf(server, 'Event')).toEqual([
        'Event_default',
        day('Event', 44),
        day('Event', 41),
        day('Event', 29),
        ...weekAhead('Event'),
      ]);

      // the rows of what was kept are all there, and only the dropped ones are gone
      expect(await count(server, 'Event', [rows.event44, rows.event41, api.eventId])).toBe(3);
      expect(await count(server, 'Event')).toBe(counts.Event! - 2);
      expect(await count(server, 'WebhookDelivery', [rows.delivery44, rows.delivery29, api.deliveryId])).toBe(3);
      expect(await count(server, 'WebhookDelivery')).toBe(counts.WebhookDelivery! - 2);
      expect(await count(server, 'DeliveryAttempt', [rows.delivery44, rows.delivery29, api.deliveryId], 'deliveryId')).toBe(3);
      expect(await count(server, 'DeliveryAttempt')).toBe(counts.DeliveryAttempt! - 2);
      expect(await count(server, 'Operation', [rows.operation44])).toBe(1);
      expect(await count(server, 'Operation')).toBe(counts.Operation! - 1);
      expect(await count(server, 'OperationAttempt', [rows.operation44], 'operationId')).toBe(1);
      expect(await count(server, 'OperationAttempt')).toBe(counts.OperationAttempt! - 1);
    });

    it('the pending delivery kept is readable through the API, with its attempt and its event', async () => {
      const res = await server.gql(
        `query($id: ID!) { node(id: $id) { ... on WebhookDelivery { status attempts { attemptNumber responseStatus } event { id } } } }`,
        { id: encodeGlobalID('WebhookDelivery', rows.delivery44) },
        { token },
      );
      expect(res.errors).toBeUndefined();
      expect(res.data.node).toEqual({
        status: 'PENDING',
        attempts: [{ attemptNumber: 1, responseStatus: 503 }],
        event: { id: encodeGlobalID('Event', rows.event44) },
      });
    });

    it('once the pending delivery has ended and expired, the next pass drops its partitions and its event’s', async () => {
      await insert(
        server,
        `UPDATE "WebhookDelivery" SET "status" = 'SUCCEEDED', "updatedAt" = $2::timestamp WHERE "id" = $1`,
        rows.delivery44,
        sqlTime(uuid7Time(rows.delivery44) + HOUR_MS),
      );
      const result = await server.app.retention!.purgeOnce();
      expect(result.partitions).toMatchObject({
        dropped: [day('WebhookDelivery', 44), day('Event', 44)],
        kept: [day('Event', 41), day('Operation', 44)],
        yielded: false,
      });
      expect(await partitionsOf(server, 'DeliveryAttempt')).toEqual([
        'DeliveryAttempt_default',
        day('DeliveryAttempt', 29),
        ...weekAhead('DeliveryAttempt'),
      ]);
      expect(await partitionsOf(server, 'Event')).toEqual(['Event_default', day('Event', 41), day('Event', 29), ...weekAhead('Event')]);
      expect(await count(server, 'WebhookDelivery', [rows.delivery44])).toBe(0);
      expect(await count(server, 'DeliveryAttempt', [rows.delivery44], 'deliveryId')).toBe(0);
      expect(await count(server, 'Event', [rows.event44])).toBe(0);
      expect(await count(server, 'Event', [rows.event41, api.eventId])).toBe(2);
      expect(await count(server, 'WebhookDelivery', [rows.delivery29, api.deliveryId])).toBe(2);
    });

    it('deletes the expired rows the default partition holds, whatever their day (days no partition covered)', async () => {
      // day 35 has no partition (those made cover days 45 to 41 and 29 on): its rows go to the defaults
      const event35 = on(35);
      const delivery35 = on(35);
      const pending35 = on(35);
      await insertEvent(server, event35);
      await insertDelivery(server, delivery35, event35, api.webhookId, 'SUCCEEDED');
      await insertDelivery(server, pending35, event35, api.webhookId, 'PENDING');
      for (const table of ['Event', 'WebhookDelivery'] as const) {
        const homes = (await placement(server, table)).filter((r) => [event35, delivery35, pending35].includes(r.key));
        expect(
          homes.map((r) => r.partition).every((p) => p === `${table}_default`),
          table,
        ).toBe(true);
      }
      const result = await server.app.retention!.purgeOnce();
      expect(result.deleted).toMatchObject({ DeliveryAttempt: 1, WebhookDelivery: 1, Event: 0 });
      expect(await count(server, 'WebhookDelivery', [delivery35])).toBe(0);
      expect(await count(server, 'DeliveryAttempt', [delivery35], 'deliveryId')).toBe(0);
      // the pending one is kept, and with it the event it carries
      expect(await count(server, 'WebhookDelivery', [pending35])).toBe(1);
      expect(await count(server, 'Event', [event35])).toBe(1);
      await insert(
        server,
        `UPDATE "WebhookDelivery" SET "status" = 'FAILED', "updatedAt" = $2::timestamp WHERE "id" = $1`,
        pending35,
        sqlTime(uuid7Time(pending35) + HOUR_MS),
      );
      const again = await server.app.retention!.purgeOnce();
      expect(again.deleted).toMatchObject({ DeliveryAttempt: 1, WebhookDelivery: 1, Event: 1 });
      expect(await count(server, 'Event', [event35])).toBe(0);
    });
  });

  describe('the audit log, by month', () => {
    it('drops a month partition older than AUDIT_RETENTION, with its entries', async () => {
      const month = monthsAgo(3);
      const [made] = await asOwner<{ n: number }>(server, `SELECT icp_create_partitions('AuditEntry', $1::timestamp, $2::timestamp) AS n`, [
        sqlTime(month),
        sqlTime(month + DAY_MS),
      ]);
      expect(made!.n).toBe(1);
      const entry = uuid7At(month + 9 * DAY_MS + 12 * HOUR_MS);
      await insert(
        server,
        `INSERT INTO "AuditEntry" ("id", "tenantId", "via", "operation", "outcome", "objectIds", "createdAt", "updatedAt")
         VALUES ($1, $2, 'jwt', 'partitionsTest', 'ok', '{}', $3::timestamp, $3::timestamp)`,
        entry,
        TENANT,
        sqlTime(uuid7Time(entry)),
      );
      expect((await placement(server, 'AuditEntry')).find((r) => r.key === entry)?.partition).toBe(partitionName('AuditEntry', month));
      const before = await count(server, 'AuditEntry');

      const result = await server.app.retention!.purgeOnce();
      expect(result.partitions?.dropped).toEqual([partitionName('AuditEntry', month)]);
      expect(await partitionsOf(server, 'AuditEntry')).not.toContain(partitionName('AuditEntry', month));
      expect(await partitionsOf(server, 'AuditEntry')).toContain(partitionName('AuditEntry', TODAY));
      expect(await count(server, 'AuditEntry', [entry])).toBe(0);
      // this month's entries (the API's) stay
      expect(await count(server, 'AuditEntry')).toBe(before - 1);
    });
  });
});

describe.skipIf(onPostgres)('the embedded database', () => {
  let server: TestServer;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    server = await startTestServer({ WEBHOOK_ALLOW_HOSTS: receiver.hostPort, DATA_RETENTION: '30d' });
    // the run every worker makes at start, finished
    await server.app.retention!.purgeOnce();
  });

  afterAll(async () => {
    await server?.close();
    await receiver?.close();
  });

  it('makes no partition of its own: new rows go to the default partition', async () => {
    for (const table of HISTORY) expect(await partitionsOf(server, table), table).toEqual([`${table}_default`]);
    await deliverTestEvent(server, receiver, await server.token({ tenant_id: TENANT }));
    for (const table of ['Event', 'WebhookDelivery', 'DeliveryAttempt', 'AuditEntry'] as const) {
      const rows = await placement(server, table);
      expect(rows.length, table).toBeGreaterThan(0);
      for (const row of rows) expect(row.partition, table).toBe(`${table}_default`);
    }
    for (const table of HISTORY) expect(await partitionsOf(server, table), table).toEqual([`${table}_default`]);
  });

  it('purges in batches, with no partitions to keep', async () => {
    const expired = uuid7At(daysAgo(40) + 2 * HOUR_MS);
    await insertEvent(server, expired);
    const result = await server.app.retention!.purgeOnce();
    expect(result.partitions).toBeNull();
    expect(result.yielded).toBe(false);
    expect(Object.keys(result.deleted).sort()).toEqual(PURGE_STEPS.map((s) => s.table).sort());
    expect(result.deleted.Event).toBe(1);
    expect(await count(server, 'Event', [expired])).toBe(0);
    expect(await count(server, 'Event')).toBe(1); // the API's test event
  });
});
