/**
 * `npm start`: listens at once (readiness says "starting"/"migrating" until the service is up,
 * so orchestrators can tell a slow migration from a dead process), then runs the service and
 * shuts it down gracefully on SIGTERM/SIGINT. Nothing else.
 */
import { createServer } from 'node:http';
import { createApp } from './app.ts';
import { listen, listeningUrl } from './http/server.ts';
import { createLogger } from './log.ts';
import { exitOnSignals, loadConfigOrExit, survivePromiseRejections } from './process.ts';

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel);
survivePromiseRejections(logger);
const server = createServer();
await listen(server, config);
logger.info({ url: listeningUrl(server, config) }, 'starting: readiness at /readyz');
const app = await createApp(config, { logger, server }).catch((err: unknown) => {
  logger.fatal({ err }, 'could not start');
  process.exit(1);
});
const { url } = await app.listen();
logger.info({ url: `${url}/graphql`, database: app.database.kind }, `listening: GraphQL and GraphiQL at ${url}/graphql`);
if (!config.auth.jwksUrl) {
  logger.info('a development token for GraphiQL: npm run token -- --tenant <tenant_id>  (send it as Authorization: Bearer <token>)');
}
exitOnSignals(app, logger);
