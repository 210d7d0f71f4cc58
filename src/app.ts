/**
 * createApp(config) → the whole service, ready to listen: database (migrated), keys, identity,
 * job queue and workers, the GraphQL endpoint and the operational routes. Wiring only: the
 * routes are in src/http/, Yoga in src/graphql/yoga.ts, the queues in src/jobs/registry.ts.
 * `src/server.ts` only listens; tests start the same thing on a random port.
 */
import { createServer, type Server } from 'node:http';
import { createJwtVerifier } from './auth/jwt.ts';
import { createAuthenticator } from './auth/viewer.ts';
import { ChangeVersions, followChanges } from './cache/response-cache.ts';
import type { Config } from './config.ts';
import { checkKeyring } from './crypto/key-check.ts';
import { type Keyring, loadOrCreateLocalKeyring, parseKeyring } from './crypto/keyring.ts';
import { readOrCreateSecretFile } from './crypto/local-secret.ts';
import { decryptionAlarm } from './crypto/unreadable.ts';
import { type Database, openDatabase } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { openMigratedApart } from './db/migrate-apart.ts';
import { Outbox } from './events/outbox.ts';
import { createPgEventTarget } from './events/pg-event-target.ts';
import { createAppPubSub } from './events/pubsub.ts';
import { createGraphQL } from './graphql/yoga.ts';
import { createAccessLog } from './http/access-log.ts';
import { createClientGuard } from './http/client-limits.ts';
import { createRateLimit } from './http/rate-limit.ts';
import { answerWhileNotReady, createRoutes, type Listener, type Phase } from './http/routes.ts';
import { closeServer, listen, listeningUrl, origin } from './http/server.ts';
import { createWebSocketEndpoint, type GraphQLWebSocket, refuseUpgrade } from './http/websocket.ts';
import { JobQueue } from './jobs/queue.ts';
import { QUEUE_NAMES, queueDefinitions, startWorkers } from './jobs/registry.ts';
import { createLogger, type Logger } from './log.ts';
import { createMetrics } from './observability/metrics.ts';
import { readQueueStats } from './observability/queue-stats.ts';
import { createTracing } from './observability/tracing.ts';
import { type DataRetention, startDataRetention } from './retention/purge.ts';
import { applyRetention } from './retention/windows.ts';
import { RoutingTable } from './routing/table.ts';
import type { Services } from './services.ts';
import { sealPlaintextHeaders } from './webhooks/headers.ts';

export interface AppOptions {
  logger?: Logger;
  /** Embedded database in memory instead of DATA_DIR (tests). */
  inMemory?: boolean;
  /** Job polling interval; tests poll faster. */
  pollingIntervalSeconds?: number;
  /** Sees every SQL statement Prisma sends (tests and benchmarks count them). */
  onQuery?: (sql: string) => void;
  /**
   * A server that is already listening (src/server.ts): it answers /healthz, and /readyz with 503
   * and the phase, while the database opens and migrates; the service takes it over when ready.
   */
  server?: Server;
  /**
   * An embedded DATA_DIR that is new or has pending migrations is migrated by a child process,
   * whose memory goes with it (src/db/migrate-apart.ts): the server's own start (src/server.ts).
   */
  migrateApart?: boolean;
}

export interface App {
  config: Config;
  services: Services;
  database: Database;
  server: Server;
  /** The retention purge, in a process that does background work (WORKER); tests run it with purgeOnce. */
  retention?: DataRetention;
  listen(): Promise<{ url: string }>;
  close(): Promise<void>;
}

async function resolveKeyring(config: Config, database: Database, logger: Logger): Promise<Keyring> {
  const keyring = parseKeyring(config.encryption);
  if (keyring) return keyring;
  if (database.kind !== 'embedded') {
    throw new Error('ENCRYPTION_KEY (or ENCRYPTION_KEYS) is required with DATABASE_URL: credentials are encrypted with it');
  }
  return loadOrCreateLocalKeyring(config.dataDir, (file) =>
    logger.warn(
      { file },
      'ENCRYPTION_KEY is not set: generated a key-encryption key; back this file up, credentials cannot be read without it',
    ),
  );
}

async function resolveJwtSecret(config: Config, database: Database, logger: Logger): Promise<string | undefined> {
  if (config.auth.jwtSecret || config.auth.jwksUrl) return config.auth.jwtSecret;
  if (database.kind !== 'embedded') {
    throw new Error('AUTH_JWT_SECRET or AUTH_JWKS_URL is required with DATABASE_URL: nothing could authenticate otherwise');
  }
  return readOrCreateSecretFile(config.dataDir, 'jwt-secret', 48, (file) =>
    logger.warn({ file }, 'AUTH_JWT_SECRET is not set: generated a development secret (npm run token signs with it)'),
  );
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  let phase: Phase = 'starting';
  let serve: Listener | undefined;
  const server = options.server ?? createServer();
  server.on('request', (req, res) => (serve && phase === 'ready' ? serve(req, res) : answerWhileNotReady(phase, req, res)));
  // GraphQL over WebSocket at /graphql (src/http/websocket.ts), once ready
  let websocket: GraphQLWebSocket | undefined;
  server.on('upgrade', (req, socket, head) =>
    websocket && phase === 'ready'
      ? websocket.upgrade(req, socket, head)
      : refuseUpgrade(socket, 503, `the service is ${phase}`, 'UNAVAILABLE', { 'retry-after': '5' }),
  );
  const open = () =>
    openDatabase({
      databaseUrl: config.databaseUrl,
      migrationUrl: config.databaseMigrationUrl,
      dataDir: config.dataDir,
      inMemory: options.inMemory,
      onQuery: options.onQuery,
      logger,
      connectTimeoutMs: config.databaseConnectTimeoutMs,
    });
  const apart = options.migrateApart && !config.databaseUrl && !options.inMemory;
  if (apart) phase = 'migrating';
  const database = apart ? await openMigratedApart(config.dataDir, open, logger) : await open();
  try {
    phase = 'migrating';
    // with `apart`, nothing is left to do here: one query says so
    await migrate(database, logger);
    phase = 'starting';
    const keyring = await resolveKeyring(config, database, logger);
    // every tenant's sealed rows, which only the schema's owner may read (src/db/owner.ts), on one
    // owner connection: a keyring that cannot read what is stored must not run
    // (src/crypto/key-check.ts), then header values still stored in clear are
    // sealed before any delivery
    const sealedHeaders = await database.asOwner(async (owner) => {
      await checkKeyring(owner.prisma, keyring, logger);
      return sealPlaintextHeaders(owner.prisma, keyring);
    });
    if (sealedHeaders) logger.info({ webhooks: sealedHeaders }, 'sealed the static header values of webhooks that held them in clear');
    const jwtSecret = await resolveJwtSecret(config, database, logger);
    const queue = new JobQueue(database.queue, logger, options.pollingIntervalSeconds, config.queueMaintenanceSeconds);
    await queue.start(queueDefinitions(config));
    // on a PostgreSQL server, subscribers hear changes made by every instance
    const eventTarget = config.databaseUrl ? await createPgEventTarget(config.databaseUrl, logger) : undefined;
    // followed from the moment the LISTEN connection is up, so no loss of it goes unseen; always:
    // the routing table reads them whether or not the response cache is on
    const versions = new ChangeVersions();
    await followChanges(versions, { eventTarget, database }, logger);
    const metrics = createMetrics({
      logger,
      readQueues: () => readQueueStats(queue.boss.getDb(), QUEUE_NAMES, database.queue.schema),
    });
    const services: Services = {
      config,
      publicUrl: config.publicUrl ?? origin(config.host, config.port),
      logger,
      prisma: database.prisma,
      reader: database.reader,
      transactions: database.transactions,
      keyring,
      decryptionFailed: decryptionAlarm(logger, metrics.decryptionFailures),
      queue,
      outbox: new Outbox(queue),
      pubsub: createAppPubSub(eventTarget),
      routes: new RoutingTable(versions),
    };
    const tracing = await createTracing(config.tracing, logger);
    if (config.worker) await startWorkers(services, metrics, tracing);
    // history past DATA_RETENTION / AUDIT_RETENTION is hidden from every read here, and purged
    // (with payloads past OPERATION_RETENTION_DAYS) by any process that does background work
    applyRetention(database.prisma, config.retention);
    const retention = config.worker
      ? startDataRetention(database.prisma, config, logger, { partitions: database.kind === 'postgres' })
      : undefined;

    const authenticate = createAuthenticator({
      verifyJwt: jwtSecret || config.auth.jwksUrl ? createJwtVerifier({ ...config.auth, secret: jwtSecret }) : undefined,
      prisma: database.prisma,
      logger,
    });
    const rateLimit = createRateLimit(database.prisma, config.rateLimitRpm);
    // per-client limits before authentication: failures, /hooks, streams (src/http/client-limits.ts)
    const guard = createClientGuard(config.clientLimits, config.trustProxyHops, logger);
    const accessLog = createAccessLog(logger);
    const graphql = createGraphQL({ config, services, logger, authenticate, rateLimit, guard, metrics, tracing, versions, accessLog });
    serve = createRoutes({ config, services, database, logger, metrics, guard, accessLog, graphql, authenticate });
    websocket = createWebSocketEndpoint({ config, graphql, metrics, authenticate, guard, logger });

    phase = 'ready';
    return {
      config,
      services,
      database,
      server,
      retention,
      listen: async () => {
        if (!server.listening) await listen(server, config);
        const url = listeningUrl(server, config);
        services.publicUrl = config.publicUrl ?? url;
        return { url };
      },
      /**
       * Graceful shutdown within SHUTDOWN_TIMEOUT_SECONDS: readiness goes false, no new
       * connections, subscription streams end, in-flight requests finish (cut at the deadline),
       * then running jobs finish or are handed back to the queue, then connections close.
       */
      close: async () => {
        phase = 'draining';
        const deadline = Date.now() + config.shutdownTimeoutMs;
        graphql.endStreams();
        const sockets = websocket?.close(deadline);
        await closeServer(server, deadline);
        await sockets;
        await retention?.stop();
        await queue.stop(Math.max(1000, deadline - Date.now()));
        await tracing.shutdown(); // after the last job's span ended
        await eventTarget?.close();
        await database.close();
      },
    };
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
}
