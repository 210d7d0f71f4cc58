/**
 * Row-level security below the application: raw SQL on the service's own connection sees no tenant
 * rows unless the transaction names a tenant, then only that tenant's, and cannot write another's.
 * On PostgreSQL it runs again with the schema owned by a role of its own (DATABASE_MIGRATION_URL):
 * the service's role can then neither name a maintenance task to see every tenant nor turn the
 * policies off, and maintenance works through the owner.
 */
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/auth/api-keys.ts';
import { keyringFromKeys } from '../../src/crypto/keyring.ts';
import { rotateKeys } from '../../src/crypto/rotate.ts';
import { openDatabase } from '../../src/db/database.ts';
import { RoleSeparationError } from '../../src/db/owner.ts';
import { startTestServer, TEST_ENCRYPTION_KEY, type TestServer } from '../helpers/app.ts';

const TENANT_TABLES = [
  'Integration',
  'Event',
  'ApiKey',
  'RoutingRule',
  'Webhook',
  'WebhookDelivery',
  'DeliveryAttempt',
  'AuditEntry',
  'Operation',
  'OperationAttempt',
  'ConnectSession',
];

const onPostgres = Boolean(process.env.TEST_DATABASE_URL);

type Tx = Parameters<Parameters<TestServer['app']['database']['prisma']['$transaction']>[0]>[0];

async function count(tx: Tx, table: string): Promise<number> {
  const [row] = await tx.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM "${table}"`);
  return row!.n;
}

function rowSecuritySuite(separateOwner: boolean) {
  let server: TestServer;
  const keys: Record<string, string> = {};

  /** Raw SQL on the service's connection, in a transaction with the given settings (none: no settings). */
  function raw<T>(settings: Record<string, string>, fn: (tx: Tx) => Promise<T>): Promise<T> {
    return server.app.database.prisma.$transaction(async (tx) => {
      for (const [name, value] of Object.entries(settings)) await tx.$queryRawUnsafe('SELECT set_config($1, $2, true)', name, value);
      return fn(tx);
    });
  }

  beforeAll(async () => {
    server = await startTestServer({}, { separateOwner });
    for (const tenant of ['rls-a', 'rls-b']) {
      const token = await server.token({ tenant_id: tenant, scope: 'admin' });
      const created = await server.gql(
        `mutation { createApiKey(input: { name: "ci" }) { ... on CreateApiKeyPayload { secret } } }`,
        {},
        { token },
      );
      expect(created.errors).toBeUndefined();
      keys[tenant] = created.data.createApiKey.secret;
      // rows in more tables: an integration (and its audit entry)
      const configured = await server.gql(
        `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-rls" } }) { __typename } }`,
        {},
        { token },
      );
      expect(configured.data.configureIntegration.__typename).toBe('ConfigureIntegrationPayload');
    }
  });

  afterAll(() => server?.close());

  it('runs the service as a role that is neither superuser nor BYPASSRLS', async () => {
    const [role] = await server.app.database.prisma.$queryRaw<{ super: boolean; bypass: boolean }[]>`
      SELECT rolsuper AS super, rolbypassrls AS bypass FROM pg_roles WHERE rolname = current_user`;
    expect(role).toEqual({ super: false, bypass: false });
  });

  it('is enabled and forced on every table with a tenantId column, and on every partition, which has no policy of its own', async () => {
    const tables = await server.app.database.prisma.$queryRaw<
      { name: string; enabled: boolean; forced: boolean; partition: boolean; policies: number }[]
    >`
      SELECT c.relname AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced, c.relispartition AS partition,
             (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
         AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenantId' AND NOT a.attisdropped)
       ORDER BY 1`;
    expect(tables.filter((t) => !t.partition).map((t) => t.name)).toEqual([...TENANT_TABLES].sort());
    for (const table of tables) expect(table, table.name).toMatchObject({ enabled: true, forced: true });
    const partitions = tables.filter((t) => t.partition);
    // every history table has its default partition (and, on PostgreSQL servers, its days)
    expect(partitions.length).toBeGreaterThanOrEqual(6);
    // read through their partitioned table, whose policies apply; named directly, they show no
    // row (a default partition admits the owner's retention purge only: no tenant policy)
    for (const partition of partitions)
      expect(partition, partition.name).toMatchObject({ policies: partition.name.endsWith('_default') ? 3 : 0 });
    const defaultPolicies = await server.app.database.prisma.$queryRaw<{ name: string }[]>`
      SELECT DISTINCT p.polname AS name FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relname LIKE '%\_default' ORDER BY 1`;
    expect(defaultPolicies.map((p) => p.name)).toEqual(['data_retention', 'data_retention_read', 'maintenance_by_owner_only']);
  });

  it('leaves maintenance across tenants to the tables’ owner wherever a policy names a maintenance task', async () => {
    const policies = await server.app.database.prisma.$queryRaw<{ table: string; name: string; permissive: string; qual: string | null }[]>`
      SELECT tablename AS table, policyname AS name, permissive, qual FROM pg_policies WHERE schemaname = 'public' ORDER BY 1, 2`;
    const maintained = [
      ...new Set(policies.filter((p) => p.qual?.includes('app.maintenance') && p.name !== 'maintenance_by_owner_only').map((p) => p.table)),
    ];
    expect(maintained.length).toBeGreaterThan(0);
    for (const table of maintained) {
      const guard = policies.find((p) => p.table === table && p.name === 'maintenance_by_owner_only');
      expect(guard, table).toMatchObject({ permissive: 'RESTRICTIVE' });
      expect(guard!.qual).toMatch(/pg_has_role\(CURRENT_USER/);
    }
  });

  it('shows no rows to a raw query without the tenant setting', async () => {
    await raw({}, async (tx) => {
      for (const table of TENANT_TABLES) expect(await count(tx, table), table).toBe(0);
    });
    // and outside any transaction
    const [row] = await server.app.database.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM "Integration"`;
    expect(row!.n).toBe(0);
  });

  it('shows exactly the named tenant’s rows', async () => {
    await raw({ 'app.tenant_id': 'rls-a' }, async (tx) => {
      const tenants = await tx.$queryRawUnsafe<{ tenantId: string }[]>(
        `SELECT DISTINCT "tenantId" FROM "Integration" UNION SELECT DISTINCT "tenantId" FROM "ApiKey" UNION SELECT DISTINCT "tenantId" FROM "AuditEntry"`,
      );
      expect(tenants.map((t) => t.tenantId)).toEqual(['rls-a']);
      expect(await count(tx, 'ApiKey')).toBe(1);
      expect(await count(tx, 'Integration')).toBe(1);
    });
  });

  it('refuses writes of another tenant’s rows', async () => {
    await raw({ 'app.tenant_id': 'rls-a' }, async (tx) => {
      // another tenant's rows are not there to update or delete
      expect(await tx.$executeRawUnsafe(`UPDATE "ApiKey" SET "name" = 'taken' WHERE "tenantId" = 'rls-b'`)).toBe(0);
      expect(await tx.$executeRawUnsafe(`DELETE FROM "Integration" WHERE "tenantId" = 'rls-b'`)).toBe(0);
    });
    // a row cannot be inserted for, or moved to, another tenant
    await expect(
      raw({ 'app.tenant_id': 'rls-a' }, (tx) =>
        tx.$executeRawUnsafe(
          `INSERT INTO "AuditEntry" ("id", "tenantId", "via", "operation", "outcome", "updatedAt") VALUES ('forged', 'rls-b', 'jwt', 'x', 'ok', now())`,
        ),
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      raw({ 'app.tenant_id': 'rls-a' }, (tx) => tx.$executeRawUnsafe(`UPDATE "ApiKey" SET "tenantId" = 'rls-b'`)),
    ).rejects.toThrow(/row-level security/);
    await raw({ 'app.tenant_id': 'rls-b' }, async (tx) => expect(await count(tx, 'ApiKey')).toBe(1));
  });

  it('finds an API key without a tenant only by its secret’s hash, and an integration only by its inbound token', async () => {
    await raw({ 'app.api_key_hash': hashApiKey(keys['rls-b']!) }, async (tx) => {
      const rows = await tx.$queryRawUnsafe<{ tenantId: string }[]>(`SELECT "tenantId" FROM "ApiKey"`);
      expect(rows).toEqual([{ tenantId: 'rls-b' }]);
      expect(await count(tx, 'Integration')).toBe(0);
    });
    await raw({ 'app.api_key_hash': hashApiKey('icp_not-a-key') }, async (tx) => expect(await count(tx, 'ApiKey')).toBe(0));
    const [integration] = await raw({ 'app.tenant_id': 'rls-a' }, (tx) =>
      tx.$queryRawUnsafe<{ inboundToken: string }[]>(`SELECT "inboundToken" FROM "Integration"`),
    );
    await raw({ 'app.inbound_token': integration!.inboundToken }, async (tx) => {
      expect(await count(tx, 'Integration')).toBe(1);
      expect(await count(tx, 'ApiKey')).toBe(0);
      // read-only: the lookup policy grants no writes
      expect(await tx.$executeRawUnsafe(`UPDATE "Integration" SET "metadata" = '{}'`)).toBe(0);
    });
  });

  it('keeps serving each tenant its own data through the API, API keys included', async () => {
    for (const tenant of ['rls-a', 'rls-b']) {
      const res = await server.gql(
        `{ integrations(first: 10) { totalCount } apiKeys(first: 10) { totalCount } }`,
        {},
        { apiKey: keys[tenant] },
      );
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ integrations: { totalCount: 1 }, apiKeys: { totalCount: 1 } });
    }
  });

  if (!separateOwner) return;

  describe('with a schema owner of its own', () => {
    /** Runs `fn` on a connection as the schema's owner, in a transaction with `settings`. */
    async function asOwner<T>(settings: Record<string, string>, fn: (client: pg.Client) => Promise<T>): Promise<T> {
      const client = new pg.Client({ connectionString: server.ownerUrl });
      await client.connect();
      try {
        await client.query('BEGIN');
        for (const [name, value] of Object.entries(settings)) await client.query('SELECT set_config($1, $2, true)', [name, value]);
        return await fn(client);
      } finally {
        await client.query('ROLLBACK').catch(() => {});
        await client.end();
      }
    }

    it('the service’s role cannot create schemas (CREATE on the database was only lent to install the queue)', async () => {
      const prisma = server.app.database.prisma;
      const [row] = await prisma.$queryRaw<{ create: boolean; queueOwner: string }[]>`
        SELECT has_database_privilege(current_database(), 'CREATE') AS create,
               (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'pgboss') AS "queueOwner"`;
      // pg-boss's schema is the service role's, so its own migrations can alter it later
      expect(row).toEqual({ create: false, queueOwner: 'icp_test_app' });
      // a schema named like a role would be searched first through "$user" in search_path
      await expect(prisma.$executeRawUnsafe(`CREATE SCHEMA icp_test_owner`)).rejects.toThrow(/permission denied/);
    });

    it('starts again on the same database, the queue already installed (and serves)', async () => {
      const again = await startTestServer({}, { shareDatabaseWith: server });
      try {
        const res = await again.gql(`{ integrations(first: 10) { totalCount } }`, {}, { apiKey: keys['rls-a'] });
        expect(res.data).toEqual({ integrations: { totalCount: 1 } });
      } finally {
        await again.close();
      }
    });

    it('the service’s role owns no table and cannot create any in public', async () => {
      const [row] = await server.app.database.prisma.$queryRaw<{ owned: number; create: boolean }[]>`
        SELECT (SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relowner = current_user::regrole) AS owned,
               has_schema_privilege('public', 'CREATE') AS create`;
      expect(row).toEqual({ owned: 0, create: false });
      await expect(server.app.database.prisma.$executeRawUnsafe(`CREATE TABLE public.escape (id int)`)).rejects.toThrow(
        /permission denied/,
      );
    });

    it('the service’s role cannot name a maintenance task to see every tenant', async () => {
      for (const task of ['rotate-keys', 'key-check']) {
        await raw({ 'app.maintenance': task }, async (tx) => {
          expect(await count(tx, 'Integration'), task).toBe(0);
          expect(await count(tx, 'Webhook'), task).toBe(0);
          expect(await tx.$executeRawUnsafe(`UPDATE "Integration" SET "metadata" = '{}'`), task).toBe(0);
        });
      }
    });

    it('the service’s role cannot turn row-level security off, drop or add a policy', async () => {
      const prisma = server.app.database.prisma;
      for (const statement of [
        `ALTER TABLE "Integration" DISABLE ROW LEVEL SECURITY`,
        `ALTER TABLE "Integration" NO FORCE ROW LEVEL SECURITY`,
        `DROP POLICY tenant_isolation ON "Integration"`,
        `CREATE POLICY everything ON "Integration" USING (true)`,
        `ALTER TABLE "Integration" OWNER TO CURRENT_USER`,
        `TRUNCATE "AuditEntry"`,
      ]) {
        await expect(prisma.$executeRawUnsafe(statement), statement).rejects.toThrow(/must be owner|permission denied/);
      }
      await raw({ 'app.tenant_id': 'rls-a' }, async (tx) => expect(await count(tx, 'AuditEntry')).toBeGreaterThan(0));
    });

    it('the owner sees every tenant only while naming a maintenance task (the policies bind it too)', async () => {
      await asOwner({}, async (client) => {
        expect((await client.query(`SELECT count(*)::int AS n FROM "Integration"`)).rows[0].n).toBe(0);
      });
      await asOwner({ 'app.maintenance': 'rotate-keys' }, async (client) => {
        expect((await client.query(`SELECT count(*)::int AS n FROM "Integration"`)).rows[0].n).toBe(2);
      });
    });

    it('key rotation re-wraps every tenant’s keys as the owner, and is refused without DATABASE_MIGRATION_URL (it would see no row)', async () => {
      const { keyring } = server.app.services;
      const ring = keyringFromKeys([{ id: 'rls-new', key: Buffer.alloc(32, 9) }, ...keyring.byId.values()]);
      // DATABASE_URL alone: the service's role is not the tables' owner, so maintenance is refused, not run on no rows
      const serviceOnly = await openDatabase({ databaseUrl: server.databaseUrl, dataDir: tmpdir() });
      try {
        const attempt = serviceOnly.asOwner((owner) => rotateKeys(owner.prisma, ring));
        await expect(attempt).rejects.toThrow(RoleSeparationError);
        await expect(attempt).rejects.toThrow(
          /owned by the role "icp_test_owner", not by the DATABASE_URL role "icp_test_app".*Set DATABASE_MIGRATION_URL/s,
        );
      } finally {
        await serviceOnly.close();
      }
      expect(await server.app.database.asOwner((owner) => rotateKeys(owner.prisma, ring))).toMatchObject({ integrations: 2 });
    });

    it('npm run keys:rotate without DATABASE_MIGRATION_URL exits non-zero saying to set it (and never that old keys can go)', async () => {
      const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/scripts/rotate-keys.ts'], {
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: server.databaseUrl!, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'info' },
      });
      const failed = await run.then(
        () => expect.unreachable('keys:rotate succeeded'),
        (err: { code?: number; stdout: string; stderr: string }) => err,
      );
      expect(failed.code).toBe(1);
      const output = failed.stdout + failed.stderr;
      expect(output).toMatch(/Set DATABASE_MIGRATION_URL to connect as .*icp_test_owner/);
      expect(output).not.toMatch(/can be dropped/);
      expect(output).not.toMatch(/\n\s+at /); // a message, not a stack trace
    }, 60_000);

    it('the server refuses to start without DATABASE_MIGRATION_URL, even before a wrong ENCRYPTION_KEY could pass the key check', async () => {
      const canaries = () => asOwner({}, async (client) => (await client.query(`SELECT "keyId" FROM "KeyCanary" ORDER BY 1`)).rows);
      const before = await canaries();
      const wrongKey = Buffer.alloc(32, 8).toString('base64');
      const databaseUrl = server.databaseUrl;
      await expect(startTestServer({ ENCRYPTION_KEY: wrongKey }, { shareDatabaseWith: { databaseUrl } as TestServer })).rejects.toThrow(
        /not by the DATABASE_URL role "icp_test_app", and DATABASE_MIGRATION_URL is not set.*refusing/s,
      );
      // no canary was written for the wrong key
      expect(await canaries()).toEqual(before);
    });

    it('refuses a DATABASE_MIGRATION_URL role that is not the tables’ owner', async () => {
      const notOwner = new URL(server.ownerUrl!);
      notOwner.username = 'icp_test_app';
      // the same role in both URLs is refused before migrating; a third role that owns nothing here:
      const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await admin.connect();
      await admin.query('CREATE ROLE icp_test_stranger LOGIN NOSUPERUSER NOBYPASSRLS').catch((err: { code?: string }) => {
        if (!['42710', '23505'].includes(err.code ?? '')) throw err;
      });
      await admin.end();
      notOwner.username = 'icp_test_stranger';
      await expect(
        startTestServer({}, { shareDatabaseWith: { databaseUrl: server.databaseUrl, ownerUrl: notOwner.toString() } as TestServer }),
      ).rejects.toThrow(
        /DATABASE_MIGRATION_URL connects as "icp_test_stranger", which is not the role that owns the tables \("icp_test_owner"\)/,
      );
    });
  });
}

describe('row-level security', () => rowSecuritySuite(false));
describe.skipIf(!onPostgres)('row-level security, the schema owned by the migration role (PostgreSQL)', () => rowSecuritySuite(true));

it.skipIf(!onPostgres)(
  'refuses to start with a schema owner while the DATABASE_URL role still owns the tables, saying how to fix it',
  async () => {
    // a database an earlier single-role deployment made: the service's role owns everything
    const single = await startTestServer();
    const databaseUrl = single.databaseUrl!;
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    await admin.query('CREATE ROLE icp_test_owner LOGIN NOSUPERUSER NOBYPASSRLS').catch((err: { code?: string }) => {
      if (!['42710', '23505'].includes(err.code ?? '')) throw err;
    });
    await admin.end();
    const ownerUrl = new URL(databaseUrl);
    ownerUrl.username = 'icp_test_owner';
    try {
      await expect(
        startTestServer({}, { shareDatabaseWith: { databaseUrl, ownerUrl: ownerUrl.toString() } as TestServer }),
      ).rejects.toThrow(
        /role "icp_test_app" must only read and write rows.*it owns .*Integration.*REASSIGN OWNED BY icp_test_app TO icp_test_owner/s,
      );
    } finally {
      await single.close();
    }
  },
);

it.skipIf(!onPostgres)(
  'runs with a mixed-case service role name (role names are compared as names, not parsed as identifiers)',
  async () => {
    const mixed = await startTestServer({ WEBHOOK_ALLOW_HOSTS: '127.0.0.1:9' }, { separateOwner: true, serviceRole: 'IcpTestApp' });
    try {
      const [row] = await mixed.app.database.prisma.$queryRaw<{ me: string }[]>`SELECT current_user AS me`;
      expect(row!.me).toBe('IcpTestApp');
      const token = await mixed.token({ tenant_id: 'mixed', scope: 'admin' });
      const created = await mixed.gql(
        `mutation { createApiKey(input: { name: "ci" }) { ... on CreateApiKeyPayload { secret } } }`,
        {},
        { token },
      );
      expect(created.errors).toBeUndefined();
      // the first integrations page is the owner's function icp_integration_page, granted to the service role
      const page = await mixed.gql(`{ integrations(first: 5) { totalCount edges { node { id } } } }`, {}, { token });
      expect(page).toMatchObject({ data: { integrations: { totalCount: 0, edges: [] } } });
      expect(page.errors).toBeUndefined();
      // and the first webhooks page, with deliveries, is icp_webhook_page_v2, granted likewise
      const hooks = await mixed.gql(
        `mutation { createWebhook(input: { name: "ci", url: "http://127.0.0.1:9/ci", eventTypes: ["webhook.test"] }) { ... on CreateWebhookPayload { webhook { id } } } }`,
        {},
        { token },
      );
      expect(hooks.errors).toBeUndefined();
      expect(hooks.data.createWebhook.webhook.id).toEqual(expect.any(String));
      const webhooks = await mixed.gql(
        `{ webhooks(first: 5) { totalCount edges { node { name deliveries(first: 3) { totalCount edges { node { id } } } } } } }`,
        {},
        { token },
      );
      expect(webhooks.errors).toBeUndefined();
      expect(webhooks.data).toEqual({
        webhooks: { totalCount: 1, edges: [{ node: { name: 'ci', deliveries: { totalCount: 0, edges: [] } } }] },
      });
      expect(mixed.queries.some((sql) => /^SELECT icp_webhook_page_v2\(/.test(sql))).toBe(true);
    } finally {
      await mixed.close();
    }
  },
);
