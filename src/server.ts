/** `npm start`: listens, and shuts down gracefully on SIGTERM/SIGINT. Nothing else. */
import { createApp } from './app.ts';
import { createLogger } from './log.ts';
import { exitOnSignals, loadConfigOrExit } from './process.ts';

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel);
const app = await createApp(config, { logger });
const { url } = await app.listen();
logger.info({ url: `${url}/graphql`, database: app.database.kind }, `listening: GraphQL and GraphiQL at ${url}/graphql`);
if (!config.auth.jwksUrl) {
  logger.info('a development token for GraphiQL: npm run token -- --tenant <tenant_id>  (send it as Authorization: Bearer <token>)');
}
exitOnSignals(app, logger);
