/**
 * The first page of integrations read in SQL (src/integrations/first-page.ts: one call of
 * icp_integration_page over src/db/row-reader.ts) against Prisma's own read of the same rows: every
 * column, type and order the same, filters included; one tenant only, named within the statement
 * and gone from the connection after it; and the GraphQL page that uses it answers as the Prisma
 * path does for the pages after it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    expect(await readFirstIntegrationPage(server.app.services.reader, TENANT, {}, 25)).toStrictEqual({ rows: expected, totalCount: 4 });
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

  it('sees one tenant only, and leaves no tenant on the connection after its statement', async () => {
    const reader = server.app.services.reader;
    const other = await readFirstIntegrationPage(reader, OTHER, {}, 25);
    expect(other.rows.map((r) => r.tenantId)).toEqual([OTHER, OTHER]);
    expect(other.totalCount).toBe(2);
    // the setting is local to the statement's transaction: what runs next on any connection names no tenant
    const after = await Promise.all(
      Array.from({ length: 12 }, () => reader.read<{ t: string | null }>(`SELECT current_setting('app.tenant_id', true) AS t`, [])),
    );
    for (const [row] of after) expect(row!.t ?? '').toBe('');
    // and without a tenant named, the table shows no row
    expect(await reader.read('SELECT id FROM "Integration"', [])).toEqual([]);
    // a call without a tenant is refused rather than read with whatever the connection holds
    await expect(readFirstIntegrationPage(reader, '', {}, 25)).rejects.toMatchObject({ code: '22004' });
  });

  it('names each read’s own tenant when many reads of several tenants run at once', async () => {
    const reader = server.app.services.reader;
    // more reads at once than the pool has connections, tenants interleaved
    const tenants = Array.from({ length: 60 }, (_, i) => [TENANT, OTHER, 'first-page-nobody'][i % 3]!);
    const pages = await Promise.all(tenants.map((tenant) => readFirstIntegrationPage(reader, tenant, {}, 25)));
    pages.forEach((page, i) => {
      expect(page.totalCount).toBe({ [TENANT]: 4, [OTHER]: 2 }[tenants[i]!] ?? 0);
      expect(page.rows.every((r) => r.tenantId === tenants[i])).toBe(true);
    });
  });

  it.runIf(process.env.TEST_DATABASE_URL)('reads again after the server closed its connections (PostgreSQL)', async () => {
    const reader = server.app.services.reader;
    await Promise.all(Array.from({ length: 8 }, () => readFirstIntegrationPage(reader, TENANT, {}, 25)));
    const admin = new pg.Client({ connectionString: server.databaseUrl });
    await admin.connect();
    try {
      // Prisma's pool, which the reads share (the LISTEN, NOTIFY and queue connections name themselves icp-…)
      const { rows } = await admin.query(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND usename = current_user
            AND backend_type = 'client backend' AND application_name NOT LIKE 'icp-%'`,
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
