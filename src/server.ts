/**
 * `npm start`: listens at once (readiness says "starting"/"migrating" until the service is up,
 * so orchestrators can tell a slow migration from a dead process), then runs the service and
 * shuts it down gracefully on SIGTERM/SIGINT. Nothing else (`--help`: the main variables).
 */
import { createServer } from 'node:http';
import { listen, listeningUrl } from './http/server.ts';
import { createLogger } from './log.ts';
import { couldNotStart, exitOnSignals, loadConfigOrExit, stopWhileStarting, survivePromiseRejections } from './process.ts';
import { DATABASE_ENV, parseCommandLine } from './scripts/cli.ts';

parseCommandLine({
  usage: 'npm start',
  summary:
    'Runs the service: the GraphQL API and GraphiQL at /graphql, and the background worker unless WORKER=false. SIGTERM stops it gracefully.',
  env: {
    'PORT, HOST': 'where to listen (default 4000, 127.0.0.1)',
    PUBLIC_URL: 'the origin providers and browsers reach the server at',
    ...DATABASE_ENV,
    AUTH_JWT_SECRET: 'HS256 secret of bearer JWTs (default: generated in DATA_DIR/jwt-secret)',
    'AUTH_JWKS_URL, AUTH_JWT_ISSUER, AUTH_JWT_AUDIENCE': 'production JWTs from a JWKS',
    'ENCRYPTION_KEYS, ENCRYPTION_KEY': 'key-encryption keys of stored credentials (default: generated in DATA_DIR)',
    WORKER: 'false: an API-only instance (npm run worker elsewhere does the background work)',
    LOG_LEVEL: 'pino level (default info)',
  },
  notes: ['Every variable, with its default: docs/configuration.md.'],
});
const config = loadConfigOrExit();
const logger = createLogger(config.logLevel);
survivePromiseRejections(logger);
stopWhileStarting(logger);
// loaded once the command line and the settings are read: --help and a bad setting answer at once
const { createApp } = await import('./app.ts');
const server = createServer();
await listen(server, config);
logger.info({ url: listeningUrl(server, config) }, 'starting: readiness at /readyz');
const app = await createApp(config, { logger, server, migrateApart: true }).catch((err: unknown) => couldNotStart(logger, err));
const { url } = await app.listen();
// development only (embedded database on loopback): GraphiQL opens with a token; src/graphql/graphiql.ts
const { DEVELOPMENT_TOKEN, developmentTokenRefusal } = await import('./graphql/graphiql.ts');
const graphiqlSignedIn = developmentTokenRefusal(config) === undefined;
logger.info(
  { url: `${url}/graphql`, database: app.database.kind, graphiqlToken: graphiqlSignedIn ? 'development' : 'none' },
  `listening: GraphQL and GraphiQL at ${url}/graphql${graphiqlSignedIn ? ` (GraphiQL opens signed in as development tenant "${DEVELOPMENT_TOKEN.tenant}")` : ''}`,
);
if (!graphiqlSignedIn && !config.auth.jwksUrl) {
  logger.info('a development token for GraphiQL: npm run token -- --tenant <tenant_id>  (send it as Authorization: Bearer <token>)');
}
exitOnSignals(app, logger);
