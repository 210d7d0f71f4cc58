/** `npm start`: listens, and shuts down gracefully on SIGTERM/SIGINT. Nothing else. */
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const logger = createLogger(config.logLevel);
const app = await createApp(config, { logger });
const { url } = await app.listen();
logger.info({ url: `${url}/graphql`, database: app.database.kind }, `listening: GraphQL and GraphiQL at ${url}/graphql`);
if (!config.auth.jwksUrl) {
  logger.info('a development token for GraphiQL: npm run token -- --tenant <tenant_id>  (send it as Authorization: Bearer <token>)');
}

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
