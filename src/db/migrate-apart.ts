/**
 * The embedded database's first start and pending migrations, run by a short-lived child process
 * (`npm run db:migrate`'s script) rather than by the server. PGlite's `initdb` and Prisma's
 * WebAssembly schema engine leave the process that ran them about 80–130 MiB larger for the rest
 * of its life (a WebAssembly heap never shrinks, and the engine stays loaded once imported):
 * memory an idle server would hold only because it once created its database. A child gives it
 * back when it exits. Only the server's own start does this (src/server.ts); tests, scripts and a
 * PostgreSQL server migrate in process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Logger, OperatorError } from '../log.ts';
import type { Database } from './database.ts';
import { pendingMigrations } from './migrate.ts';

/** The migration script beside this module: TypeScript under tsx, JavaScript in the compiled build. */
const MIGRATE_SCRIPT = fileURLToPath(new URL(`../scripts/migrate${path.extname(import.meta.url)}`, import.meta.url));

/** An embedded data directory PGlite has not initialised yet (`initdb` writes PG_VERSION). */
export const isUninitialised = (dataDir: string) => !existsSync(path.join(dataDir, 'PG_VERSION'));

/**
 * Opens the embedded database at `dataDir` with nothing left to migrate. A directory that is new or
 * has pending migrations is closed (releasing its lock), migrated by the child, then opened again;
 * the child's log lines go where this process's go.
 */
export async function openMigratedApart(
  dataDir: string,
  open: () => Promise<Database>,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Database> {
  if (isUninitialised(dataDir)) await migrateInChild(dataDir, logger, env, 'a new data directory');
  const database = await open();
  const pending = await pendingMigrations(database).catch(async (err: unknown) => {
    await database.close().catch(() => {});
    throw err;
  });
  if (!pending.length) return database;
  await database.close();
  await migrateInChild(dataDir, logger, env, `${pending.length} pending migration(s)`);
  return open();
}

async function migrateInChild(dataDir: string, logger: Logger, env: NodeJS.ProcessEnv, why: string): Promise<void> {
  logger.info({ dataDir, reason: why }, 'migrating the embedded database in a child process');
  // the same node and loader (tsx under `npm start`) and settings, on this data directory
  const { DATABASE_URL: _url, DATABASE_MIGRATION_URL: _owner, NODE_OPTIONS, ...settings } = env;
  const nodeOptions = withoutDebugger(NODE_OPTIONS?.split(/\s+/).filter(Boolean) ?? []).join(' ');
  const child = spawn(process.execPath, [...withoutDebugger(process.execArgv), MIGRATE_SCRIPT], {
    env: { ...settings, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}), DATA_DIR: dataDir },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // a server stopped while starting (src/process.ts) takes its migration down with it
  const stopChild = () => child.kill('SIGTERM');
  process.once('exit', stopChild);
  try {
    const code = await exited(child);
    if (code !== 0) {
      throw new OperatorError(
        `the embedded database's migration (${path.relative(process.cwd(), MIGRATE_SCRIPT)}) failed with ${code}: its log lines are above`,
      );
    }
  } finally {
    process.off('exit', stopChild);
  }
}

/**
 * Node's flags without a debugger's: a second inspector would wait for one (`--inspect-brk`) or
 * fight for its port. `--inspect-port 9230` is two arguments.
 */
export function withoutDebugger(args: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!/^--(inspect|debug-port)/.test(arg)) kept.push(arg);
    else if (/^--(inspect-port|debug-port)$/.test(arg)) i++;
  }
  return kept;
}

function exited(child: ChildProcess): Promise<string | number> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? `signal ${signal}`));
  });
}
