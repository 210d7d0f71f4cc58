/**
 * The first page of webhooks read in SQL (src/webhooks/first-page.ts: one call of icp_webhook_page_v2
 * over src/db/row-reader.ts) against Prisma's own read of the same arguments: every webhook column
 * but the sealed ones, each webhook's newest deliveries with their events and last attempts, the
 * counts, in the same order and with the same types, for the argument shapes plugin-prisma builds;
 * filters and retention as the Prisma path applies them; one tenant only; and the shapes it does
 * not answer left to Prisma.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowReader } from '../../src/db/row-reader.ts';
import { forTenant } from '../../src/db/tenant.ts';
import { SEALED_WEBHOOK_COLUMNS } from '../../src/schema/client.ts';
import { readWebhookPage, type WebhookPageFilter, webhookPageShape } from '../../src/webhooks/first-page.ts';
import { patternsReceiving, webhookListWhere } from '../../src/webhooks/service.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { retainedDeliveries, webhookPageArgs } from '../helpers/webhook-page.ts';

const TENANT = 'webhook-page';
const OTHER = 'webhook-page-other';
const DAY_MS = 86_400_000;
const SEALED = Object.keys(SEALED_WEBHOOK_COLUMNS);
const bytes = (n: number) => new Uint8Array(Array.from({ length: n }, (_, i) => (i * 7 + n) % 256));

let server: TestServer;

/** A webhook row as the service stores one, sealed columns filled with bytes no read may give back. */
const webhookRow = (tenantId: string, i: number, extra: Record<string, unknown> = {}) => ({
  tenantId,
  name: `page ${i}`,
  url: `https://hooks.example.com/${i}`,
  eventTypes: ['webhook.test'],
  headers: { 'x-a': null, 'x-b': null },
  headersKeyId: 'k1',
  headersDataKey: bytes(40),
  headersIv: bytes(12),
  headersTag: bytes(16),
  headersCiphertext: bytes(33),
  maxAttempts: 8,
  timeoutMs: 15_000,
  secretKeyId: 'k1',
  secretDataKey: bytes(40),
  secretIv: bytes(12),
  secretTag: bytes(16),
  secretCiphertext: bytes(32),
  secretFingerprint: `fp-${i}`,
  ...extra,
});

/** Deliveries of `webhookId`, each with its event and `attempts` attempts, oldest first. */
async function deliveries(tenantId: string, webhookId: string, specs: { status: string; attempts: number; updatedAt?: Date }[]) {
  const db = forTenant(server.app.database.prisma, tenantId);
  for (const [n, spec] of specs.entries()) {
    const event = await db.event.create({
      data: { tenantId, type: 'webhook.test', payload: { n, nested: { list: [1, 'two', null] } }, subjectId: n % 2 ? `s-${n}` : null },
    });
    const delivery = await db.webhookDelivery.create({
      data: {
        tenantId,
        webhookId,
        eventId: event.id,
        status: spec.status as never,
        attemptCount: spec.attempts,
        nextAttemptAt: spec.status === 'PENDING' ? new Date('2026-12-31T23:59:59.999Z') : null,
        ...(spec.updatedAt ? { updatedAt: spec.updatedAt } : {}),
      },
    });
    for (let a = 1; a <= spec.attempts; a++) {
      await db.deliveryAttempt.create({
        data: {
          tenantId,
          deliveryId: delivery.id,
          attemptNumber: a,
          startedAt: new Date(Date.UTC(2026, 11, 1, 0, 0, a, a)),
          durationMs: 10 * a,
          responseStatus: a % 3 === 0 ? null : 500 + a,
          error: a % 3 === 0 ? 'connection refused' : null,
          responseBody: a % 3 === 0 ? null : `body ${a}`,
        },
      });
    }
  }
}

beforeAll(async () => {
  server = await startTestServer();
  const db = forTenant(server.app.database.prisma, TENANT);
  const created = [];
  for (let i = 0; i < 5; i++) {
    const extra = [
      {
        appId: 'app-1',
        tags: ['blue', 'green'],
        createdBy: 'user-1',
        lastDeliveryAt: new Date('2026-12-02T10:00:00.5Z'),
        lastDeliveryStatus: '200',
      },
      {
        status: 'PAUSED',
        pausedAt: new Date('2026-12-02T11:00:00Z'),
        consecutiveFailures: 7,
        eventTypes: ['integration.*'],
        tags: ['blue'],
      },
      {
        eventTypes: ['*'],
        connectorId: 'conn-1',
        previousSecretKeyId: 'k0',
        previousSecretCiphertext: bytes(32),
        previousSecretExpiresAt: new Date('2026-12-09T00:00:00Z'),
      },
      {
        deletedAt: new Date('2026-12-03T00:00:00Z'),
        deletedBy: 'user-2',
        status: 'DISABLED',
        disabledAt: new Date('2026-12-03T00:00:00Z'),
      },
      { sourceType: 'FRONTEND', source: 'console', eventTypes: ['integration.status_changed'] },
    ][i]!;
    created.push(await db.webhook.create({ data: webhookRow(TENANT, i, extra) as never }));
  }
  const long = Date.now() - 40 * DAY_MS;
  // newest last: 12 attempts on one (the page lists the last 10), an old ended one retention hides, an old PENDING one it keeps
  await deliveries(TENANT, created[0]!.id, [
    { status: 'PENDING', attempts: 2, updatedAt: new Date(long) },
    { status: 'SUCCEEDED', attempts: 1, updatedAt: new Date(long) },
    { status: 'FAILED', attempts: 12 },
    { status: 'SUCCEEDED', attempts: 1 },
    { status: 'FAILED', attempts: 3 },
    { status: 'SUCCEEDED', attempts: 0 },
  ]);
  await deliveries(TENANT, created[1]!.id, [{ status: 'FAILED', attempts: 2 }]);
  await deliveries(TENANT, created[3]!.id, [{ status: 'SUCCEEDED', attempts: 1 }]);
  const other = forTenant(server.app.database.prisma, OTHER);
  const theirs = await other.webhook.create({ data: webhookRow(OTHER, 9) as never });
  await deliveries(OTHER, theirs.id, [{ status: 'SUCCEEDED', attempts: 1 }]);
}, 60_000);

afterAll(() => server?.close());

const retained = (status?: string) => retainedDeliveries(server.app.database.prisma, status);

/** The arguments plugin-prisma builds for the bench's page (webhooks, deliveries(first: 3) with totalCount, events, attempts). */
const benchQuery = (take = 26, first = 3, status?: string) => webhookPageArgs(server.app.database.prisma, take, first, status);

/** Reads on one transaction's connection (one session, so the function's kept plans are those of that session). */
const inTransaction = (tx: { $queryRawUnsafe<T>(sql: string, ...values: unknown[]): Promise<T> }): RowReader => ({
  read: <T>(sql: string, values: readonly unknown[]) => tx.$queryRawUnsafe<T[]>(sql, ...values),
});

const NO_FILTER: WebhookPageFilter = { appId: null, status: null, tag: null, eventTypes: null, includeDeleted: false };

/** Prisma's read of the same arguments, as the webhooks field made it before (src/schema/webhook.ts). */
function prismaPage(tenant: string, query: Record<string, unknown>, filter: Partial<WebhookPageFilter> & { eventType?: string } = {}) {
  const where = webhookListWhere(
    { viewer: { appId: filter.appId ?? undefined } } as never,
    { status: filter.status, tag: filter.tag, eventType: filter.eventType, includeDeleted: filter.includeDeleted } as never,
  );
  return forTenant(server.app.database.prisma, tenant).webhook.findMany({
    ...query,
    where,
    orderBy: { id: 'desc' },
    omit: SEALED_WEBHOOK_COLUMNS,
  } as never);
}

async function sqlPage(tenant: string, query: Record<string, unknown>, filter: Partial<WebhookPageFilter> = {}) {
  const shape = webhookPageShape(query);
  expect(shape, JSON.stringify(query)).toBeDefined();
  return readWebhookPage(server.app.services.reader, tenant, { ...NO_FILTER, ...filter }, shape!);
}

describe('the first webhooks page in SQL', () => {
  it('reads what Prisma reads for the bench’s page: columns, deliveries, events, attempts and counts', async () => {
    const expected = (await prismaPage(TENANT, benchQuery())) as any[];
    expect(expected).toHaveLength(4); // the deleted one left out
    const page = await sqlPage(TENANT, benchQuery());
    expect(page).toStrictEqual({ rows: expected, totalCount: 4 });
    const first = page.rows.find((r) => r.name === 'page 0') as any;
    // four of five retained deliveries (one more than the page), the last ten of twelve attempts in order
    expect(first._count).toEqual({ deliveries: 5 });
    expect(first.deliveries.map((d: any) => d.status)).toEqual(['SUCCEEDED', 'FAILED', 'SUCCEEDED', 'FAILED']);
    expect(first.deliveries[3].attempts.map((a: any) => a.attemptNumber)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(first.deliveries[0].attempts).toEqual([]);
    expect(first.deliveries[0].createdAt).toBeInstanceOf(Date);
    for (const row of page.rows) for (const column of SEALED) expect(Object.keys(row)).not.toContain(column);

    // what leaves the database: no sealed column, and no payload or response body the page does not show
    let raw: any;
    const reader = server.app.services.reader;
    const seeing = {
      read: async <T>(sql: string, values: readonly unknown[]) => {
        const rows = await reader.read<T>(sql, values);
        // as sent, before the reader turns them into Prisma's shapes
        raw = JSON.parse(JSON.stringify(rows));
        return rows;
      },
    };
    await readWebhookPage(seeing, TENANT, NO_FILTER, webhookPageShape(benchQuery())!);
    expect(JSON.stringify(raw)).toContain('"secretFingerprint"');
    for (const column of SEALED) expect(JSON.stringify(raw)).not.toContain(`"${column}"`);
    const sent = raw[0].page.deliveries.flat();
    expect(sent.length).toBeGreaterThan(3);
    for (const delivery of sent) {
      expect(delivery.event.payload).toBeNull();
      // a delivery's, an event's and an attempt's columns no GraphQL field shows stay in the database
      expect(Object.keys(delivery).sort()).toEqual(['attemptCount', 'attempts', 'createdAt', 'event', 'id', 'nextAttemptAt', 'status']);
      expect(Object.keys(delivery.event).sort()).toEqual(['id', 'occurredAt', 'payload', 'type']);
      for (const attempt of delivery.attempts) {
        expect(attempt.responseBody).toBeNull();
        expect(Object.keys(attempt).sort()).toEqual([
          'attemptNumber',
          'deliveryId',
          'durationMs',
          'error',
          'id',
          'responseBody',
          'responseStatus',
          'startedAt',
        ]);
      }
    }
  });

  it('reads what Prisma reads for other selections: every shown column, a status, a count alone, no relation', async () => {
    const every = <T extends string>(columns: readonly T[]) => Object.fromEntries(columns.map((c) => [c, true])) as Record<T, true>;
    const whole = {
      take: 26,
      skip: 0,
      include: {
        deliveries: {
          where: retained('FAILED'),
          orderBy: { id: 'desc' },
          take: 2,
          skip: 0,
          select: {
            ...every(['id', 'status', 'attemptCount', 'nextAttemptAt', 'createdAt']),
            event: { select: every(['id', 'type', 'payload', 'occurredAt']) },
            attempts: {
              orderBy: { attemptNumber: 'asc' },
              take: -10,
              select: every(['id', 'deliveryId', 'attemptNumber', 'startedAt', 'durationMs', 'responseStatus', 'error', 'responseBody']),
            },
          },
        },
      },
    };
    const expected = (await prismaPage(TENANT, whole)) as any[];
    expect(expected.find((r) => r.name === 'page 0').deliveries[0].event.payload).toEqual({ n: 4, nested: { list: [1, 'two', null] } });
    expect(await sqlPage(TENANT, whole)).toStrictEqual({ rows: expected, totalCount: 4 });
    // a PENDING delivery's next attempt, and deliveries without their event or attempts (a key left undefined is not selected)
    const pending = {
      ...whole,
      include: {
        deliveries: {
          ...whole.include.deliveries,
          where: retained('PENDING'),
          select: { ...every(['id', 'nextAttemptAt']), status: undefined },
        },
      },
    };
    const withPending = (await prismaPage(TENANT, pending)) as any[];
    expect(withPending.find((r) => r.name === 'page 0').deliveries[0].nextAttemptAt).toBeInstanceOf(Date);
    expect(await sqlPage(TENANT, pending)).toStrictEqual({ rows: withPending, totalCount: 4 });

    const countOnly = { take: 3, skip: 0, include: { _count: { select: { deliveries: { where: retained() } } } } };
    expect(await sqlPage(TENANT, countOnly)).toStrictEqual({ rows: await prismaPage(TENANT, countOnly), totalCount: 4 });

    const bare = { take: 2, skip: 0 };
    expect(await sqlPage(TENANT, bare)).toStrictEqual({ rows: await prismaPage(TENANT, bare), totalCount: 4 });
  });

  it('filters as the Prisma read does: status, tag, event type, deleted ones, an application’s own', async () => {
    const q = benchQuery(26, 2);
    const cases: [Partial<WebhookPageFilter>, Record<string, unknown>, number][] = [
      [{ status: 'PAUSED' }, { status: 'PAUSED' }, 1],
      [{ tag: 'blue' }, { tag: 'blue' }, 2],
      [{ eventTypes: patternsReceiving('integration.status_changed') }, { eventType: 'integration.status_changed' }, 3],
      [{ includeDeleted: true }, { includeDeleted: true }, 5],
      [{ appId: 'app-1' }, { appId: 'app-1' }, 1],
      [{ appId: 'app-2' }, { appId: 'app-2' }, 0],
    ];
    for (const [filter, prismaFilter, count] of cases) {
      const expected = await prismaPage(TENANT, q, prismaFilter);
      expect(expected, JSON.stringify(filter)).toHaveLength(count);
      expect(await sqlPage(TENANT, q, filter), JSON.stringify(filter)).toStrictEqual({ rows: expected, totalCount: count });
    }
    // cut short, the count is of every match
    expect(await sqlPage(TENANT, benchQuery(2))).toStrictEqual({ rows: await prismaPage(TENANT, benchQuery(2)), totalCount: 4 });
  });

  it('sees one tenant only, and refuses a call without one', async () => {
    const theirs = await sqlPage(OTHER, benchQuery());
    expect(theirs.totalCount).toBe(1);
    expect(theirs.rows.map((r) => r.tenantId)).toEqual([OTHER]);
    expect(theirs).toStrictEqual({ rows: await prismaPage(OTHER, benchQuery()), totalCount: 1 });
    expect(await sqlPage('webhook-page-nobody', benchQuery())).toEqual({ rows: [], totalCount: 0 });
    await expect(readWebhookPage(server.app.services.reader, '', NO_FILTER, webhookPageShape(benchQuery())!)).rejects.toMatchObject({
      code: '22004',
    });
    const [after] = await server.app.services.reader.read<{ t: string | null }>(`SELECT current_setting('app.tenant_id', true) AS t`, []);
    expect(after!.t ?? '').toBe('');
  });

  it('keeps the previous release’s icp_webhook_page, in its own shape, for a rolling upgrade', async () => {
    const [read] = await server.app.services.reader.read<{ page: { rows: any[]; matching: number } }>(
      'SELECT icp_webhook_page($1, null, null, null, null, false, 26, 3, null, null, true, true, false, 1, false) AS page',
      [TENANT],
    );
    expect(read!.page.matching).toBe(4);
    const first = read!.page.rows.find((r) => r.name === 'page 0');
    expect(first.deliveries).toHaveLength(3);
    expect(first.deliveries[0].event.type).toBe('webhook.test');
    expect(first._count.deliveries).toBe(6);
  });

  it('reads no delivery, event or attempt a page does not ask for, also once PL/pgSQL keeps a generic plan', async () => {
    const bare = webhookPageShape({ take: 26, skip: 0 })!;
    const full = webhookPageShape(benchQuery())!;
    // scans of the history tables, their partitions and their indexes (an index scan counts on the index), this session's
    const scans = (tx: { $queryRawUnsafe<T>(sql: string): Promise<T> }) =>
      tx.$queryRawUnsafe<{ n: number }[]>(
        `SELECT coalesce(sum(pg_stat_get_xact_numscans(c.oid)), 0)::int AS n FROM pg_class c
          WHERE c.relkind IN ('r', 'i') AND (c.relname LIKE 'WebhookDelivery%' OR c.relname LIKE 'DeliveryAttempt%' OR c.relname LIKE 'Event%')`,
      );
    const scansOf = (shape: typeof bare, calls: number) =>
      server.app.database.prisma.$transaction(async (tx) => {
        const before = (await scans(tx))[0]!.n;
        // within one session: after five calls PL/pgSQL may keep a generic plan of the function's statement
        for (let i = 0; i < calls; i++) await readWebhookPage(inTransaction(tx), TENANT, NO_FILTER, shape);
        return (await scans(tx))[0]!.n - before;
      });
    // alternating, as the console's list and the bench's page would
    for (let round = 0; round < 4; round++) {
      expect(await scansOf(full, 2)).toBeGreaterThan(0);
      expect(await scansOf(bare, 3)).toBe(0);
    }
  });

  it('leaves to Prisma the shapes it does not answer', () => {
    const q = benchQuery();
    const variants: Record<string, unknown>[] = [
      { ...q, cursor: { id: 'x' }, skip: 1 },
      { ...q, take: -26 },
      { ...q, include: { ...q.include, deliveries: { ...q.include.deliveries, cursor: { id: 'x' }, skip: 1 } } },
      { ...q, include: { ...q.include, deliveries: { ...q.include.deliveries, take: -4 } } },
      { ...q, include: { ...q.include, deliveries: { ...q.include.deliveries, orderBy: { createdAt: 'desc' } } } },
      { ...q, include: { ...q.include, deliveries: { ...q.include.deliveries, where: { webhookId: 'x' } } } },
      { ...q, include: { ...q.include, deliveries: { ...q.include.deliveries, select: { id: true, webhook: true } } } },
      // a delivery's whole row, or a column the function does not give (no GraphQL field shows it)
      { ...q, include: { ...q.include, deliveries: { ...q.include.deliveries, select: undefined, include: { event: true } } } },
      { ...q, include: { ...q.include, deliveries: { ...q.include.deliveries, select: { id: true, updatedAt: true } } } },
      {
        ...q,
        include: {
          ...q.include,
          deliveries: { ...q.include.deliveries, select: { event: { select: { id: true, secret: true } } } },
        },
      },
      // an event's or an attempt's whole rows, or a column of theirs the function does not give
      { ...q, include: { ...q.include, deliveries: { ...q.include.deliveries, select: { event: true } } } },
      {
        ...q,
        include: { ...q.include, deliveries: { ...q.include.deliveries, select: { event: { select: { id: true, createdBy: true } } } } },
      },
      {
        ...q,
        include: {
          ...q.include,
          deliveries: {
            ...q.include.deliveries,
            select: { attempts: { orderBy: { attemptNumber: 'asc' }, take: -10, select: { id: true, createdAt: true } } },
          },
        },
      },
      {
        ...q,
        include: {
          ...q.include,
          deliveries: { ...q.include.deliveries, select: { attempts: { orderBy: { attemptNumber: 'asc' }, take: -10 } } },
        },
      },
      { ...q, include: { ...q.include, _count: { select: { deliveries: { where: retained('FAILED') } } } } },
      {
        ...q,
        include: {
          ...q.include,
          _count: { select: { deliveries: { where: { AND: [{ OR: [{ status: 'PENDING' }, { updatedAt: { gte: new Date(0) } }] }] } } } },
        },
      },
      { ...q, select: { id: true } },
    ];
    for (const v of variants) expect(webhookPageShape(v), JSON.stringify(v)).toBeUndefined();
    expect(webhookPageShape(q)).toBeDefined();
  });

  it('shows an application’s credential its own webhooks only, with their deliveries', async () => {
    const NODE = `id name appId deliveries(first: 2) { totalCount edges { node { id status event { type } attempts { attemptNumber } } } }`;
    const pageFor = async (appId: string) => {
      const token = await server.token({ tenant_id: TENANT, app_id: appId });
      const res = await server.gql(`{ webhooks(first: 10) { totalCount edges { node { ${NODE} } } } }`, {}, { token });
      expect(res.errors).toBeUndefined();
      return { token, page: res.data.webhooks };
    };
    const { token, page } = await pageFor('app-1');
    expect(page.totalCount).toBe(1);
    expect(page.edges).toHaveLength(1);
    const { node } = page.edges[0];
    expect(node).toMatchObject({ name: 'page 0', appId: 'app-1', deliveries: { totalCount: 5 } });
    expect(node.deliveries.edges).toHaveLength(2);
    const one = await server.gql(`query($id: ID!) { webhook(id: $id) { ${NODE} } }`, { id: node.id }, { token });
    expect(one.data.webhook).toEqual(node);
    expect((await pageFor('app-2')).page).toEqual({ totalCount: 0, edges: [] });
  });

  it('answers the GraphQL page as the Prisma path does for the same webhooks read one by one', async () => {
    const token = await server.token({ tenant_id: TENANT });
    const NODE = `id name url status eventTypes headers tags source sourceType connectorId appId createdBy lastDeliveryAt lastDeliveryStatus
      retryPolicy { maxAttempts timeoutMs } deliveries(first: 3) { totalCount pageInfo { hasNextPage } edges { cursor node {
        id status attemptCount nextAttemptAt createdAt event { id type occurredAt payload } attempts { attemptNumber responseStatus responseBody error durationMs startedAt } } } }`;
    const before = server.queries.length;
    const page = await server.gql(
      `{ webhooks(first: 10) { totalCount edges { node { ${NODE} } } } }`,
      {},
      { token, headers: { 'cache-control': 'no-cache' } },
    );
    expect(page.errors).toBeUndefined();
    // one call: the page, what it includes and its count
    expect(server.queries.slice(before).filter((sql) => !/^\s*(BEGIN|COMMIT)/i.test(sql))).toEqual([
      expect.stringMatching(/icp_webhook_page_v2\(/),
    ]);
    expect(page.data.webhooks.totalCount).toBe(4);
    for (const { node } of page.data.webhooks.edges) {
      const one = await server.gql(`query($id: ID!) { webhook(id: $id) { ${NODE} } }`, { id: node.id }, { token });
      expect(one.data.webhook, node.name).toEqual(node);
    }
  });
});
