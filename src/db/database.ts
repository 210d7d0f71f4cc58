/**
 * Opens the database the configuration names: embedded PGlite under DATA_DIR when DATABASE_URL
 * is unset, a PostgreSQL server otherwise. Both speak to Prisma through a driver adapter and to
 * pg-boss through `queue`, and both run the same committed migrations.
 */
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type PgBoss from 'pg-boss';
import { PrismaClient } from '../generated/prisma/client.ts';

export interface Database {
  kind: 'embedded' | 'postgres';
  /** The unscoped client. Request code reaches tenant rows only through `forTenant` (src/db/tenant.ts). */
  prisma: PrismaClient;
  adapter: SqlMigrationAwareDriverAdapterFactory;
  /** How pg-boss reaches the same database. */
  queue: PgBoss.DatabaseOptions;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string;
  dataDir: string;
  /** Embedded only: keep the data in memory (tests). */
  inMemory?: boolean;
  poolSize?: number;
  /** Called with every SQL statement Prisma sends (benchmarks and tests count them). */
  onQuery?: (sql: string) => void;
}

/** Interactive transactions wait behind PGlite's single connection, so allow them some time. */
const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 20_000 };

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options) : openEmbedded(options);
}

function createClient(adapter: SqlMigrationAwareDriverAdapterFactory, onQuery?: (sql: string) => void): PrismaClient {
  if (!onQuery) return new PrismaClient({ adapter, transactionOptions: TRANSACTION_OPTIONS });
  const prisma = new PrismaClient({ adapter, transactionOptions: TRANSACTION_OPTIONS, log: [{ emit: 'event', level: 'query' }] });
  prisma.$on('query', (event) => onQuery(event.query));
  return prisma;
}

async function openPostgres(connectionString: string, options: DatabaseOptions): Promise<Database> {
  const adapter = new PrismaPg({ connectionString, max: options.poolSize ?? 10 });
  const prisma = createClient(adapter, options.onQuery);
  return {
    kind: 'postgres',
    prisma,
    adapter,
    queue: { connectionString, max: 4, application_name: 'icp-queue' },
    close: () => prisma.$disconnect(),
  };
}

async function openEmbedded(options: DatabaseOptions): Promise<Database> {
  if (!options.inMemory) await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const pglite = new PGlite(options.inMemory ? undefined : options.dataDir);
  await pglite.waitReady;
  const adapter = new EmbeddedAdapterFactory(pglite);
  const prisma = createClient(adapter, options.onQuery);
  return {
    kind: 'embedded',
    prisma,
    adapter,
    queue: { db: pgliteExecutor(pglite) },
    close: async () => {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}

/**
 * pglite-prisma-adapter 0.7 does not await `exec` in `executeScript`, so a failing migration
 * script would be reported as applied; this awaits it.
 */
class EmbeddedAdapterFactory extends PrismaPGlite {
  constructor(private readonly pglite: PGlite) {
    super(pglite);
  }

  override async connect() {
    const adapter = await super.connect();
    adapter.executeScript = async (script: string) => {
      await this.pglite.exec(script);
    };
    return adapter;
  }
}

/**
 * pg-boss's `db` option on PGlite: statements without parameters may hold several commands,
 * which only `exec` accepts.
 */
export function pgliteExecutor(pglite: PGlite): PgBoss.Db {
  return {
    async executeSql(text, values) {
      if (!values?.length) {
        const results = await pglite.exec(text);
        return { rows: results.at(-1)?.rows ?? [] };
      }
      return pglite.query(text, values);
    },
  };
}
