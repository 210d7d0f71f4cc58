/**
 * Row-level security below the application: raw SQL on the service's own connection (the role
 * the server runs as, on PGlite and on PostgreSQL) sees no tenant rows unless the transaction
 * names a tenant, then only that tenant's, and cannot write rows of another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/auth/api-keys.ts';
import { startTestServer, type TestServer } from './helpers/app.ts';

const TENANT_TABLES = ['Integration', 'Event', 'ApiKey', 'RoutingRule', 'Webhook', 'WebhookDelivery', 'DeliveryAttempt', 'AuditEntry'];

let server: TestServer;
const keys: Record<string, string> = {};

type Tx = Parameters<Parameters<TestServer['app']['database']['prisma']['$transaction']>[0]>[0];

/** Raw SQL on the service's connection, in a transaction with the given settings (none: no settings). */
function raw<T>(settings: Record<string, string>, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return server.app.database.prisma.$transaction(async (tx) => {
    for (const [name, value] of Object.entries(settings)) await tx.$queryRawUnsafe('SELECT set_config($1, $2, true)', name, value);
    return fn(tx);
  });
}

async function count(tx: Tx, table: string): Promise<number> {
  const [row] = await tx.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM "${table}"`);
  return row!.n;
}

beforeAll(async () => {
  server = await startTestServer();
  for (const tenant of ['rls-a', 'rls-b']) {
    const token = await server.token({ tenant_id: tenant, scope: 'admin' });
    const created = await server.gql(`mutation { createApiKey(input: { name: "ci" }) { ... on CreateApiKeyPayload { secret } } }`, {}, { token });
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

describe('row-level security', () => {
  it('runs the service as a role that is neither superuser nor BYPASSRLS', async () => {
    const [role] = await server.app.database.prisma.$queryRaw<{ super: boolean; bypass: boolean }[]>`
      SELECT rolsuper AS super, rolbypassrls AS bypass FROM pg_roles WHERE rolname = current_user`;
    expect(role).toEqual({ super: false, bypass: false });
  });

  it('is enabled and forced on every table with a tenantId column', async () => {
    const tables = await server.app.database.prisma.$queryRaw<{ name: string; enabled: boolean; forced: boolean }[]>`
      SELECT c.relname AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind = 'r'
         AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenantId' AND NOT a.attisdropped)
       ORDER BY 1`;
    expect(tables.map((t) => t.name)).toEqual([...TENANT_TABLES].sort());
    for (const table of tables) expect(table, table.name).toMatchObject({ enabled: true, forced: true });
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
      const res = await server.gql(`{ integrations(first: 10) { totalCount } apiKeys(first: 10) { totalCount } }`, {}, { apiKey: keys[tenant] });
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ integrations: { totalCount: 1 }, apiKeys: { totalCount: 1 } });
    }
  });
});
