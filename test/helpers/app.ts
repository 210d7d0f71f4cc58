/**
 * Starts the real service (createApp) on a random loopback port with a fresh database: an
 * in-memory PGlite by default, or a new database on the PostgreSQL server named by
 * TEST_DATABASE_URL. Requests go over real HTTP.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import pg from 'pg';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

export interface Credential {
  token?: string;
  apiKey?: string;
  headers?: Record<string, string>;
}

export interface GraphQLResponse<T = any> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown>; path?: string[] }[];
  raw: string;
}

export interface TestServer {
  app: App;
  url: string;
  /** Every log line the server wrote, as text. */
  logs: string[];
  /** Every SQL statement Prisma sent, in order (pg-boss's own polling is not included). */
  queries: string[];
  /** The PostgreSQL database it runs on, when not embedded (another server can share it). */
  databaseUrl?: string;
  /** With `separateOwner`: the schema owner's URL (DATABASE_MIGRATION_URL). */
  ownerUrl?: string;
  gql<T = any>(query: string, variables?: Record<string, unknown>, credential?: Credential): Promise<GraphQLResponse<T>>;
  token(claims?: Record<string, unknown>, options?: { expiresIn?: string }): Promise<string>;
  close(): Promise<void>;
}

/** The login role test servers use: no superuser, no BYPASSRLS, as the server demands. */
const TEST_APP_ROLE = 'icp_test_app';
/** The schema's owner of a database made with `separateOwner` (DATABASE_MIGRATION_URL). */
const TEST_OWNER_ROLE = 'icp_test_owner';

async function ensureAppRole(admin: pg.Client, role = TEST_APP_ROLE) {
  try {
    await admin.query(`CREATE ROLE "${role}" LOGIN NOSUPERUSER NOBYPASSRLS`);
  } catch (err) {
    // another test file made it first (duplicate_object, or unique_violation in the race)
    if (!['42710', '23505'].includes((err as { code?: string }).code ?? '')) throw err;
  }
}

/**
 * A new database owned by TEST_APP_ROLE on the server TEST_DATABASE_URL names (as a superuser);
 * the returned URL connects as that role (the throwaway cluster trusts local connections). With
 * `separateOwner`, TEST_OWNER_ROLE owns it instead, and `ownerUrl` connects as that.
 */
export async function createTestDatabase(
  adminUrl: string,
  separateOwner = false,
  /** The role the server runs as (DATABASE_URL), with `separateOwner` only: TEST_APP_ROLE by default. */
  serviceRole = TEST_APP_ROLE,
): Promise<{ url: string; ownerUrl?: string; drop(): Promise<void> }> {
  const name = `icp_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await ensureAppRole(admin);
  if (serviceRole !== TEST_APP_ROLE) await ensureAppRole(admin, serviceRole);
  if (separateOwner) await ensureAppRole(admin, TEST_OWNER_ROLE);
  await admin.query(`CREATE DATABASE ${name} OWNER ${separateOwner ? TEST_OWNER_ROLE : TEST_APP_ROLE}`);
  await admin.end();
  const as = (role: string) => {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    url.username = role;
    url.password = '';
    return url.toString();
  };
  return {
    url: as(separateOwner ? serviceRole : TEST_APP_ROLE),
    ownerUrl: separateOwner ? as(TEST_OWNER_ROLE) : undefined,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function startTestServer(
  env: Record<string, string> = {},
  options: {
    shareDatabaseWith?: TestServer;
    /** PostgreSQL only: the schema has an owner role of its own (DATABASE_MIGRATION_URL); the server's role does not own it. */
    separateOwner?: boolean;
    /** With `separateOwner`: the name of the role the server runs as (say, a mixed-case one). */
    serviceRole?: string;
  } = {},
): Promise<TestServer> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const shared = options.shareDatabaseWith?.databaseUrl;
  const database = shared
    ? { url: shared, ownerUrl: options.shareDatabaseWith?.ownerUrl, drop: async () => {} }
    : process.env.TEST_DATABASE_URL
      ? await createTestDatabase(process.env.TEST_DATABASE_URL, options.separateOwner, options.serviceRole)
      : undefined;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    LOG_LEVEL: 'info',
    VERIFY_RETRY_DELAY_SECONDS: '1',
    VERIFY_RETRY_LIMIT: '1',
    VERIFY_TIMEOUT_MS: '3000',
    // the retention purge runs once at start, then not again within a test file's life: its
    // statements would land in the windows other tests count (the retention tests call purgeOnce())
    RETENTION_PURGE_INTERVAL_SECONDS: '86400',
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...(database?.ownerUrl ? { DATABASE_MIGRATION_URL: database.ownerUrl } : {}),
    ...env,
  });
  const queries: string[] = [];
  const app = await createApp(config, {
    logger: createLogger(config.logLevel, sink),
    inMemory: !database,
    pollingIntervalSeconds: 0.5,
    onQuery: (sql) => queries.push(sql),
  });
  const { url } = await app.listen();
  // the retention run every worker starts with (on PostgreSQL it makes a week of partitions, one
  // statement each), over before a test counts statements or makes partitions of its own
  await app.retention?.purgeOnce();

  const token = (claims: Record<string, unknown> = {}, options: { expiresIn?: string } = {}) =>
    new SignJWT({ tenant_id: 'tenant-a', ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(typeof claims.sub === 'string' ? claims.sub : 'user-1')
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '10m')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));

  return {
    app,
    url,
    logs,
    queries,
    databaseUrl: database?.url,
    ownerUrl: database?.ownerUrl,
    token,
    async gql(query, variables, credential) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...credential?.headers };
      if (credential?.token) headers.authorization = `Bearer ${credential.token}`;
      if (credential?.apiKey) headers['x-api-key'] = credential.apiKey;
      const res = await fetch(`${url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      const raw = await res.text();
      const body = JSON.parse(raw);
      return { status: res.status, data: body.data, errors: body.errors, raw };
    },
    async close() {
      await app.close();
      await database?.drop();
    },
  };
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  what = 'condition',
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
