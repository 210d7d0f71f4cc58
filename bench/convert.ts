/**
 * `npm run bench -- --only convert [--postgres]`: how long migration history_partitions takes to
 * convert a populated database (CONVERT_EVENTS events, each with a delivery and an attempt: default
 * 1,000,000 on PostgreSQL, 100,000 embedded), and that every row is still there after it. Not part
 * of the default run. docs/scaling.md ("Partitioning by time", point 7).
 */
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { openDatabase } from '../src/db/database.ts';
import { PostgresAdapterFactory } from '../src/db/postgres-adapter.ts';
import { applyMigrations, readMigrations } from '../src/db/schema-engine.ts';
import { benchDatabase } from './cluster.ts';

const PARTITIONS_MIGRATION = '20261205100000_history_partitions';
const TENANT = 'convert-bench';
const CHUNK = 100_000;
const onPostgres = Boolean(process.env.DATABASE_URL);
const EVENTS = Number(process.env.CONVERT_EVENTS ?? (onPostgres ? 1_000_000 : 100_000));
if (!Number.isSafeInteger(EVENTS) || EVENTS < 1) {
  console.error('CONVERT_EVENTS: expected a whole number of at least 1');
  process.exit(2);
}

/** Events $1..$2 of $3 spread over the last 30 days, uuid(7) ids of their time, each with a delivery and its attempt. */
const INSERT_HISTORY = `
WITH s AS (
  SELECT i, t.at, lpad(to_hex((extract(epoch FROM t.at) * 1000)::bigint), 12, '0') || '7' AS h, md5(i::text) AS r
    FROM generate_series($1::int, $2::int) i
   CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE 'UTC') - make_interval(secs => 30 * 86400.0 * ($3::int - i) / $3::int) AS at) t
), ids AS (
  SELECT i, at, substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 1) || substr(r, 1, 3) || '-8' || substr(r, 4, 3) || '-' AS prefix, substr(r, 7, 11) AS tail
    FROM s
), ev AS (
  INSERT INTO "Event" ("id", "tenantId", "type", "payload", "occurredAt", "createdAt", "updatedAt")
  SELECT prefix || tail || 'e', '${TENANT}', 'integration.updated', '{"n": 1}', at, at, at FROM ids RETURNING 1
), dl AS (
  INSERT INTO "WebhookDelivery" ("id", "tenantId", "webhookId", "eventId", "status", "attemptCount", "createdAt", "updatedAt")
  SELECT prefix || tail || 'd', '${TENANT}', 'convert-webhook', prefix || tail || 'e', 'SUCCEEDED', 1, at, at FROM ids RETURNING 1
)
INSERT INTO "DeliveryAttempt" ("id", "tenantId", "deliveryId", "attemptNumber", "startedAt", "durationMs", "responseStatus", "createdAt", "updatedAt")
SELECT prefix || tail || 'a', '${TENANT}', prefix || tail || 'd', 1, at, 25, 200, at, at FROM ids`;

const COUNTS = `SELECT (SELECT count(*) FROM "Event")::int AS events, (SELECT count(*) FROM "WebhookDelivery")::int AS deliveries,
  (SELECT count(*) FROM "DeliveryAttempt")::int AS attempts`;

interface Target {
  adapter: SqlMigrationAwareDriverAdapterFactory;
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

async function target(): Promise<Target> {
  if (onPostgres) {
    const database = await benchDatabase(process.env.DATABASE_URL!);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    return {
      adapter: new PostgresAdapterFactory({ connectionString: database.url, max: 2 }),
      query: async (sql, params) => (await client.query(sql, params)).rows,
      close: async () => {
        await client.end();
        await database.drop();
      },
    };
  }
  const database = await openDatabase({ dataDir: '', inMemory: true });
  return {
    adapter: database.adapter,
    query: (sql, params = []) => database.prisma.$queryRawUnsafe(sql, ...params),
    close: () => database.close(),
  };
}

const db = await target();
try {
  const migrations = await readMigrations();
  await applyMigrations(
    db.adapter,
    migrations.filter((m) => m.name < PARTITIONS_MIGRATION),
  );
  // the tables' owner is bound by their policies too (row-level security is forced): name the tenant
  await db.query(`SELECT set_config('app.tenant_id', $1, false)`, [TENANT]);
  await db.query(
    `INSERT INTO "Webhook" ("id", "tenantId", "name", "url", "eventTypes", "secretKeyId", "secretDataKey", "secretIv", "secretTag",
       "secretCiphertext", "secretFingerprint", "maxAttempts", "timeoutMs", "updatedAt")
     VALUES ('convert-webhook', $1, 'convert', 'https://example.com/hook', '{webhook.test}', 'k', 'd', 'i', 't', 'c', 'f', 5, 5000, now())`,
    [TENANT],
  );
  const inserting = performance.now();
  for (let from = 1; from <= EVENTS; from += CHUNK) await db.query(INSERT_HISTORY, [from, Math.min(EVENTS, from + CHUNK - 1), EVENTS]);
  await db.query('ANALYZE');
  const [before] = await db.query<Record<string, number>>(COUNTS);
  console.log(
    `${EVENTS} events with a delivery and an attempt each, over 30 days, inserted in ${((performance.now() - inserting) / 1000).toFixed(1)} s, database ${onPostgres ? 'postgres' : 'embedded'}`,
  );
  const converting = performance.now();
  const applied = await applyMigrations(db.adapter, migrations);
  const seconds = (performance.now() - converting) / 1000;
  const [after] = await db.query<Record<string, number>>(COUNTS);
  const legacy = await db.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_class c WHERE c.relispartition AND c.relkind = 'r' AND c.relname LIKE '%\\_legacy' ORDER BY 1`,
  );
  console.log(`applied ${applied.join(', ')} in ${seconds.toFixed(1)} s (the schema engine's start included)`);
  console.log(`rows before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
  for (const p of legacy) console.log(`  ${p.name.padEnd(24)} ${p.bound}`);
  if (JSON.stringify(before) !== JSON.stringify(after)) {
    console.error('rows were lost');
    process.exitCode = 1;
  }
} finally {
  await db.close();
}
