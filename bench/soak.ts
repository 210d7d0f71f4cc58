/**
 * `npm run bench -- --only soak`: a large history inserted fast with SQL (generate_series), then
 * newest-first page latency with little history and with all of it (it should stay flat: the pages
 * walk indexes), the query plans of those pages, the time the retention pass takes to expire one
 * day of it, and table sizes before and after. On PostgreSQL the history lands in daily partitions
 * made beforehand and the day expires by dropping them; on PGlite, by the batched purge. Not part
 * of the default run. docs/performance.md (Soak).
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
import { maintainPartitions, PARTITION_DAYS_AHEAD } from '../src/retention/partitions.ts';
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
/** Partitioned by day on PostgreSQL servers (AuditEntry by month; the soak writes none of it). */
const DAILY = ['Event', 'WebhookDelivery', 'DeliveryAttempt', 'Operation', 'OperationAttempt'] as const;
/** A partition's attempts partition, dropped with it (migration history_partitions). */
const CHILD: Record<string, string> = { WebhookDelivery: 'DeliveryAttempt', Operation: 'OperationAttempt' };

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

/** Statements like the ones those pages run (with the retention rule), for EXPLAIN ANALYZE. */
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
const partitioned = app.database.kind === 'postgres';
/** A `timestamp` (UTC, no zone) literal, as rows store times. */
const sqlTime = (ms: number) => new Date(ms).toISOString().slice(0, 23).replace('T', ' ');

try {
  // On a server the history starts at the start of a UTC day, so the oldest day's partitions hold
  // a whole day when they are dropped; embedded, DAYS days before now (the batched purge's cutoff is a time, not a day).
  const spanMs = partitioned ? Date.now() - (Math.floor(Date.now() / DAY_MS) - DAYS) * DAY_MS : DAYS * DAY_MS;
  let made = 0;
  if (partitioned) {
    // before any row (a day's partition is not made while the default partition holds rows of it),
    // as the owner (the service's role may only make the days ahead), and as far ahead as the
    // service makes them, so that the timed pass below makes only what a day's run would
    const [row] = await app.database.asOwner(({ prisma: owner }) =>
      owner.$queryRawUnsafe<{ n: number }[]>(
        'SELECT sum(icp_create_partitions(t, $1::timestamp, $2::timestamp))::int AS n FROM unnest($3::text[]) t',
        sqlTime(Date.now() - spanMs),
        sqlTime(Date.now() + PARTITION_DAYS_AHEAD * DAY_MS),
        [...DAILY],
      ),
    );
    made = row?.n ?? 0;
  }
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

  /** Bytes per table, its partitions summed (a partitioned table itself stores nothing). */
  async function sizes(): Promise<Record<string, { bytes: number; partitions: number }>> {
    const rows = await prisma.$queryRawUnsafe<{ name: string; bytes: bigint; partitions: number }[]>(
      `SELECT t AS name, sum(pg_total_relation_size(p.relid))::bigint AS bytes, (count(*) FILTER (WHERE p.isleaf))::int AS partitions
         FROM unnest($1::text[]) t, pg_partition_tree(format('%I', t)::regclass) p GROUP BY t`,
      [...TABLES],
    );
    return Object.fromEntries(rows.map((r) => [r.name, { bytes: Number(r.bytes), partitions: r.partitions }]));
  }

  /** Rows per partition of the daily tables, as ANALYZE last estimated them (pg_class.reltuples): no scan. */
  async function partitionRows(): Promise<Map<string, number>> {
    const rows = await prisma.$queryRawUnsafe<{ name: string; n: number }[]>(
      `SELECT c.relname AS name, greatest(c.reltuples, 0)::float8 AS n
         FROM unnest($1::text[]) t, pg_partition_tree(format('%I', t)::regclass) p JOIN pg_class c ON c.oid = p.relid
        WHERE p.isleaf`,
      [...DAILY],
    );
    return new Map(rows.map((r) => [r.name, r.n]));
  }

  /**
   * The plan nodes of each page's statement, run (EXPLAIN ANALYZE: a page is cheap), conditions
   * left out, the children of an Append (its partitions) cut to the first two and the last two.
   */
  async function plans(): Promise<Record<string, string[]>> {
    const since = new Date(Date.now() - 30 * DAY_MS);
    const out: Record<string, string[]> = {};
    for (const [name, sql] of Object.entries(PLANS)) {
      const rows = await transactionInRowScope(prisma, { tenantId: probe }, (tx) =>
        tx.$queryRawUnsafe(
          `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${sql}`,
          ...[probe, since, webhooks.get(probe)![0]!].slice(0, sql.includes('$3') ? 3 : 2),
        ),
      );
      const nodes = (rows as { 'QUERY PLAN': string }[]).map((r) => r['QUERY PLAN']).filter((l, i) => i === 0 || l.includes('->'));
      out[name] = condense(nodes);
    }
    return out;
  }

  function condense(nodes: string[]): string[] {
    const depth = (line: string) => line.search(/\S/);
    const lines: string[] = [];
    for (let i = 0; i < nodes.length; ) {
      const parent = nodes[i++]!;
      lines.push(parent);
      if (!/Append/.test(parent)) continue;
      const children: string[][] = [];
      const first = depth(nodes[i] ?? '');
      while (i < nodes.length && depth(nodes[i]!) > depth(parent)) {
        if (depth(nodes[i]!) === first) children.push([]);
        children.at(-1)!.push(nodes[i++]!);
      }
      if (children.length <= 5) {
        lines.push(...children.flat());
        continue;
      }
      const middle = children.slice(2, -2);
      const idle = middle.filter((c) => c.some((l) => l.includes('never executed'))).length;
      lines.push(
        ...children.slice(0, 2).flat(),
        `${' '.repeat(first)}… ${middle.length} more partitions like these (${idle} never executed)`,
        ...children.slice(-2).flat(),
      );
    }
    return lines;
  }

  const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;
  const show = (label: string, pages: Record<string, { median: number; p95: number }>) => {
    console.log(label);
    for (const [name, t] of Object.entries(pages))
      console.log(`  ${name.padEnd(46)} median ${t.median.toFixed(1)} ms, p95 ${t.p95.toFixed(1)} ms`);
  };

  const warm = Math.min(perTenant, 100);
  console.log(
    `soak: ${perTenant * TENANTS} events (+ one delivery and one attempt each) over ${(spanMs / DAY_MS).toFixed(1)} days, ${TENANTS} tenants x ${WEBHOOKS} webhooks, database ${app.database.kind}`,
  );
  if (partitioned) {
    console.log(`daily partitions made beforehand, as the owner (icp_create_partitions): ${made} for ${DAILY.join(', ')}`);
  }
  // the newest `warm` events of each tenant first: the pages then hold the same newest rows as at the end
  await insert(perTenant - warm + 1, perTenant);
  await prisma.$executeRawUnsafe('ANALYZE');
  const sizeStart = await sizes();
  show(`page latency with ${warm * TENANTS} events`, await latency());
  const rate = await insert(1, perTenant - warm);
  console.log(`inserted at ${Math.round(rate)} events/s (each with its delivery and attempt)`);
  await prisma.$executeRawUnsafe('ANALYZE');
  const sizeFull = await sizes();
  if (partitioned) {
    const rows = [...(await partitionRows())];
    const held = (pick: (name: string) => boolean) => Math.round(rows.reduce((n, [name, r]) => n + (pick(name) ? r : 0), 0));
    console.log(
      `rows in day partitions ~${held((n) => /_p\d+$/.test(n))}, in default partitions ~${held((n) => n.endsWith('_default'))} (reltuples; every id is uuid(7) of its row's time)`,
    );
  }
  show(`page latency with ${perTenant * TENANTS} events`, await latency());
  for (const [name, plan] of Object.entries(await plans())) {
    const flags = [
      plan.some((l) => /Seq Scan/.test(l)) && 'SEQUENTIAL SCAN',
      plan.some((l) => /-> {2}Sort|^Sort/.test(l.trim())) && 'SORT',
      plan.some((l) => /Merge Append/.test(l)) && 'MERGE APPEND: every partition is read, not an Append in order',
    ].filter(Boolean);
    console.log(`  plan, ${name} (EXPLAIN ANALYZE)${flags.length ? `   <- ${flags.join(', ')}` : ''}`);
    for (const line of plan) console.log(`    ${line}`);
  }

  // the service's pass: partitions first, then the batched purge of what they do not hold
  const rowsBefore = partitioned ? await partitionRows() : new Map<string, number>();
  const started = performance.now();
  const dropping = partitioned ? await maintainPartitions(prisma, config.retention) : null;
  const dropSeconds = (performance.now() - started) / 1000;
  const purged = await purgeExpired(prisma, config.retention);
  const seconds = (performance.now() - started) / 1000;
  const deleted = Object.values(purged.deleted).reduce((a, b) => a + b, 0);
  const batched = `${deleted} rows (${purged.deleted.Event} events, ${purged.deleted.WebhookDelivery} deliveries, ${purged.deleted.DeliveryAttempt} attempts)`;
  if (dropping) {
    const dropped = dropping.dropped.flatMap((name) => {
      const table = name.replace(/_p\d+$/, '');
      return [name, ...(CHILD[table] ? [CHILD[table] + name.slice(table.length)] : [])];
    });
    const held = dropped.reduce((sum, name) => sum + (rowsBefore.get(name) ?? 0), 0);
    console.log(
      `expired one day (DATA_RETENTION=30d of ${(spanMs / DAY_MS).toFixed(1)} days) by the service's pass in ${seconds.toFixed(2)} s: ` +
        `maintainPartitions ${dropSeconds.toFixed(2)} s (${dropping.created} made ahead, ${dropped.length} dropped holding ~${Math.round(held)} rows, ` +
        `${dropping.kept.length} kept${dropping.failed.length ? `, ${dropping.failed.length} not made` : ''}${dropping.yielded ? ', yielded' : ''}), then the batched purge ${(seconds - dropSeconds).toFixed(2)} s: ${batched}`,
    );
    for (const name of dropped) console.log(`  dropped ${name.padEnd(28)} ~${Math.round(rowsBefore.get(name) ?? 0)} rows`);
    for (const name of dropping.kept) console.log(`  kept    ${name}`);
    for (const why of dropping.failed) console.log(`  not made ${why}`);
    console.log(
      '  (rows: pg_class.reltuples after ANALYZE, an estimate; expired rows of the day the cutoff falls in stay, unread, until that day expires whole)',
    );
  } else {
    console.log(
      `expired one day (DATA_RETENTION=30d of ${DAYS} days) by the batched purge: ${batched} in ${seconds.toFixed(1)} s, ${Math.round(deleted / seconds)} rows/s`,
    );
  }
  await prisma.$executeRawUnsafe('ANALYZE');
  const sizeAfter = await sizes();
  show('page latency after the purge', await latency());
  console.log(
    `table sizes (pg_total_relation_size summed over each table's partitions: heap, indexes, TOAST; ${partitioned ? 'a dropped partition returns its space' : 'deleted space is reused, not returned'})`,
  );
  for (const t of TABLES)
    console.log(
      `  ${t.padEnd(16)} ${mb(sizeStart[t]!.bytes).padStart(10)} -> ${mb(sizeFull[t]!.bytes).padStart(10)} -> after purge ${mb(sizeAfter[t]!.bytes).padStart(10)}` +
        ` (${sizeFull[t]!.partitions} -> ${sizeAfter[t]!.partitions} partitions)`,
    );
} catch (err) {
  console.error('soak failed:', err, warnings.join(''));
  process.exitCode = 1;
} finally {
  await app.close();
  await database?.drop();
}
