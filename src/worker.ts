/**
 * `npm run worker`: background work only (verification and webhook deliveries), no HTTP. Any
 * number of these and of API instances (WORKER=false) share the queue in the database; pg-boss
 * gives each job to one of them.
 */
import { createApp } from './app.ts';
import { createLogger } from './log.ts';
import { exitOnSignals, loadConfigOrExit, survivePromiseRejections } from './process.ts';

const config = loadConfigOrExit({ ...process.env, WORKER: 'true' });
const logger = createLogger(config.logLevel);
survivePromiseRejections(logger);
const app = await createApp(config, { logger });
logger.info({ database: app.database.kind }, 'worker started: verifying integrations and delivering webhooks');
exitOnSignals(app, logger);
