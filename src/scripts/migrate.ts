/** `npm run db:migrate`: applies pending migrations to DATABASE_URL (or the embedded database) and exits; `--help`: its usage. */
import { openDatabase } from '../db/database.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger, exitOnOperatorError } from '../log.ts';
import { loadConfigOrExit } from '../process.ts';
import { DATABASE_ENV, parseCommandLine } from './cli.ts';

parseCommandLine({
  usage: 'npm run db:migrate',
  summary: 'Applies the pending migrations of prisma/migrations to the database, then exits.',
  env: { ...DATABASE_ENV, LOG_LEVEL: 'pino level of its log lines (default info)' },
});

// a maintenance script: it authenticates no caller, so no AUTH_* setting is asked for
const config = loadConfigOrExit(process.env, { runsService: false });
const logger = createLogger(config.logLevel);
const database = await openDatabase({
  databaseUrl: config.databaseUrl,
  migrationUrl: config.databaseMigrationUrl,
  dataDir: config.dataDir,
  logger,
  connectTimeoutMs: config.databaseConnectTimeoutMs,
}).catch((err: unknown) => exitOnOperatorError(logger, err));
try {
  const applied = await migrate(database, logger);
  logger.info({ applied }, applied.length ? 'migrations applied' : 'database is up to date');
} finally {
  await database.close();
}
// done: Prisma's schema engine, once it ran, leaves a 10 s timer of its own that would hold the
// process (the server's first start waits for this one: src/db/migrate-apart.ts)
process.exit(0);
