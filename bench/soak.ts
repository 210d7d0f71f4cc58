/**
 * `npm run bench -- --only soak`: a large history inserted fast with SQL (generate_series), then
 * newest-first page latency with little history and with all of it (it should stay flat: the pages
 * walk indexes), the query plans of those pages, the time the retention purge takes to expire one
 * day of it, and table sizes before and after. Not part of the default run. docs/performance.md (Soak).
 *
 * SOAK_EVENTS (default 1,000,000 on PostgreSQL, 100,000 embedded): events, each with one delivery
 * and one attempt, spread evenly over SOAK_DAYS (default 31) so that DATA_RETENTION=30d expires
 * the oldest day; SOAK_TENANTS (default 10) tenants of SOAK_WEBHOOKS (default 5) webhooks each;
 * SOAK_CHUNK (default 20,000) rows per INSERT statement; SOAK_SAMPLES (default 30) requests per page.
 */
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { transactionInRowScope } from '../src/db/row-security.ts';
import { forTenant } from '../src/db/tenant.ts';
import type { PrismaClient } from '../src/generated/prisma/client.ts';
import { webhookGlobalId } from '../src/ids.ts';
import { createLogger } from '../src/log.ts';
import { purgeExpired } from '../src/retention/purge.ts';
import { createWebhook } from '../src/webhooks/service.ts';
import { benchDatabase } from './cluster.ts';

const DAY_MS = 86_400_000;
const onPostgres = Boolean(process.env.DATABASE_URL);
const setting = (name: string, fallback: number) => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error(`${name}: expected a whole number of at least 1`);
    process.exit(2);
  }
  return n;
};
const EVENTS = setting('SOAK_EVENTS', onPostgres ? 1_000_000 : 100_000);
const DAYS = setting('SOAK_DAYS', 31);
const TENANTS = setting('SOAK_TENANTS', 10);
const WEBHOOKS = setting('SOAK_WEBHOOKS', 5);
const CHUNK = setting('SOAK_CHUNK', 20_000);
const SAMPLES = setting('SOAK_SAMPLES', 30);
const SECRET = 'bench-secret-that-is-long-enough-for-hs256-000000';
const TABLES = ['Event', 'WebhookDelivery', 'DeliveryAttempt'] as const;

/** A uuid whose first 48 bits are the row's time in ms, as uuid(7) ids are: newest-first is id order. */
const idOf = (hex: string) =>
  `substr(${hex}, 1, 8) || '-' || substr(${hex}, 9, 4) || '-' || substr(${hex}, 13, 4) || '-' || substr(${hex}, 17, 4) || '-' || substr(${hex}, 21, 12)`;
const timeHex = `lpad(to_hex((extract(epoch FROM t.at) * 1000)::bigint), 12, '0') || '7'`;

/**
 * Events $1..$2 of a tenant's $3 (the oldest first over $4 ms), each with one SUCCEEDED delivery to
 * one of the webhooks $6 and its attempt, in one statement.
 */
const INSERT_HISTORY = `
WITH s AS (
  SELECT i, t.at, ${timeHex} || substr(md5(random()::text || i || 'e'), 1, 19) AS eh,
         ${timeHex} || substr(md5(random()::text || i || 'd'), 1, 19) AS dh,
         ${timeHex} || substr(md5(random()::text || i || 'a'), 1, 19) AS ah
    FROM generate_series($1::int, $2::int) i
   CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE 'UTC') - make_interval(secs => $4::float8 / 1000 * ($3::int - i) / $3::int) AS at) t
), ev AS (
  INSERT INTO "Event" ("id", "tenantId", "type", "subjectId", "payload", "occurredAt", "createdAt", "updatedAt")
  SELECT ${idOf('eh')}, $5, 'integration.updated', 'soak', jsonb_build_object('n', i, 'changes', jsonb_build_array('metadata')), at, at, at FROM s
  RETURNING 1
), dl AS (
  INSERT INTO "WebhookDelivery" ("id", "tenantId", "webhookId", "eventId", "status", "attemptCount", "createdAt", "updatedAt")
  SELECT ${idOf('dh')}, $5, ($6::text[])[1 + i % cardinality($6::text[])], ${idOf('eh')}, 'SUCCEEDED', 1, at, at FROM s
  RETURNING 1
)
INSERT INTO "DeliveryAttempt" ("id", "tenantId", "deliveryId", "attemptNumber", "startedAt", "durationMs", "responseStatus", "createdAt", "updatedAt")
SELECT ${idOf('ah')}, $5, ${idOf('dh')}, 1, at, 25, 200, at, at FROM s`;

const PAGES = {
  'events(first: 25)': `{ events(first: 25) { edges { node { id type occurredAt } } } }`,
  'webhook.deliveries(first: 25)': `query($id: ID!) { webhook(id: $id) { deliveries(first: 25) { edges { node { id status attemptCount createdAt
      event { id type } attempts { attemptNumber responseStatus durationMs } } } } } }`,
  'webhooks(first: 25) with deliveries(first: 3)': `{ webhooks(first: 25) { edges { node { id name status
      deliveries(first: 3) { edges { node { id status createdAt event { id type } } } } } } } }`,
} as const;

/** Statements like the ones those pages run (with the retention rule), for EXPLAIN. */
const PLANS = {
  'events page': `SELECT "id" FROM "Event" e WHERE e."tenantId" = $1 AND e."deletedAt" IS NULL
     AND e."createdAt" >= $2
     ORDER BY e."id" DESC LIMIT 26`,
  'deliveries page': `SELECT "id" FROM "WebhookDelivery" d WHERE d."tenantId" = $1 AND d."webhookId" = $3 AND d."deletedAt" IS NULL
     AND (d."status" = 'PENDING' OR d."updatedAt" >= $2) ORDER BY d."id" DESC LIMIT 26`,
} as const;

const database = process.env.DATABASE_URL ? await benchDatabase(process.env.DATABASE_URL) : undefined;
const warnings: string[] = [];
const sink = new Writable({
  write: (chunk, _e, done) => {
    warnings.push(String(chunk).slice(0, 500));
    if (warnings.length > 20) warnings.shift();
    done();
  },
});
const config = loadConfig({
  ...process.env,
  ...(database ? { DATABASE_URL: database.url } : {}),
  PORT: '0',
  HOST: '127.0.0.1',
  AUTH_JWT_SECRET: SECRET,
  ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
  WEBHOOK_ALLOW_HOSTS: '127.0.0.1:9',
  LOG_LEVEL: 'warn',
  DATA_RETENTION: '30d',
  // the purge is run (and timed) below, not by a worker
  WORKER: 'false',
});
const app = await createApp(config, { logger: createLogger('warn', sink), inMemory: !config.databaseUrl });
const { url } = await app.listen();
const prisma = app.database.prisma as PrismaClient;

try {
  const tenants = Array.from({ length: TENANTS }, (_, i) => `soak-${Date.now()}-${i}`);
  const webhooks = new Map<string, string[]>();
  for (const tenantId of tenants) {
    const viewer = { tenantId, actorId: 'bench', appId: null, scopes: new Set(), via: 'jwt' } as never;
    const scope = { viewer, db: forTenant(prisma, tenantId), services: app.services };
    const ids: string[] = [];
    for (let w = 0; w < WEBHOOKS; w++) {
      const created = await createWebhook(scope as never, {
        name: `soak ${w}`,
        url: 'http://127.0.0.1:9/soak',
        eventTypes: ['webhook.test'],
      });
      ids.push(created.webhook.id);
    }
    webhooks.set(tenantId, ids);
  }
  const probe = tenants[0]!;
  const token = await new SignJWT({ tenant_id: probe })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('bench')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(SECRET));

  const perTenant = Math.ceil(EVENTS / TENANTS);
  const spanMs = DAYS * DAY_MS;
  /** Inserts events from..to (1-based, of perTenant) for every tenant; rows per second. */
  async function insert(from: number, to: number): Promise<number> {
    const started = performance.now();
    for (const tenantId of tenants) {
      for (let i = from; i <= to; i += CHUNK) {
        const last = Math.min(to, i + CHUNK - 1);
        await transactionInRowScope(prisma, { tenantId }, (tx) =>
          tx.$executeRawUnsafe(INSERT_HISTORY, i, last, perTenant, spanMs, tenantId, webhooks.get(tenantId)!),
        );
      }
    }
    return ((to - from + 1) * tenants.length) / ((performance.now() - started) / 1000);
  }

  async function latency(): Promise<Record<string, { median: number; p95: number }>> {
    const out: Record<string, { median: number; p95: number }> = {};
    for (const [name, query] of Object.entries(PAGES)) {
      const times: number[] = [];
      for (let i = 0; i < SAMPLES + 3; i++) {
        const started = performance.now();
        const send = () =>
          fetch(`${url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ query, variables: { id: webhookGlobalId(webhooks.get(probe)![0]!) } }),
          });
        // a warm-up may find its pooled socket closed by the server's keep-alive timeout during a
        // long insert or purge (ECONNRESET): it is sent again; a measured request never is
        const res = await send().catch((err: unknown) => (i < 3 ? send() : Promise.reject(err)));
        const body = (await res.json()) as { errors?: unknown[] };
        if (body.errors) throw new Error(`${name}: ${JSON.stringify(body.errors).slice(0, 300)}`);
        if (i >= 3) times.push(performance.now() - started); // the first few warm the caches
      }
      times.sort((a, b) => a - b);
      out[name] = { median: times[Math.floor(times.length / 2)]!, p95: times[Math.floor(times.length * 0.95)]! };
    }
    return out;
  }

  async function sizes(): Promise<Record<string, number>> {
    const rows = await prisma.$queryRawUnsafe<{ name: string; bytes: bigint }[]>(
      `SELECT t AS name, pg_total_relation_size(format('%I', t)::regclass) AS bytes FROM unnest($1::text[]) t`,
      [...TABLES],
    );
    return Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)]));
  }

  async function plans(): Promise<Record<string, string>> {
    const since = new Date(Date.now() - 30 * DAY_MS);
    const out: Record<string, string> = {};
    for (const [name, sql] of Object.entries(PLANS)) {
      const rows = await transactionInRowScope(prisma, { tenantId: probe }, (tx) =>
        tx.$queryRawUnsafe(`EXPLAIN ${sql}`, ...[probe, since, webhooks.get(probe)![0]!].slice(0, sql.includes('$3') ? 3 : 2)),
      );
      const lines = (rows as { 'QUERY PLAN': string }[]).map((r) => r['QUERY PLAN'].trim());
      out[name] = lines.filter((l) => /Scan/.test(l)).join(' | ');
    }
    return out;
  }

  const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;
  const show = (label: string, pages: Record<string, { median: number; p95: number }>) => {
    console.log(label);
    for (const [name, t] of Object.entries(pages))
      console.log(`  ${name.padEnd(46)} median ${t.median.toFixed(1)} ms, p95 ${t.p95.toFixed(1)} ms`);
  };

  const warm = Math.min(perTenant, 100);
  console.log(
    `soak: ${perTenant * TENANTS} events (+ one delivery and one attempt each) over ${DAYS} days, ${TENANTS} tenants x ${WEBHOOKS} webhooks, database ${app.database.kind}`,
  );
  // the newest `warm` events of each tenant first: the pages then hold the same newest rows as at the end
  await insert(perTenant - warm + 1, perTenant);
  await prisma.$executeRawUnsafe('ANALYZE');
  const sizeStart = await sizes();
  show(`page latency with ${warm * TENANTS} events`, await latency());
  const rate = await insert(1, perTenant - warm);
  console.log(`inserted at ${Math.round(rate)} events/s (each with its delivery and attempt)`);
  await prisma.$executeRawUnsafe('ANALYZE');
  const sizeFull = await sizes();
  show(`page latency with ${perTenant * TENANTS} events`, await latency());
  for (const [name, plan] of Object.entries(await plans())) {
    console.log(`  plan, ${name}: ${plan}${/Seq Scan/.test(plan) ? '   <- SEQUENTIAL SCAN' : ''}`);
  }

  const started = performance.now();
  const purged = await purgeExpired(prisma, config.retention);
  const seconds = (performance.now() - started) / 1000;
  const deleted = Object.values(purged.deleted).reduce((a, b) => a + b, 0);
  console.log(
    `expired one day (DATA_RETENTION=30d of ${DAYS} days): ${deleted} rows (${purged.deleted.Event} events, ${purged.deleted.WebhookDelivery} deliveries, ${purged.deleted.DeliveryAttempt} attempts) in ${seconds.toFixed(1)} s, ${Math.round(deleted / seconds)} rows/s`,
  );
  await prisma.$executeRawUnsafe('ANALYZE');
  const sizeAfter = await sizes();
  show('page latency after the purge', await latency());
  console.log('table sizes (pg_total_relation_size: heap, indexes, TOAST; deleted space is reused, not returned)');
  for (const t of TABLES)
    console.log(
      `  ${t.padEnd(16)} ${mb(sizeStart[t]!).padStart(10)} -> ${mb(sizeFull[t]!).padStart(10)} -> after purge ${mb(sizeAfter[t]!).padStart(10)}`,
    );
} catch (err) {
  console.error('soak failed:', err, warnings.join(''));
  process.exitCode = 1;
} finally {
  await app.close();
  await database?.drop();
}
