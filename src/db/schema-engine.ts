/**
 * Prisma's own schema engine in WebAssembly (`@prisma/schema-engine-wasm`), over our driver
 * adapter, in place of the native `prisma migrate` binary, which cannot be downloaded on every
 * machine; it writes the same `_prisma_migrations`. The `.wasm` is instantiated by hand: importing
 * it as an ES module needs `--experimental-wasm-modules` on Node 20.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { bindMigrationAwareSqlAdapterFactory, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine as Engine, MigrationList } from '@prisma/schema-engine-wasm';
import * as bindings from '@prisma/schema-engine-wasm/schema_engine_bg';

export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../prisma/migrations');
export const SCHEMA_FILE = path.resolve(import.meta.dirname, '../../prisma/schema.prisma');

const NO_FILTERS = { externalTables: [], externalEnums: [] };

let loaded: Promise<typeof bindings> | undefined;

function loadEngineModule(): Promise<typeof bindings> {
  loaded ??= (async () => {
    const wasmUrl = new URL('schema_engine_bg.wasm', import.meta.resolve('@prisma/schema-engine-wasm'));
    const module = await WebAssembly.compile(await readFile(wasmUrl));
    const instance = await WebAssembly.instantiate(module, {
      './schema_engine_bg.js': bindings as unknown as WebAssembly.ModuleImports,
    });
    const exports = instance.exports as unknown as { __wbindgen_start(): void };
    (bindings as unknown as { __wbg_set_wasm(e: unknown): void }).__wbg_set_wasm(exports);
    exports.__wbindgen_start();
    return bindings;
  })();
  return loaded;
}

export interface MigrationFile {
  name: string;
  sql: string;
}

/** The committed migrations, in the order Prisma applies them (directory name order). */
export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(names.map(async (name) => ({ name, sql: await readFile(path.join(dir, name, 'migration.sql'), 'utf8') })));
}

function migrationList(migrations: MigrationFile[], dir: string): MigrationList {
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: 'provider = "postgresql"\n' },
    shadowDbInitScript: '',
    migrationDirectories: migrations.map((m) => ({
      path: m.name,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok' as const, value: m.sql } },
    })),
  };
}

async function withEngine<T>(
  factory: SqlMigrationAwareDriverAdapterFactory,
  schema: string,
  log: (line: string) => void,
  run: (engine: Engine) => Promise<T>,
): Promise<T> {
  const { SchemaEngine } = await loadEngineModule();
  const engine = await SchemaEngine.new({ datamodels: [['schema.prisma', schema]] }, log, bindMigrationAwareSqlAdapterFactory(factory));
  try {
    return await run(engine);
  } finally {
    engine.free();
  }
}

/** Applies every committed migration the database has not recorded yet; returns their names. */
export async function applyMigrations(
  factory: SqlMigrationAwareDriverAdapterFactory,
  migrations: MigrationFile[],
  log: (line: string) => void = () => {},
): Promise<string[]> {
  const schema = await readFile(SCHEMA_FILE, 'utf8');
  const adapter = factory as { lastScriptError?: string };
  adapter.lastScriptError = undefined;
  try {
    return await withEngine(factory, schema, log, async (engine) => {
      const out = await engine.applyMigrations({
        migrationsList: migrationList(migrations, MIGRATIONS_DIR),
        filters: NO_FILTERS,
      });
      return out.appliedMigrationNames;
    });
  } catch (err) {
    // the engine reports "external connector error"; the database's own words say what to fix
    if (!adapter.lastScriptError) throw err;
    throw new Error(`a migration failed: ${adapter.lastScriptError}`, { cause: err });
  }
}

/**
 * The SQL that takes a database from the committed migrations to `schema.prisma`
 * (empty when they agree). Uses a throwaway shadow database of the adapter.
 */
export async function diffSchemaAgainstMigrations(
  factory: SqlMigrationAwareDriverAdapterFactory,
  migrations: MigrationFile[],
): Promise<string> {
  const schema = await readFile(SCHEMA_FILE, 'utf8');
  return withEngine(
    factory,
    schema,
    () => {},
    async (engine) => {
      const from = migrations.length
        ? ({ tag: 'migrations', ...migrationList(migrations, MIGRATIONS_DIR) } as const)
        : ({ tag: 'empty' } as const);
      const result = await engine.diff({
        from,
        to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: schema }] },
        script: true,
        exitCode: null,
        filters: NO_FILTERS,
      });
      const sql = result.stdout ?? '';
      return /^\s*(--.*\n?)*\s*$/.test(sql) || sql.includes('This is an empty migration') ? '' : sql;
    },
  );
}
