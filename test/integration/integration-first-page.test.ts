/**
 * The first page of integrations read in SQL (src/integrations/first-page.ts over
 * src/db/row-reader.ts) against Prisma's own read of the same rows: every column, type and order
 * the same, filters included; row-level security applies to it; its transaction is read-only; and
 * the GraphQL page that uses it answers as the Prisma path does for the pages after it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantMismatchError } from '../../src/db/row-reader.ts';
import { forTenant } from '../../src/db/tenant.ts';
import { readFirstIntegrationPage } from '../../src/integrations/first-page.ts';
import { SEALED_COLUMNS } from '../../src/integrations/present.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';

const TENANT = 'first-page';
const OTHER = 'first-page-other';
let server: TestServer;

/** Rows as varied as the columns allow: nulls and values, nested JSON, arrays, every status. */
const ROWS = [
  { provider: 'twilio', status: 'ACTIVE', verifiedAt: new Date('2026-11-30T10:11:12.345Z'), appId: 'app-1', createdBy: 'user-1' },
  { provider: 'stripe', status: 'ERROR', lastError: 'Stripe rejected the credentials (HTTP 401)', verifiedRevision: 2 },
  { provider: 'sendgrid', status: 'INACTIVE', metadata: { team: 'growth', tags: ['a', 'b'], nested: { n: 1, ok: true, none: null } } },
  { provider: 'openai', status: 'PENDING_VERIFY', enabledCapabilities: [], secretKeys: [] },
  { provider: 'plivo', status: 'ACTIVE', deletedAt: new Date('2026-12-01T00:00:00.001Z'), deletedBy: 'user-2' },
] as const;

beforeAll(async () => {
  server = await startTestServer();
  const { prisma } = server.app.database;
  let n = 0;
  for (const [tenant, rows] of [
    [TENANT, ROWS],
    [OTHER, ROWS.slice(0, 2)],
  ] as const) {
    const db = forTenant(prisma, tenant);
    for (const row of rows) {
      n++;
      await db.integration.create({
        data: {
          tenantId: tenant,
          enabledCapabilities: ['send_sms', 'send_whatsapp'],
          config: { account_sid: `AC${n}`, from_number: '+15550000001' },
          secretKeys: ['auth_token'],
          inboundToken: `first-page-token-${n}`,
          updatedBy: 'user-3',
          ...row,
        } as never,
      });
    }
  }
}, 60_000);

afterAll(() => server?.close());

const prismaPage = (tenant: string, where: Record<string, unknown> = {}, take = 25) =>
  forTenant(server.app.database.prisma, tenant).integration.findMany({
    where,
    omit: SEALED_COLUMNS,
    orderBy: { id: 'desc' },
    take,
  });

describe('the first integrations page in SQL', () => {
  it('reads the rows Prisma reads, column for column and in the same order', async () => {
    const expected = await prismaPage(TENANT);
    expect(expected).toHaveLength(4); // the deleted one left out
    expect(await readFirstIntegrationPage(server.app.services.reader, TENANT, {}, 25)).toEqual({ rows: expected, totalCount: 4 });
    // a row with every optional column null compares too, and no sealed column is read
    const {
      rows: [row],
    } = await readFirstIntegrationPage(server.app.services.reader, TENANT, { providers: ['openai'] }, 25);
    expect(row).toEqual(expected.find((r) => r.provider === 'openai'));
    expect(Object.keys(row!)).not.toContain('secretCiphertext');
  });

  it('filters and cuts as the Prisma read does', async () => {
    const reader = server.app.services.reader;
    expect(await readFirstIntegrationPage(reader, TENANT, { status: 'ACTIVE' }, 25)).toEqual({
      rows: await prismaPage(TENANT, { status: 'ACTIVE' }),
      totalCount: 1,
    });
    expect(await readFirstIntegrationPage(reader, TENANT, { providers: ['stripe', 'sendgrid'] }, 25)).toEqual({
      rows: await prismaPage(TENANT, { provider: { in: ['stripe', 'sendgrid'] } }),
      totalCount: 2,
    });
    expect(await readFirstIntegrationPage(reader, TENANT, { providers: [] }, 25)).toEqual({ rows: [], totalCount: 0 });
    // cut short: the count is of every matching row
    expect(await readFirstIntegrationPage(reader, TENANT, {}, 2)).toEqual({ rows: await prismaPage(TENANT, {}, 2), totalCount: 4 });
  });

  it('sees one tenant only: the SQL names it, and row-level security holds without it', async () => {
    const reader = server.app.services.reader;
    const other = await readFirstIntegrationPage(reader, OTHER, {}, 25);
    expect(other.rows.map((r) => r.tenantId)).toEqual([OTHER, OTHER]);
    // the read names OTHER; a statement that asks for TENANT's rows gets none, and one with no
    // tenant filter of its own gets OTHER's rows only
    expect(await reader.read(OTHER, 'SELECT "tenantId", id FROM "Integration" WHERE "tenantId" = $1', [TENANT])).toEqual([]);
    expect(await reader.read(OTHER, 'SELECT "tenantId", count(*)::int AS n FROM "Integration" GROUP BY 1', [])).toEqual([
      { tenantId: OTHER, n: 2 },
    ]);
    // a row that is not the tenant's own (here made up by the statement) fails the read
    await expect(reader.read(OTHER, `SELECT $1::text AS "tenantId"`, [TENANT])).rejects.toThrow(TenantMismatchError);
  });

  it('names each read’s own tenant when reads of several tenants share the connections', async () => {
    const reader = server.app.services.reader;
    // more reads at once than the reader has connections, tenants interleaved, many times over
    const tenants = Array.from({ length: 60 }, (_, i) => [TENANT, OTHER, 'first-page-nobody'][i % 3]!);
    const counts = await Promise.all(
      tenants.map((tenant) => reader.read<{ tenantId: string }>(tenant, 'SELECT "tenantId" FROM "Integration"', [])),
    );
    counts.forEach((rows, i) => {
      expect(rows.length).toBe({ [TENANT]: 5, [OTHER]: 2 }[tenants[i]!] ?? 0);
      expect(rows.every((r) => r.tenantId === tenants[i])).toBe(true);
    });
  });

  it('runs read-only: a write is refused, nothing changes, and the next read works', async () => {
    const reader = server.app.services.reader;
    await expect(
      reader.read(TENANT, 'UPDATE "Integration" SET "lastError" = $1 WHERE "tenantId" = $2 RETURNING "tenantId"', ['x', TENANT]),
    ).rejects.toMatchObject({ code: '25006' }); // read_only_sql_transaction
    expect((await prismaPage(TENANT)).map((r) => r.lastError)).not.toContain('x');
    // a failed read leaves its connection usable (rolled back), several times over the pool's size
    for (let i = 0; i < 12; i++) {
      await expect(reader.read(TENANT, 'SELECT $1::text AS "tenantId", 1/0 AS x', [TENANT])).rejects.toMatchObject({ code: '22012' });
    }
    expect((await readFirstIntegrationPage(reader, TENANT, {}, 25)).rows).toHaveLength(4);
  });

  it.runIf(process.env.TEST_DATABASE_URL)(
    'fails a read that finds no rows while its session names another tenant, and drops that connection (PostgreSQL)',
    async () => {
      const reader = server.app.services.reader;
      // a statement that moves the session's tenant (as a pooler sharing sessions would) and returns nothing
      const moved = `WITH c AS MATERIALIZED (SELECT set_config('app.tenant_id', $2, false) AS v) SELECT v AS "tenantId" FROM c WHERE v = $1`;
      await expect(reader.read(TENANT, moved, [TENANT, 'first-page-someone-else'])).rejects.toThrow(TenantMismatchError);
      // every connection then names its read's own tenant again
      for (let i = 0; i < 8; i++) expect((await readFirstIntegrationPage(reader, TENANT, {}, 25)).totalCount).toBe(4);
    },
  );

  it.runIf(process.env.TEST_DATABASE_URL)('reads again after the server closed the reader’s connections (PostgreSQL)', async () => {
    const reader = server.app.services.reader;
    // the reader's connections are open and idle
    await Promise.all(Array.from({ length: 8 }, () => readFirstIntegrationPage(reader, TENANT, {}, 25)));
    const admin = new pg.Client({ connectionString: server.databaseUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'icp-reads' AND datname = current_database()`,
      );
      expect(rows.length).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    // a connection closed while idle is dropped by the pool; one closed under a read fails that read
    // and is not reused: within a few reads every one succeeds again, each with its own tenant's rows
    await eventually(
      async () => {
        const pages = await Promise.allSettled(Array.from({ length: 8 }, () => readFirstIntegrationPage(reader, TENANT, {}, 25)));
        return pages.every((p) => p.status === 'fulfilled' && p.value.totalCount === 4) ? true : undefined;
      },
      10_000,
      'reads to succeed again',
    );
    expect((await readFirstIntegrationPage(reader, OTHER, {}, 25)).totalCount).toBe(2);
  });

  it('answers the GraphQL page as before: first page in SQL, the next one through Prisma, the same nodes', async () => {
    const token = await server.token({ tenant_id: TENANT });
    const query = `query($first: Int, $after: String) { integrations(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id status provider { name } verifiedAt lastError metadata credentials } } } }`;
    const first = (await server.gql(query, { first: 2 }, { token })).data.integrations;
    const next = (await server.gql(query, { first: 2, after: first.pageInfo.endCursor }, { token })).data.integrations;
    const all = (await server.gql(query, { first: 25 }, { token })).data.integrations;
    expect(all.totalCount).toBe(4);
    expect(first.totalCount).toBe(4);
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect(next.pageInfo.hasNextPage).toBe(false);
    expect([...first.edges, ...next.edges]).toEqual(all.edges);
    expect(all.edges.map((e: { node: { provider: { name: string } } }) => e.node.provider.name)).toEqual(
      (await prismaPage(TENANT)).map((r) => r.provider),
    );
  });
});
