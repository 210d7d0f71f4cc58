/**
 * Applies pending committed migrations, as the schema's owner (src/db/owner.ts). The common case
 * (nothing pending, one role) is one query; the WebAssembly schema engine is loaded only when
 * there is work to do. With a separate owner, its grants to the service's role follow.
 */
import PgBoss from 'pg-boss';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../log.ts';
import type { Database } from './database.ts';
import { checkRolesBeforeMigrating, grantServiceRole } from './owner.ts';
import { applyMigrations, readMigrations } from './schema-engine.ts';

async function appliedMigrationNames(prisma: PrismaClient): Promise<Set<string> | null> {
  const [table] = await prisma.$queryRaw<{ name: string | null }[]>`SELECT to_regclass('_prisma_migrations')::text AS name`;
  if (!table?.name) return null;
  const rows = await prisma.$queryRaw<{ migration_name: string }[]>`
    SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
  return new Set(rows.map((r) => r.migration_name));
}

/** The names of `migrations` not applied yet (all of them on a new database). */
const notApplied = (migrations: readonly { name: string }[], applied: Set<string> | null) =>
  migrations.filter((m) => !applied?.has(m.name)).map((m) => m.name);

/** The committed migrations not applied yet. */
export async function pendingMigrations(database: Database): Promise<string[]> {
  const [migrations, applied] = await Promise.all([readMigrations(), appliedMigrationNames(database.prisma)]);
  return notApplied(migrations, applied);
}

export async function migrate(database: Database, logger: Logger): Promise<string[]> {
  const migrations = await readMigrations();
  const serviceRole = database.separateOwner
    ? (await database.prisma.$queryRaw<{ name: string }[]>`SELECT current_user AS name`)[0]!.name
    : undefined;
  // asOwner refuses a DATABASE_URL role that neither owns the tables nor is a member of their owner
  return database.asOwner(async (owner) => {
    if (database.kind === 'postgres' && !database.separateOwner) {
      logger.warn(
        'DATABASE_MIGRATION_URL is not set: the DATABASE_URL role owns the tables (or is a member of the role that does), so SQL run as it could turn row-level security off; give the schema an owner role of its own (docs/security-model.md)',
      );
    }
    if (serviceRole) await checkRolesBeforeMigrating(owner.prisma, serviceRole);
    let names: string[] = [];
    if (notApplied(migrations, await appliedMigrationNames(owner.prisma)).length) {
      names = await applyMigrations(owner.adapter, migrations, (line) => logger.debug({ engine: line }, 'schema engine'));
      if (names.length) logger.info({ migrations: names }, 'applied database migrations');
    }
    if (serviceRole) await grantServiceRole(owner.prisma, serviceRole, () => installQueue(database.queue));
    return names;
  });
}

/**
 * Installs (or migrates) pg-boss's schema as the service's role, with no worker, supervision or
 * schedule: the first start with a separate owner, while the role may create it (src/db/owner.ts).
 */
async function installQueue(connection: PgBoss.DatabaseOptions): Promise<void> {
  const boss = new PgBoss({ ...connection, max: 1, migrate: true, supervise: false, schedule: false });
  let failure: unknown;
  boss.on('error', (err) => (failure ??= err));
  try {
    await boss.start();
  } finally {
    await boss.stop({ graceful: false, wait: true }).catch(() => {});
  }
  if (failure) throw failure;
}
