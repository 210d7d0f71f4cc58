/**
 * `npm run db:diff -- <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql with the
 * SQL that brings the committed migrations up to prisma/schema.prisma (the role of
 * `prisma migrate dev --create-only`, which needs a binary these machines cannot download).
 * `npm run db:diff -- --check` exits 1 when the schema has changes no migration holds.
 * `--help`: its usage.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { diffSchemaAgainstMigrations, MIGRATIONS_DIR, readMigrations } from '../db/schema-engine.ts';
import { type Command, parseCommandLine, usageError } from './cli.ts';

const COMMAND = {
  usage: ['npm run db:diff -- <name>', 'npm run db:diff -- --check'],
  summary:
    'Writes prisma/migrations/<timestamp>_<name>/migration.sql with the SQL that brings the committed migrations up to prisma/schema.prisma; --check writes nothing and fails when one is missing.',
  positionals: { '<name>': 'what the migration does, e.g. add_webhook_secret (non-word characters become _)' },
  options: { check: { type: 'boolean', description: 'write nothing; exit 1 when prisma/schema.prisma has changes no migration holds' } },
} as const satisfies Command;

const { values, positionals } = parseCommandLine(COMMAND);
if (positionals.length > 1) usageError(COMMAND, `one migration name, got ${positionals.length}: ${positionals.join(' ')}`);
if (values.check && positionals.length) usageError(COMMAND, 'either <name> or --check, not both');
const name = positionals[0];
if (!values.check && !name) usageError(COMMAND, 'a migration name or --check is required');
const pglite = new PGlite();
const sql = await diffSchemaAgainstMigrations(new PrismaPGlite(pglite), await readMigrations());
await pglite.close();
if (values.check) {
  if (sql) {
    console.error(`prisma/schema.prisma has changes no migration holds:\n${sql}\nfix: npm run db:diff -- <name>`);
    process.exit(1);
  }
  console.log('migrations match prisma/schema.prisma');
} else if (!sql) {
  console.log('no changes: prisma/schema.prisma matches the committed migrations');
} else {
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const dir = path.join(MIGRATIONS_DIR, `${stamp}_${name!.replace(/\W+/g, '_')}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'migration.sql'), sql);
  console.log(
    `wrote ${path.relative(process.cwd(), dir)}/migration.sql: review it, add what Prisma cannot express (partial indexes), commit it`,
  );
}
