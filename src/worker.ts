/**
 * `npm run worker`: background work only (verification and webhook deliveries), no HTTP. Any
 * number of these and of API instances (WORKER=false) share the queue in the database; pg-boss
 * gives each job to one of them.
 */
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';

let config;
try {
  config = loadConfig({ ...process.env, WORKER: 'true' });
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const logger = createLogger(config.logLevel);
const app = await createApp(config, { logger });
logger.info({ database: app.database.kind }, 'worker started: verifying integrations and delivering webhooks');

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker shutting down: finishing jobs in flight');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
