/**
 * Opens the database the configuration names: embedded PGlite under DATA_DIR when DATABASE_URL
 * is unset, a PostgreSQL server otherwise. Both speak to Prisma through a driver adapter and to
 * pg-boss through `queue`, and both run the same committed migrations.
 */
import { mkdir } from 'node:fs/promises';
import { PGlite, type QueryOptions, type Transaction } from '@electric-sql/pglite';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type PgBoss from 'pg-boss';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../log.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { assertActsAsTableOwner, type OwnerConnection, withOwnerConnection } from './owner.ts';
import { PgliteStatements } from './pglite-statements.ts';
import { PostgresAdapterFactory, scriptError } from './postgres-adapter.ts';
import { pgliteTransactions, poolTransactions, type RawTransactions } from './raw-transaction.ts';
import { pgliteReader, poolReader, type RowReader } from './row-reader.ts';
import { APP_ROLE } from './row-security.ts';
import { waitForServer } from './wait-for-server.ts';

export interface Database {
  kind: 'embedded' | 'postgres';
  /** The unscoped client. Request code reaches tenant rows only through `forTenant` (src/db/tenant.ts). */
  prisma: PrismaClient;
  adapter: SqlMigrationAwareDriverAdapterFactory;
  /** How pg-boss reaches the same database. */
  queue: PgBoss.DatabaseOptions;
  /** Reads without Prisma's client, on its connections (row-reader.ts). */
  reader: RowReader;
  /** Row-security transactions of raw statements without Prisma's client, on its connections (raw-transaction.ts). */
  transactions: RawTransactions;
  /**
   * Whether the schema's owner is a role of its own (DATABASE_MIGRATION_URL, src/db/owner.ts);
   * otherwise the service's role owns the tables.
   */
  separateOwner: boolean;
  /**
   * Runs `fn` as the schema's owner: over a connection of its own that is closed afterwards with
   * a separate owner, else on this database's own client. Migrations and maintenance use it. On
   * a server it first checks that the connection's role is (a member of) the role that owns the
   * tables, and throws a RoleSeparationError naming DATABASE_MIGRATION_URL otherwise: maintenance
   * as another role would see no rows at all (src/db/owner.ts).
   */
  asOwner<T>(fn: (owner: OwnerConnection) => Promise<T>): Promise<T>;
  /**
   * Embedded only: hears NOTIFY on a channel (on a server, src/events/pg-event-target.ts holds a
   * LISTEN connection of its own, shared by every instance).
   */
  listen?(channel: string, onPayload: (payload: string) => void): Promise<unknown>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string;
  /** DATABASE_MIGRATION_URL: the schema's owner, when it is not the role of `databaseUrl`. */
  migrationUrl?: string;
  dataDir: string;
  /** Embedded only: keep the data in memory (tests). */
  inMemory?: boolean;
  poolSize?: number;
  /** Called with every SQL statement Prisma sends (benchmarks and tests count them). */
  onQuery?: (sql: string) => void;
  /** Hears each retry while a PostgreSQL server cannot be reached. */
  logger?: Logger;
  /** DATABASE_CONNECT_TIMEOUT_SECONDS, in ms: how long an unreachable server is retried (default 60 s). */
  connectTimeoutMs?: number;
}

/** Interactive transactions wait behind PGlite's single connection, so allow them some time. */
const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 20_000 };
/**
 * `minimal`: Prisma then skips capturing a stack (`new Error()`) for every query, which it takes only
 * to print the calling line in an error's message: a measurable share of a small request's CPU.
 * Errors keep their code and message; clients never see them, and the logs have the stack of the throw.
 */
const CLIENT_OPTIONS = { transactionOptions: TRANSACTION_OPTIONS, errorFormat: 'minimal' } as const;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options) : openEmbedded(options);
}

function createClient(adapter: SqlMigrationAwareDriverAdapterFactory, onQuery?: (sql: string) => void): PrismaClient {
  if (!onQuery) return new PrismaClient({ adapter, ...CLIENT_OPTIONS });
  const prisma = new PrismaClient({ adapter, ...CLIENT_OPTIONS, log: [{ emit: 'event', level: 'query' }] });
  prisma.$on('query', (event) => onQuery(event.query));
  return prisma;
}

/**
 * Row-level security binds every role but superusers and BYPASSRLS roles: the server refuses to
 * run as one, on either database, rather than run with the policies silently off.
 */
async function assertRowSecurityApplies(prisma: PrismaClient, hint: string): Promise<void> {
  const [role] = await prisma.$queryRaw<{ name: string; super: boolean; bypass: boolean }[]>`
    SELECT current_user AS name, rolsuper AS super, rolbypassrls AS bypass FROM pg_roles WHERE rolname = current_user`;
  if (!role || role.super || role.bypass) {
    throw new Error(
      `the database role "${role?.name ?? '?'}" is a superuser or has BYPASSRLS, so row-level security would not apply to it; ${hint}`,
    );
  }
}

async function currentRole(prisma: PrismaClient): Promise<string> {
  return (await prisma.$queryRaw<{ name: string }[]>`SELECT current_user AS name`)[0]!.name;
}

async function openPostgres(connectionString: string, options: DatabaseOptions): Promise<Database> {
  // a clear line per attempt and a clear failure, rather than the first query's driver error
  await waitForServer(connectionString, 'DATABASE_URL', options);
  if (options.migrationUrl) await waitForServer(options.migrationUrl, 'DATABASE_MIGRATION_URL', options);
  const adapter = new PostgresAdapterFactory({ connectionString, max: options.poolSize ?? 10 });
  const prisma = createClient(adapter, options.onQuery);
  try {
    await assertRowSecurityApplies(
      prisma,
      'connect with roles made for the service: one that owns the schema for DATABASE_MIGRATION_URL and one that only reads and writes rows for DATABASE_URL (docs/configuration.md → Deploying on PostgreSQL)',
    );
  } catch (err) {
    await prisma.$disconnect();
    throw err;
  }
  const { migrationUrl } = options;
  // Prisma connected for the check above, so its adapter holds its pool
  if (!adapter.pool) throw new Error('the PostgreSQL adapter has no pool after connecting');
  const reader = poolReader(adapter.pool, options.onQuery);
  const transactions = poolTransactions(adapter.pool, options.onQuery);
  return {
    kind: 'postgres',
    prisma,
    adapter,
    reader,
    transactions,
    queue: { connectionString, max: 4, application_name: 'icp-queue' },
    separateOwner: Boolean(migrationUrl),
    asOwner: (fn) => {
      const checked = async (owner: OwnerConnection) => {
        await assertActsAsTableOwner(owner.prisma, migrationUrl ? () => currentRole(prisma) : undefined);
        return fn(owner);
      };
      return migrationUrl ? withOwnerConnection(migrationUrl, checked) : checked({ prisma, adapter });
    },
    close: () => prisma.$disconnect(),
  };
}

/**
 * Run as PGlite's bootstrap superuser before the service opens the database as APP_ROLE: makes
 * the role, and gives it the schemas and everything in them (data directories made by earlier
 * versions hold objects of the superuser). Idempotent.
 */
export const EMBEDDED_BOOTSTRAP = `
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
    CREATE ROLE ${APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  EXECUTE format('GRANT CREATE ON DATABASE %I TO ${APP_ROLE}', current_database());
END $$;
ALTER SCHEMA public OWNER TO ${APP_ROLE};
DO $$ DECLARE statement text; BEGIN
  IF EXISTS (SELECT FROM pg_namespace WHERE nspname = 'pgboss') THEN
    ALTER SCHEMA pgboss OWNER TO ${APP_ROLE};
  END IF;
  FOR statement IN
    SELECT format('ALTER TABLE %I.%I OWNER TO ${APP_ROLE}', n.nspname, c.relname)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('public', 'pgboss') AND c.relkind IN ('r', 'p', 'v', 'm') AND c.relowner <> '${APP_ROLE}'::regrole
    UNION ALL
    SELECT format('ALTER SEQUENCE %I.%I OWNER TO ${APP_ROLE}', n.nspname, c.relname)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('public', 'pgboss') AND c.relkind = 'S' AND c.relowner <> '${APP_ROLE}'::regrole
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))
    UNION ALL
    SELECT format('ALTER TYPE %I.%I OWNER TO ${APP_ROLE}', n.nspname, t.typname)
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname IN ('public', 'pgboss') AND t.typtype IN ('e', 'd') AND t.typowner <> '${APP_ROLE}'::regrole
    UNION ALL
    SELECT format('ALTER ROUTINE %s OWNER TO ${APP_ROLE}', p.oid::regprocedure)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname IN ('public', 'pgboss') AND p.proowner <> '${APP_ROLE}'::regrole
  LOOP
    EXECUTE statement;
  END LOOP;
END $$;
`;

/**
 * PGlite's shared_buffers. Its default, 128MB, is allocated inside the WebAssembly heap and zeroed
 * at start, so all of it stays resident and the heap never shrinks: most of what an idle embedded
 * service held. Pages the buffers do not keep are read from the data directory's files, which the
 * OS caches. On the command line, so a data directory's postgresql.conf is left as it is.
 */
export const EMBEDDED_SHARED_BUFFERS = '16MB';
const EMBEDDED_START_PARAMS = [...PGlite.defaultStartParams, '-c', `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`];

/**
 * PGlite runs as its bootstrap superuser; the service runs as APP_ROLE instead, so row-level
 * security applies here as on a server. The one instance switches to it with SET ROLE after the
 * bootstrap, which is all PGlite's `username` option does in its single-user backend: opening a
 * second instance for that would hold a second WebAssembly heap until it is collected.
 */
async function openEmbeddedAsAppRole(options: DatabaseOptions): Promise<PGlite> {
  const pglite = new PGlite({ dataDir: options.inMemory ? undefined : options.dataDir, startParams: EMBEDDED_START_PARAMS });
  await pglite.waitReady;
  await pglite.exec(EMBEDDED_BOOTSTRAP);
  await pglite.exec(`SET ROLE ${APP_ROLE}`);
  return pglite;
}

async function openEmbedded(options: DatabaseOptions): Promise<Database> {
  if (!options.inMemory) await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  // before PGlite reads a byte: a second process on the directory is refused (src/db/data-dir-lock.ts)
  const lock = options.inMemory ? undefined : lockDataDir(options.dataDir);
  let pglite: PGlite;
  let prisma: PrismaClient;
  let adapter: EmbeddedAdapterFactory;
  let statements: PgliteStatements;
  try {
    pglite = await openEmbeddedAsAppRole(options);
    statements = new PgliteStatements(pglite);
    adapter = new EmbeddedAdapterFactory(statements);
    prisma = createClient(adapter, options.onQuery);
    await assertRowSecurityApplies(prisma, 'the embedded database could not switch to its service role');
  } catch (err) {
    lock?.release();
    throw err;
  }
  return {
    kind: 'embedded',
    prisma,
    adapter,
    reader: pgliteReader(statements, options.onQuery),
    transactions: pgliteTransactions(statements, options.onQuery),
    separateOwner: false,
    asOwner: (fn) => fn({ prisma, adapter }),
    queue: { db: pgliteExecutor(statements) },
    listen: (channel, onPayload) => pglite.listen(channel, onPayload),
    close: async () => {
      try {
        await prisma.$disconnect();
        await pglite.close();
      } finally {
        lock?.release();
      }
    },
  };
}

/**
 * Prisma's PGlite adapter, its statements prepared (pglite-statements.ts): the adapter calls
 * `query` on the client and on each transaction's `tx`, and these are the prepared ones.
 * pglite-prisma-adapter 0.7 does not await `exec` in `executeScript`, so a failing migration
 * script would be reported as applied; this awaits it. A script may change the schema, so the
 * statements kept are dropped after it.
 */
class EmbeddedAdapterFactory extends PrismaPGlite {
  /** The last script's failure, SQL state and message (the schema engine's own error names neither). */
  lastScriptError?: string;

  constructor(private readonly statements: PgliteStatements) {
    super(preparedClient(statements));
  }

  override async connect() {
    const adapter = await super.connect();
    adapter.executeScript = async (script: string) => {
      try {
        await this.statements.pglite.exec(script);
      } catch (error) {
        this.lastScriptError = scriptError(error);
        throw error;
      } finally {
        this.statements.forget();
      }
    };
    return adapter;
  }
}

/** `statements.pglite` whose `query`, and its transactions' `query`, are `statements`'. */
function preparedClient(statements: PgliteStatements): PGlite {
  const { pglite } = statements;
  const query = (sql: string, values?: unknown[], options?: QueryOptions) => statements.query(sql, values, options);
  const transaction = <T>(fn: (tx: Transaction) => Promise<T>) =>
    pglite.transaction((tx) =>
      fn({
        query: (sql, values, options) => statements.inTransaction(tx, sql, values, options),
        sql: (...args) => tx.sql(...args),
        exec: (sql, options) => tx.exec(sql, options),
        rollback: () => tx.rollback(),
        listen: (channel, callback) => tx.listen(channel, callback),
        get closed() {
          return tx.closed;
        },
      }),
    );
  return new Proxy(pglite, {
    get(target, key) {
      if (key === 'query') return query;
      if (key === 'transaction') return transaction;
      // PGlite's own methods use its private fields: called on PGlite itself, not on the proxy
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * pg-boss's `db` option on PGlite: statements without parameters may hold several commands,
 * which only `exec` accepts; the others are prepared (pglite-statements.ts).
 */
export function pgliteExecutor(statements: PgliteStatements): PgBoss.Db {
  return {
    async executeSql(text, values) {
      if (!values?.length) {
        const results = await statements.pglite.exec(text);
        return { rows: results.at(-1)?.rows ?? [] };
      }
      return statements.query(text, values);
    },
  };
}
