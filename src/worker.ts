/**
 * `npm run worker`: background work only (verification and webhook deliveries), no HTTP. Any
 * number of these and of API instances (WORKER=false) share the queue in the database; pg-boss
 * gives each job to one of them. `--help`: the main variables.
 */
import { createLogger } from './log.ts';
import { couldNotStart, exitOnSignals, loadConfigOrExit, stopWhileStarting, survivePromiseRejections } from './process.ts';
import { DATABASE_ENV, parseCommandLine } from './scripts/cli.ts';

parseCommandLine({
  usage: 'npm run worker',
  summary:
    'Runs background work only (integration verification, webhook deliveries, operations), no HTTP, beside API instances on the same PostgreSQL database.',
  env: {
    ...DATABASE_ENV,
    'ENCRYPTION_KEYS, ENCRYPTION_KEY': 'key-encryption keys of stored credentials, the same as the API instances',
    LOG_LEVEL: 'pino level (default info)',
  },
  notes: ['It reads the same configuration as npm start (WORKER is always true here): docs/configuration.md.'],
});
const config = loadConfigOrExit({ ...process.env, WORKER: 'true' });
const logger = createLogger(config.logLevel);
survivePromiseRejections(logger);
stopWhileStarting(logger);
// loaded once the command line and the settings are read: --help and a bad setting answer at once
const { createApp } = await import('./app.ts');
const app = await createApp(config, { logger }).catch((err: unknown) => couldNotStart(logger, err));
logger.info({ database: app.database.kind }, 'worker started: verifying integrations and delivering webhooks');
exitOnSignals(app, logger);
