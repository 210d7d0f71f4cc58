/**
 * Applies pending committed migrations. The common case (nothing pending) is one query;
 * the WebAssembly schema engine is loaded only when there is work to do.
 */
import type { Logger } from '../log.ts';
import type { Database } from './database.ts';
import { applyMigrations, readMigrations } from './schema-engine.ts';

async function appliedMigrationNames(database: Database): Promise<Set<string> | null> {
  const [table] = await database.prisma.$queryRaw<{ name: string | null }[]>`SELECT to_regclass('_prisma_migrations')::text AS name`;
  if (!table?.name) return null;
  const rows = await database.prisma.$queryRaw<{ migration_name: string }[]>`
    SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
  return new Set(rows.map((r) => r.migration_name));
}

export async function migrate(database: Database, logger: Logger): Promise<string[]> {
  const migrations = await readMigrations();
  const applied = await appliedMigrationNames(database);
  if (applied && migrations.every((m) => applied.has(m.name))) return [];
  const names = await applyMigrations(database.adapter, migrations, (line) => logger.debug({ engine: line }, 'schema engine'));
  if (names.length) logger.info({ migrations: names }, 'applied database migrations');
  return names;
}
