/**
 * The history_partitions migration on a populated database (PGlite, or PostgreSQL with
 * TEST_DATABASE_URL): two tenants' history of ten days ago, yesterday and today reads back field
 * for field from the partitioned tables, kept whole as "<T>_legacy"; keys, policies, inserts and
 * the retention purge still work; a conversion that fails half-way leaves nothing applied.
 */

import { tmpdir } from 'node:os';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { transactionInRowScope } from '../../src/db/row-security.ts';
import { applyMigrations, type MigrationFile, readMigrations } from '../../src/db/schema-engine.ts';
import { createTestDatabase } from '../helpers/app.ts';

const PARTITIONS = '20261205100000_history_partitions';
const HISTORY = ['Event', 'WebhookDelivery', 'DeliveryAttempt', 'Operation', 'OperationAttempt', 'AuditEntry'] as const;
type HistoryTable = (typeof HISTORY)[number];
/** The partition key of each table (attempts share their parent's bounds). */
const KEY: Record<HistoryTable, string> = {
  Event: 'id',
  WebhookDelivery: 'id',
  DeliveryAttempt: 'deliveryId',
  Operation: 'id',
  OperationAttempt: 'operationId',
  AuditEntry: 'id',
};
/** Children before parents, as src/retention/purge.ts purges them. */
const PURGE_ORDER: HistoryTable[] = ['DeliveryAttempt', 'WebhookDelivery', 'Event', 'OperationAttempt', 'Operation', 'AuditEntry'];
const A = 'history-tenant-a';
const B = 'history-tenant-b';
const DAY = 86_400_000;
const HOOK_TIMEOUT = 180_000;

type Tx = Parameters<Parameters<Database['prisma']['$transaction']>[0]>[0];

interface Fixture {
  database: Database;
  drop(): Promise<void>;
}

/** An empty database: in-memory PGlite, or a new database on TEST_DATABASE_URL's server. */
async function freshDatabase(): Promise<Fixture> {
  const dataDir = path.join(tmpdir(), 'icp-history-migration');
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const database = await openDatabase({ dataDir, inMemory: true });
    return { database, drop: () => database.close() };
  }
  const made = await createTestDatabase(adminUrl);
  const database = await openDatabase({ databaseUrl: made.url, dataDir });
  return {
    database,
    drop: async () => {
      await database.close();
      await made.drop();
    },
  };
}

const startOfDay = (ms: number) => ms - (ms % DAY);
const timestamp = (ms: number) => new Date(ms).toISOString();
/** The time in a uuid(7), in ms. */
const uuid7Ms = (id: string) => Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
/** The smallest uuid(7) of the millisecond `ms`, as the migration writes partition bounds. */
function uuid7Floor(ms: number): string {
  const hex = ms.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8)}-0000-0000-000000000000`;
}

/** The SQL state behind a Prisma error of raw SQL, or 'accepted' when there was none. */
async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'accepted';
  } catch (err) {
    const cause = (err as { meta?: { driverAdapterError?: { cause?: { originalCode?: string; code?: string } } } }).meta?.driverAdapterError
      ?.cause;
    return cause?.originalCode ?? cause?.code ?? String(err);
  }
}

function inTenant<T>(database: Database, tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return transactionInRowScope(database.prisma, { tenantId }, fn);
}

/** Under the data-retention task, which the policies admit for reading every tenant's history as the owner. */
function acrossTenants<T>(database: Database, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return database.prisma.$transaction(async (tx) => {
    await tx.$queryRawUnsafe(`SELECT set_config('app.maintenance', 'data-retention', true)`);
    return fn(tx);
  });
}

type Snapshot = Record<HistoryTable, string[]>;

/** Every row of the six tables as jsonb text (key order normalised), in key order. */
function snapshot(database: Database): Promise<Snapshot> {
  return acrossTenants(database, async (tx) => {
    const out = {} as Snapshot;
    for (const t of HISTORY) {
      const order = KEY[t] === 'id' ? '"id"' : `"${KEY[t]}", "id"`;
      const rows = await tx.$queryRawUnsafe<{ row: string }[]>(`SELECT to_jsonb(x)::text AS row FROM "${t}" x ORDER BY ${order}`);
      out[t] = rows.map((r) => r.row);
    }
    return out;
  });
}

async function query<T>(database: Database, sql: string, ...values: unknown[]): Promise<T[]> {
  return database.prisma.$queryRawUnsafe<T[]>(sql, ...values);
}

interface Partition {
  name: string;
  kind: string;
  bound: string;
  rowSecurity: boolean;
  forced: boolean;
}

function partitionsOf(database: Database, table: string): Promise<Partition[]> {
  return query<Partition>(
    database,
    `SELECT c.relname AS name, c.relkind::text AS kind, pg_get_expr(c.relpartbound, c.oid) AS bound,
            c.relrowsecurity AS "rowSecurity", c.relforcerowsecurity AS forced
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = $1::regclass ORDER BY c.relname`,
    `"${table}"`,
  );
}

async function relkind(database: Database, table: string): Promise<string | null> {
  const [row] = await query<{ kind: string | null }>(
    database,
    `SELECT (SELECT c.relkind::text FROM pg_class c WHERE c.oid = to_regclass($1)) AS kind`,
    `"${table}"`,
  );
  return row!.kind;
}

/** The policies of each table, as comparable text. */
async function policies(database: Database): Promise<Record<string, string[]>> {
  const rows = await query<{ t: string; p: string }>(
    database,
    `SELECT c.relname AS t,
            concat_ws(' | ', p.polname, p.polcmd::text, p.polpermissive::text, pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)) AS p
       FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
      WHERE c.relname = ANY($1::text[]) ORDER BY 1, 2`,
    [...HISTORY],
  );
  const out: Record<string, string[]> = {};
  for (const r of rows) (out[r.t] ??= []).push(r.p);
  return out;
}

async function indexNames(database: Database): Promise<Record<string, string[]>> {
  const rows = await query<{ t: string; i: string }>(
    database,
    `SELECT t.relname AS t, i.relname AS i FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
      WHERE t.relname = ANY($1::text[]) ORDER BY 1, 2`,
    [...HISTORY],
  );
  const out: Record<string, string[]> = {};
  for (const r of rows) (out[r.t] ??= []).push(r.i);
  return out;
}

/** The rows of one tenant: two of each kind a day, at each of `times`, with ids and timestamps that agree. */
interface TenantRows {
  integrationId: string;
  webhookId: string;
  /** Deliveries still PENDING, by time. */
  pending: string[];
  /** What icp_purge_expired with a 5-day window removes: ids of rows (attempts by their own id). */
  expired: string[];
}

async function seedTenant(database: Database, tenantId: string, times: number[], now: number): Promise<TenantRows> {
  return inTenant(database, tenantId, async (tx) => {
    const run = (sql: string, ...values: unknown[]) => tx.$executeRawUnsafe(sql, ...values);
    const first = times[0]!;
    const integrationId = uuidv7({ msecs: first });
    const webhookId = uuidv7({ msecs: first });
    const rows: TenantRows = { integrationId, webhookId, pending: [], expired: [] };
    const expired = (at: number, ...ids: string[]) => {
      if (at < now - 5 * DAY) rows.expired.push(...ids);
    };
    await run(
      `INSERT INTO "Integration" ("id", "tenantId", "provider", "status", "enabledCapabilities", "secretKeys", "inboundToken", "createdAt", "updatedAt")
       VALUES ($1, $2, 'twilio', 'ACTIVE', '{send_sms}', '{}', $3, $4::timestamp, $4::timestamp)`,
      integrationId,
      tenantId,
      `history-${integrationId}`,
      timestamp(first),
    );
    await run(
      `INSERT INTO "Webhook" ("id", "tenantId", "name", "url", "eventTypes", "maxAttempts", "timeoutMs", "secretKeyId", "secretDataKey",
                              "secretIv", "secretTag", "secretCiphertext", "secretFingerprint", "createdAt", "updatedAt")
       VALUES ($1, $2, 'history', 'https://hooks.example.test/history', '{history.test}', 5, 5000, 'key-1', decode('00', 'hex'),
               decode('01', 'hex'), decode('02', 'hex'), decode('03', 'hex'), 'fp', $3::timestamp, $3::timestamp)`,
      webhookId,
      tenantId,
      timestamp(first),
    );
    for (const at of times) {
      const eventId = uuidv7({ msecs: at });
      await run(
        `INSERT INTO "Event" ("id", "tenantId", "type", "subjectId", "payload", "occurredAt", "createdAt", "updatedAt")
         VALUES ($1, $2, 'history.test', $3, $4::jsonb, $5::timestamp, $5::timestamp, $5::timestamp)`,
        eventId,
        tenantId,
        integrationId,
        JSON.stringify({ at: timestamp(at), nested: { n: at, list: [1, 'two', null] } }),
        timestamp(at),
      );
      for (const status of ['SUCCEEDED', 'PENDING'] as const) {
        const deliveryId = uuidv7({ msecs: at + 1 });
        const attemptId = uuidv7({ msecs: at + 2 });
        await run(
          `INSERT INTO "WebhookDelivery" ("id", "tenantId", "webhookId", "eventId", "status", "attemptCount", "nextAttemptAt", "createdAt", "updatedAt")
           VALUES ($1, $2, $3, $4, $5::"DeliveryStatus", 1, $6::timestamp, $7::timestamp, $8::timestamp)`,
          deliveryId,
          tenantId,
          webhookId,
          eventId,
          status,
          status === 'PENDING' ? timestamp(now + DAY) : null,
          timestamp(at + 1),
          timestamp(at + 2),
        );
        await run(
          `INSERT INTO "DeliveryAttempt" ("id", "tenantId", "deliveryId", "attemptNumber", "startedAt", "durationMs", "responseStatus",
                                          "error", "responseBody", "createdAt", "updatedAt")
           VALUES ($1, $2, $3, 1, $4::timestamp, 42, $5, $6, 'body', $4::timestamp, $4::timestamp)`,
          attemptId,
          tenantId,
          deliveryId,
          timestamp(at + 2),
          status === 'PENDING' ? 503 : 200,
          status === 'PENDING' ? 'upstream unavailable' : null,
        );
        if (status === 'PENDING') rows.pending.push(deliveryId);
        else expired(at, deliveryId, attemptId);
      }
      for (const status of ['SUCCEEDED', 'QUEUED'] as const) {
        const operationId = uuidv7({ msecs: at + 3 });
        await run(
          `INSERT INTO "Operation" ("id", "tenantId", "capability", "status", "idempotencyKey", "inputKeyId", "inputCiphertext",
                                    "integrationId", "attemptCount", "completedAt", "createdAt", "updatedAt")
           VALUES ($1, $2, 'send_sms', $3::"OperationStatus", $4, 'key-1', decode('0a0b', 'hex'), $5, $6, $7::timestamp, $8::timestamp, $9::timestamp)`,
          operationId,
          tenantId,
          status,
          `idem-${operationId}`,
          integrationId,
          status === 'SUCCEEDED' ? 1 : 0,
          status === 'SUCCEEDED' ? timestamp(at + 5) : null,
          timestamp(at + 3),
          timestamp(at + 5),
        );
        if (status === 'QUEUED') continue;
        const attemptId = uuidv7({ msecs: at + 4 });
        await run(
          `INSERT INTO "OperationAttempt" ("id", "tenantId", "operationId", "attemptNumber", "integrationId", "startedAt", "durationMs",
                                           "httpStatus", "outcome", "createdAt", "updatedAt")
           VALUES ($1, $2, $3, 1, $4, $5::timestamp, 20, 201, 'SUCCEEDED', $5::timestamp, $5::timestamp)`,
          attemptId,
          tenantId,
          operationId,
          integrationId,
          timestamp(at + 4),
        );
        expired(at, operationId, attemptId);
      }
    }
    // an inbound provider event, relayed to no webhook; audit entries up to yesterday only, so
    // that table's legacy partition ends today rather than tomorrow
    const oldest = Math.min(...times);
    const inboundId = uuidv7({ msecs: oldest + 7 });
    await run(
      `INSERT INTO "Event" ("id", "tenantId", "type", "payload", "sourceIntegrationId", "providerEventId", "occurredAt", "createdAt", "updatedAt")
       VALUES ($1, $2, 'twilio.message.delivered', '{"sid": "SM1"}', $3, $4, $5::timestamp, $5::timestamp, $5::timestamp)`,
      inboundId,
      tenantId,
      integrationId,
      `evt-${tenantId}`,
      timestamp(oldest + 7),
    );
    expired(oldest, inboundId);
    for (const at of times.filter((t) => t < startOfDay(now))) {
      const auditId = uuidv7({ msecs: at + 6 });
      await run(
        `INSERT INTO "AuditEntry" ("id", "tenantId", "actorId", "via", "operation", "outcome", "objectIds", "ip", "createdAt", "updatedAt")
         VALUES ($1, $2, 'user-1', 'jwt', 'createWebhook', 'ok', ARRAY[$3]::text[], '127.0.0.1', $4::timestamp, $4::timestamp)`,
        auditId,
        tenantId,
        webhookId,
        timestamp(at + 6),
      );
      expired(at, auditId);
    }
    return rows;
  });
}

let migrations: MigrationFile[];
let before: MigrationFile[];

beforeAll(async () => {
  migrations = await readMigrations();
  before = migrations.filter((m) => m.name < PARTITIONS);
});

describe('history_partitions on a populated database', () => {
  let fixture: Fixture;
  let db: Database;
  let now: number;
  const seeded: Record<string, TenantRows> = {};
  let snapshotBefore: Snapshot;
  let snapshotAfter: Snapshot;
  let policiesBefore: Record<string, string[]>;
  let indexesBefore: Record<string, string[]>;
  let applied: string[];
  let appliedAgain: string[];

  beforeAll(async () => {
    fixture = await freshDatabase();
    db = fixture.database;
    expect(await applyMigrations(db.adapter, before)).toEqual(before.map((m) => m.name));
    now = Date.now();
    // today's rows a minute ago, or at midnight when the day is younger than that
    const times = [now - 10 * DAY, now - DAY, Math.max(startOfDay(now), now - 60_000)];
    seeded[A] = await seedTenant(db, A, times, now);
    seeded[B] = await seedTenant(db, B, times, now);
    policiesBefore = await policies(db);
    indexesBefore = await indexNames(db);
    snapshotBefore = await snapshot(db);
    applied = await applyMigrations(db.adapter, migrations);
    appliedAgain = await applyMigrations(db.adapter, migrations);
    snapshotAfter = await snapshot(db);
  }, HOOK_TIMEOUT);

  afterAll(async () => {
    await fixture?.drop();
  });

  it('applies the history migration and those after it, once', () => {
    expect(applied).toEqual(migrations.filter((m) => m.name >= PARTITIONS).map((m) => m.name));
    expect(applied[0]).toBe(PARTITIONS);
    expect(appliedAgain).toEqual([]);
  });

  it('keeps every row of the six tables, field for field', () => {
    for (const t of HISTORY) {
      // two tenants' rows of three days in every table (the snapshot is not trivially equal)
      expect(snapshotBefore[t].length, t).toBeGreaterThanOrEqual(4);
      expect(new Set(snapshotBefore[t].map((r) => JSON.parse(r).tenantId)), t).toEqual(new Set([A, B]));
    }
    expect(snapshotAfter).toEqual(snapshotBefore);
  });

  it('makes each table partitioned, its rows kept in "<T>_legacy" up to the day after its newest row, and a default partition', async () => {
    const tomorrow = startOfDay(Date.now()) + DAY;
    for (const t of HISTORY) {
      expect(await relkind(db, t), t).toBe('p');
      const newest = Math.max(...snapshotBefore[t].map((r) => uuid7Ms(JSON.parse(r)[KEY[t]])));
      const end = Math.max(startOfDay(Date.now()), startOfDay(newest) + DAY);
      expect(await partitionsOf(db, t), t).toEqual([
        { name: `${t}_default`, kind: 'r', bound: 'DEFAULT', rowSecurity: true, forced: true },
        { name: `${t}_legacy`, kind: 'r', bound: `FOR VALUES FROM (MINVALUE) TO ('${uuid7Floor(end)}')`, rowSecurity: true, forced: true },
      ]);
      // through the parent, every row is found in the legacy partition
      const homes = await acrossTenants(db, (tx) =>
        tx.$queryRawUnsafe<{ home: string; n: number }[]>(
          `SELECT c.relname AS home, count(*)::int AS n FROM "${t}" x JOIN pg_class c ON c.oid = x.tableoid GROUP BY 1`,
        ),
      );
      expect(homes, t).toEqual([{ home: `${t}_legacy`, n: snapshotBefore[t].length }]);
    }
    // rows of today end their tables' legacy partitions tomorrow, audit entries of yesterday today
    const bounds = Object.fromEntries(
      await Promise.all(HISTORY.map(async (t) => [t, (await partitionsOf(db, t)).find((p) => p.name.endsWith('_legacy'))!.bound])),
    );
    expect(bounds.Event).toContain(uuid7Floor(tomorrow));
    expect(bounds.DeliveryAttempt).toContain(uuid7Floor(tomorrow));
    expect(bounds.AuditEntry).toContain(uuid7Floor(tomorrow - DAY));
  });

  it('keeps the policies and indexes on the partitioned tables; a partition named directly shows no row', async () => {
    expect(await policies(db)).toEqual(policiesBefore);
    const after = await indexNames(db);
    for (const t of HISTORY) {
      const kept = indexesBefore[t]!.filter((name) => name !== 'Event_sourceIntegrationId_providerEventId_key');
      expect(after[t], t).toEqual(expect.arrayContaining(kept));
    }
    expect(after.Event).toContain('Event_sourceIntegrationId_providerEventId_idx');
    for (const t of HISTORY) {
      const direct = (tx: Tx) => tx.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM "${t}_legacy"`);
      expect(await inTenant(db, A, direct), t).toEqual([{ n: 0 }]);
      expect(await acrossTenants(db, direct), t).toEqual([{ n: 0 }]);
    }
  });

  it('still refuses a row that names a missing one (23503), and deleting a row that is named', async () => {
    const rows = seeded[A]!;
    const missing = uuidv7();
    const ownRow = (t: HistoryTable) =>
      snapshotBefore[t].map((r) => JSON.parse(r)).find((r) => r.tenantId === A && r.type !== 'twilio.message.delivered');
    // an event that deliveries name, a delivery that attempts name, an operation: all tenant A's
    const eventId = ownRow('Event').id as string;
    const deliveryId = rows.pending[0]!;
    const operationId = ownRow('Operation').id as string;
    const attempt = (sql: string, ...values: unknown[]) => outcome(inTenant(db, A, (tx) => tx.$executeRawUnsafe(sql, ...values)));
    expect(
      await attempt(
        `INSERT INTO "WebhookDelivery" ("id", "tenantId", "webhookId", "eventId", "updatedAt") VALUES ($1, $2, $3, $4, now())`,
        uuidv7(),
        A,
        rows.webhookId,
        missing,
      ),
    ).toBe('23503');
    expect(
      await attempt(
        `INSERT INTO "DeliveryAttempt" ("id", "tenantId", "deliveryId", "attemptNumber", "startedAt", "durationMs", "updatedAt")
         VALUES ($1, $2, $3, 1, now(), 1, now())`,
        uuidv7(),
        A,
        missing,
      ),
    ).toBe('23503');
    expect(
      await attempt(
        `INSERT INTO "OperationAttempt" ("id", "tenantId", "operationId", "attemptNumber", "integrationId", "startedAt", "durationMs", "outcome", "updatedAt")
         VALUES ($1, $2, $3, 9, $4, now(), 1, 'SUCCEEDED', now())`,
        uuidv7(),
        A,
        missing,
        rows.integrationId,
      ),
    ).toBe('23503');
    expect(
      await attempt(
        `INSERT INTO "OperationAttempt" ("id", "tenantId", "operationId", "attemptNumber", "integrationId", "startedAt", "durationMs", "outcome", "updatedAt")
         VALUES ($1, $2, $3, 9, $4, now(), 1, 'SUCCEEDED', now())`,
        uuidv7(),
        A,
        operationId,
        missing,
      ),
    ).toBe('23503');
    // ON DELETE RESTRICT: restrict_violation on PostgreSQL 17 (PGlite), foreign_key_violation on 15
    expect(['23001', '23503']).toContain(await attempt(`DELETE FROM "Event" WHERE "id" = $1`, eventId));
    expect(['23001', '23503']).toContain(await attempt(`DELETE FROM "WebhookDelivery" WHERE "id" = $1`, deliveryId));
  });

  it('still separates the tenants through the partitioned tables', async () => {
    for (const [tenant, other] of [
      [A, B],
      [B, A],
    ]) {
      for (const t of HISTORY) {
        const seen = await inTenant(db, tenant!, (tx) =>
          tx.$queryRawUnsafe<{ tenantId: string; n: number }[]>(`SELECT "tenantId", count(*)::int AS n FROM "${t}" GROUP BY 1`),
        );
        const own = snapshotBefore[t].filter((r) => JSON.parse(r).tenantId === tenant).length;
        expect(seen, `${t} as ${tenant}`).toEqual([{ tenantId: tenant, n: own }]);
      }
      const foreign = await outcome(
        inTenant(db, tenant!, (tx) =>
          tx.$executeRawUnsafe(
            `INSERT INTO "AuditEntry" ("id", "tenantId", "via", "operation", "outcome", "updatedAt") VALUES ($1, $2, 'jwt', 'x', 'ok', now())`,
            uuidv7(),
            other,
          ),
        ),
      );
      expect(foreign).toBe('42501');
    }
    const unscoped = await db.prisma.$transaction(async (tx) =>
      Promise.all(HISTORY.map((t) => tx.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM "${t}"`))),
    );
    expect(unscoped.flat()).toEqual(HISTORY.map(() => ({ n: 0 })));
  });

  it('takes new rows through Prisma and SQL, into the legacy, default and daily partitions', async () => {
    const rows = seeded[A]!;
    const homeOf = (tx: Tx, t: string, id: string) =>
      tx
        .$queryRawUnsafe<{ home: string }[]>(
          `SELECT c.relname AS home FROM "${t}" x JOIN pg_class c ON c.oid = x.tableoid WHERE x."id" = $1`,
          id,
        )
        .then((r) => r.map((x) => x.home));
    // a daily partition two days ahead (the owner's function; the service's role owns the tables here)
    const ahead = startOfDay(Date.now()) + 2 * DAY;
    const day = new Date(ahead).toISOString().slice(0, 10).replaceAll('-', '');
    const [made] = await query<{ n: number }>(
      db,
      `SELECT icp_create_partitions('Event', $1::timestamp, $2::timestamp) AS n`,
      timestamp(ahead),
      timestamp(ahead + DAY),
    );
    expect(made!.n).toBe(1);
    // the range the legacy partition already covers is left to it
    const [covered] = await query<{ n: number }>(
      db,
      `SELECT icp_create_partitions('Event', $1::timestamp, $2::timestamp) AS n`,
      timestamp(startOfDay(Date.now())),
      timestamp(startOfDay(Date.now()) + DAY),
    );
    expect(covered!.n).toBe(0);

    const found = await inTenant(db, A, async (tx) => {
      const event = await tx.event.create({ data: { tenantId: A, type: 'history.new', payload: { fresh: true } } });
      const future = await tx.event.create({
        data: { id: uuidv7({ msecs: ahead + 3_600_000 }), tenantId: A, type: 'history.ahead', payload: {} },
      });
      const audit = await tx.auditEntry.create({ data: { tenantId: A, via: 'jwt', operation: 'history', outcome: 'ok' } });
      const delivery = await tx.webhookDelivery.create({ data: { tenantId: A, webhookId: rows.webhookId, eventId: future.id } });
      // a second attempt of a delivery from ten days ago: its partition is the delivery's
      const oldAttempt = uuidv7();
      await tx.$executeRawUnsafe(
        `INSERT INTO "DeliveryAttempt" ("id", "tenantId", "deliveryId", "attemptNumber", "startedAt", "durationMs", "updatedAt")
         VALUES ($1, $2, $3, 2, now(), 5, now())`,
        oldAttempt,
        A,
        rows.pending[0],
      );
      const operation = await tx.operation.create({ data: { tenantId: A, capability: 'send_sms', integrationId: rows.integrationId } });
      await tx.operationAttempt.create({
        data: {
          tenantId: A,
          operationId: operation.id,
          attemptNumber: 1,
          integrationId: rows.integrationId,
          startedAt: new Date(),
          durationMs: 3,
          outcome: 'SUCCEEDED',
        },
      });
      return {
        event: await tx.event.findUnique({ where: { id: event.id } }),
        eventHome: await homeOf(tx, 'Event', event.id),
        futureHome: await homeOf(tx, 'Event', future.id),
        auditHome: await homeOf(tx, 'AuditEntry', audit.id),
        deliveryHome: await homeOf(tx, 'WebhookDelivery', delivery.id),
        oldAttemptHome: await homeOf(tx, 'DeliveryAttempt', oldAttempt),
        attempts: await tx.operationAttempt.findMany({ where: { operationId: operation.id } }),
        deliveryEvent: (await tx.webhookDelivery.findUnique({ where: { id: delivery.id }, include: { event: true } }))?.event.type,
      };
    });
    expect(found.event).toMatchObject({ tenantId: A, type: 'history.new', payload: { fresh: true } });
    // Event holds rows of today, so its legacy partition runs to tomorrow; AuditEntry's ends today
    expect(found.eventHome).toEqual(['Event_legacy']);
    expect(found.futureHome).toEqual([`Event_p${day}`]);
    expect(found.auditHome).toEqual(['AuditEntry_default']);
    expect(found.deliveryHome).toEqual(['WebhookDelivery_legacy']);
    expect(found.oldAttemptHome).toEqual(['DeliveryAttempt_legacy']);
    expect(found.attempts).toHaveLength(1);
    expect(found.deliveryEvent).toBe('history.ahead');
    expect(await inTenant(db, B, (tx) => tx.event.count({ where: { tenantId: A } }))).toBe(0);
  });

  it('still purges expired rows with icp_purge_expired, and only those', async () => {
    const retention = 5 * 86_400;
    const beforePurge = await snapshot(db);
    let deleted = 0;
    for (const what of PURGE_ORDER) {
      const [row] = await query<{ n: number }>(db, `SELECT icp_purge_expired($1, $2::bigint, 1000) AS n`, what, retention);
      expect(row!.n, what).toBeGreaterThanOrEqual(0);
      deleted += row!.n;
    }
    const expired = new Set([...seeded[A]!.expired, ...seeded[B]!.expired]);
    const expected = Object.fromEntries(HISTORY.map((t) => [t, beforePurge[t].filter((r) => !expired.has(JSON.parse(r).id))])) as Snapshot;
    expect(deleted).toBe(expired.size);
    expect(await snapshot(db)).toEqual(expected);
  });
});

describe('history_partitions with empty tables, after a failed first try', () => {
  let fixture: Fixture;
  let db: Database;
  const operationId = uuidv7({ msecs: Date.now() - DAY });
  const integrationId = uuidv7({ msecs: Date.now() - DAY });
  let failure: unknown;

  beforeAll(async () => {
    fixture = await freshDatabase();
    db = fixture.database;
    await applyMigrations(db.adapter, before);
    await inTenant(db, A, async (tx) => {
      await tx.$executeRawUnsafe(
        `INSERT INTO "Integration" ("id", "tenantId", "provider", "inboundToken", "updatedAt") VALUES ($1, $2, 'twilio', $3, now())`,
        integrationId,
        A,
        `history-${integrationId}`,
      );
      await tx.$executeRawUnsafe(
        `INSERT INTO "Operation" ("id", "tenantId", "capability", "integrationId", "createdAt", "updatedAt")
         VALUES ($1, $2, 'send_sms', $3, $4::timestamp, $4::timestamp)`,
        operationId,
        A,
        integrationId,
        timestamp(uuid7Ms(operationId)),
      );
      // an id no uuid(7): the last table converted cannot be partitioned by time
      await tx.$executeRawUnsafe(
        `INSERT INTO "AuditEntry" ("id", "tenantId", "via", "operation", "outcome", "updatedAt") VALUES ('legacy-id', $1, 'jwt', 'x', 'ok', now())`,
        A,
      );
    });
    failure = await applyMigrations(db.adapter, migrations).then(
      () => undefined,
      (err: unknown) => err,
    );
  }, HOOK_TIMEOUT);

  afterAll(async () => {
    await fixture?.drop();
  });

  it('a conversion that fails half-way leaves every table as it was', async () => {
    expect(failure).toBeInstanceOf(Error);
    // the database's own words, which the schema engine's error leaves out
    expect((failure as Error).message).toMatch(
      /^a migration failed: P0001 cannot partition "AuditEntry" by "id": its greatest value is not a uuid\(7\)/,
    );
    for (const t of HISTORY) expect(await relkind(db, t), t).toBe('r');
    for (const t of HISTORY) expect(await relkind(db, `${t}_legacy`), t).toBeNull();
    const [fn] = await query<{ f: string | null }>(db, `SELECT to_regproc('icp_uuid7_floor')::text AS f`);
    expect(fn!.f).toBeNull();
    // the engine records the attempt as unfinished
    const recorded = await query<{ finished: boolean }>(
      db,
      `SELECT finished_at IS NOT NULL AS finished FROM _prisma_migrations WHERE migration_name = $1`,
      PARTITIONS,
    );
    expect(recorded).toEqual([{ finished: false }]);
  });

  it('once retried, gives an empty family no legacy partition and a filled one its own, attempts with their parent’s bound', async () => {
    await inTenant(db, A, (tx) => tx.$executeRawUnsafe(`DELETE FROM "AuditEntry" WHERE "id" = 'legacy-id'`));
    // what `prisma migrate resolve --rolled-back` records
    await db.prisma.$executeRawUnsafe(
      `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = $1 AND finished_at IS NULL`,
      PARTITIONS,
    );
    expect(await applyMigrations(db.adapter, migrations)).toContain(PARTITIONS);

    for (const t of HISTORY) {
      expect(await relkind(db, t), t).toBe('p');
      const names = (await partitionsOf(db, t)).map((p) => p.name);
      // OperationAttempt is empty but shares its operations' legacy bound, so no day of attempts
      // can exist without the day of their operations
      const family = t === 'Operation' || t === 'OperationAttempt';
      expect(names, t).toEqual(family ? [`${t}_default`, `${t}_legacy`] : [`${t}_default`]);
    }
    for (const t of ['Operation', 'OperationAttempt'] as const) {
      const legacy = (await partitionsOf(db, t)).find((p) => p.name === `${t}_legacy`)!;
      expect(legacy.bound, t).toBe(`FOR VALUES FROM (MINVALUE) TO ('${uuid7Floor(startOfDay(Date.now()))}')`);
    }
    // an attempt of the legacy operation goes to the attempts' legacy partition, its key still checked
    const home = await inTenant(db, A, async (tx) => {
      await tx.operationAttempt.create({
        data: { tenantId: A, operationId, attemptNumber: 1, integrationId, startedAt: new Date(), durationMs: 1, outcome: 'SUCCEEDED' },
      });
      return tx.$queryRawUnsafe<{ home: string; n: number }[]>(
        `SELECT c.relname AS home, count(*)::int AS n FROM "OperationAttempt" x JOIN pg_class c ON c.oid = x.tableoid GROUP BY 1`,
      );
    });
    expect(home).toEqual([{ home: 'OperationAttempt_legacy', n: 1 }]);
    expect(
      await inTenant(db, A, (tx) => tx.operation.findUnique({ where: { id: operationId }, include: { attempts: true } })),
    ).toMatchObject({
      id: operationId,
      attempts: [{ attemptNumber: 1 }],
    });
  });
});
