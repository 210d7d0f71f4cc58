/**
 * createApp(config) → the whole service, ready to listen: database (migrated), keys, identity,
 * job queue and worker, the GraphQL endpoint and the operational routes. `src/server.ts` only
 * listens; tests start the same thing on a random port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { randomUUID } from 'node:crypto';
import { getOperationAST, GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { createYoga, maskError, type Plugin } from 'graphql-yoga';
import { auditPlugin } from './audit/plugin.ts';
import { ChangeVersions, followChanges, responseCache } from './cache/response-cache.ts';
import { createJwtVerifier } from './auth/jwt.ts';
import { AuthenticationError, createAuthenticator } from './auth/viewer.ts';
import type { Config } from './config.ts';
import { createContext, type Context, type Services } from './context.ts';
import { checkKeyring } from './crypto/key-check.ts';
import { loadOrCreateLocalKeyring, parseKeyring, type Keyring } from './crypto/keyring.ts';
import { decryptionAlarm } from './crypto/unreadable.ts';
import { readOrCreateSecretFile } from './crypto/local-secret.ts';
import { openDatabase, type Database } from './db/database.ts';
import { isDatabaseUnavailable } from './db/errors.ts';
import { migrate } from './db/migrate.ts';
import { unauthenticated } from './errors.ts';
import { DELIVER_QUEUE, Outbox } from './events/outbox.ts';
import { createPgEventTarget } from './events/pg-event-target.ts';
import { createAppPubSub } from './events/pubsub.ts';
import { reportRefusal } from './graphql-hardening/armor.ts';
import { costLimitPlugin } from './graphql-hardening/cost.ts';
import { executionLimitsPlugin } from './graphql-hardening/execution-limits.ts';
import { CSRF_HEADER, csrfPrevention } from './graphql-hardening/csrf.ts';
import { codeEveryError } from './graphql-hardening/error-codes.ts';
import { inputLimitsPlugin } from './graphql-hardening/input-limits.ts';
import { GRAPHIQL_TRUSTED_ONLY_NOTE, trustedDocumentsPlugin } from './graphql-hardening/persisted-operations.ts';
import { refuseSubscriptionsUpFront } from './graphql-hardening/refused-subscriptions.ts';
import { blockFieldSuggestions } from './graphql-hardening/suggestions.ts';
import { valueFreeErrors, withoutOriginalError } from './graphql-hardening/value-free-errors.ts';
import { VERIFY_QUEUE } from './integrations/service.ts';
import { JobQueue } from './jobs/queue.ts';
import { BodyTooLarge, readBody } from './http/body.ts';
import { createLeanPath } from './http/lean-graphql.ts';
import { createClientGuard } from './http/client-limits.ts';
import { createRateLimit } from './http/rate-limit.ts';
import { handleInbound } from './inbound/handler.ts';
import { verifyIntegrationWorker } from './jobs/verify-integration.ts';
import { DELIVERY_CONCURRENCY, deliveryWorker } from './webhooks/deliver.ts';
import { sealPlaintextHeaders } from './webhooks/headers.ts';
import { MAX_TIMEOUT_MS } from './webhooks/service.ts';
import { createLogger, type Logger } from './log.ts';
import { serveMetrics } from './observability/endpoint.ts';
import { jobReporter } from './observability/jobs.ts';
import { createMetrics } from './observability/metrics.ts';
import { readQueueStats } from './observability/queue-stats.ts';
import { createTracing } from './observability/tracing.ts';
import { schema } from './schema/index.ts';
import { GRAPHIQL_DEFAULT_QUERY, GRAPHIQL_HEADERS } from './schema/graphiql.ts';

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
}

/** Where the app is in its life; /readyz is 200 only when `ready` (and the database answers). */
type Phase = 'starting' | 'migrating' | 'ready' | 'draining';

export interface App {
  config: Config;
  services: Services;
  database: Database;
  server: Server;
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
    logger.warn({ file }, 'ENCRYPTION_KEY is not set: generated a key-encryption key; back this file up, credentials cannot be read without it'),
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

/**
 * What one GraphQL document may ask, checked before anything runs: depth, aliases and tokens
 * (graphql-armor), and cost (graphql-armor's formula on the page sizes the request will get,
 * src/graphql-hardening/cost.ts). Set from measurement: every documented operation, GraphiQL's
 * default document and its introspection query measure at most depth 7, no alias, 191 tokens
 * and cost 320 (test/documented-operations.test.ts keeps them four levels below the depth limit
 * and at a fifth of the others or less). Abuse is far above: two nested connections of 100 cost
 * 4e5 or more, three 2e8; test/document-limits.test.ts sends payloads just under and over each.
 */
export const DOCUMENT_LIMITS = { depth: 12, aliases: 30, tokens: 5000, cost: 100_000 };

function disableIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

function origin(host: string, port: number) {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** Until the service is ready: liveness yes, readiness no (with the phase), everything else 503. */
function answerWhileNotReady(phase: Phase, req: IncomingMessage, res: ServerResponse) {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
  if (path !== '/readyz') res.setHeader('retry-after', '5');
  sendJson(res, 503, { status: phase, errors: path === '/graphql' ? [{ message: `the service is ${phase}`, extensions: { code: 'UNAVAILABLE' } }] : undefined });
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  let phase: Phase = 'starting';
  let serve: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = options.server ?? createServer();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => (serve && phase === 'ready' ? serve(req, res) : answerWhileNotReady(phase, req, res)));
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    migrationUrl: config.databaseMigrationUrl,
    dataDir: config.dataDir,
    inMemory: options.inMemory,
    onQuery: options.onQuery,
  });
  try {
    phase = 'migrating';
    await migrate(database, logger);
    phase = 'starting';
    const keyring = await resolveKeyring(config, database, logger);
    // a keyring that cannot read what is stored must not run (src/crypto/key-check.ts); it reads
    // every tenant's sealed rows, which only the schema's owner may (src/db/owner.ts)
    await database.asOwner((owner) => checkKeyring(owner.prisma, keyring, logger));
    // webhook header values stored in clear by an older version are sealed before any delivery
    const sealedHeaders = await database.asOwner((owner) => sealPlaintextHeaders(owner.prisma, keyring));
    if (sealedHeaders) logger.info({ webhooks: sealedHeaders }, 'sealed the static header values of webhooks that held them in clear');
    const jwtSecret = await resolveJwtSecret(config, database, logger);
    const queue = new JobQueue(database.queue, logger, options.pollingIntervalSeconds, config.queueMaintenanceSeconds);
    await queue.start([
      {
        name: VERIFY_QUEUE,
        retryLimit: config.verification.retryLimit,
        retryDelaySeconds: config.verification.retryDelaySeconds,
        retryBackoff: true,
        expireInSeconds: Math.ceil(config.verification.timeoutMs / 1000) * 4 + 60,
      },
      {
        // HTTP failures are retried on WEBHOOK_RETRY_SCHEDULE by the worker itself; the
        // queue's own retries only cover a worker that crashed or threw mid-attempt.
        name: DELIVER_QUEUE,
        retryLimit: 20,
        retryDelaySeconds: 1,
        retryBackoff: true,
        expireInSeconds: Math.ceil(MAX_TIMEOUT_MS / 1000) + 30,
      },
    ]);
    // on a PostgreSQL server, subscribers hear changes made by every instance
    const eventTarget = config.databaseUrl ? await createPgEventTarget(config.databaseUrl, logger) : undefined;
    // followed from the moment the LISTEN connection is up, so no loss of it goes unseen
    const versions = new ChangeVersions();
    if (config.responseCache) await followChanges(versions, { eventTarget, database }, logger);
    const metrics = createMetrics({
      logger,
      readQueues: () => readQueueStats(queue.boss.getDb(), [VERIFY_QUEUE, DELIVER_QUEUE], database.queue.schema),
    });
    const services: Services = {
      config,
      publicUrl: config.publicUrl ?? origin(config.host, config.port),
      logger,
      prisma: database.prisma,
      keyring,
      decryptionFailed: decryptionAlarm(logger, metrics.decryptionFailures),
      queue,
      outbox: new Outbox(queue),
      pubsub: createAppPubSub(eventTarget),
    };
    const tracing = await createTracing(config.tracing, logger);
    if (config.worker) {
      const report = jobReporter(metrics, tracing);
      await queue.work(VERIFY_QUEUE, 2, tracing.traceJob(VERIFY_QUEUE, verifyIntegrationWorker(services, report)));
      queue.consume(DELIVER_QUEUE, DELIVERY_CONCURRENCY, tracing.traceJob(DELIVER_QUEUE, deliveryWorker(services, report)));
    }

    const authenticate = createAuthenticator({
      verifyJwt: jwtSecret || config.auth.jwksUrl ? createJwtVerifier({ ...config.auth, secret: jwtSecret }) : undefined,
      prisma: database.prisma,
      logger,
    });

    const rateLimit = createRateLimit(database.prisma, config.rateLimitRpm);
    // per-client limits before authentication: failures, /hooks, streams (src/http/client-limits.ts)
    const guard = createClientGuard(config.clientLimits, config.trustProxyHops, logger);

    /** Open subscription streams: ended at shutdown, so their clients reconnect elsewhere at once. */
    const streams = new Set<ServerResponse>();
    /**
     * A subscription takes a stream slot of its address and tenant when it starts, whatever the
     * request's Accept header (Yoga streams to any that allows text/event-stream, and to none),
     * and is ended at shutdown.
     */
    const streamAdmission: Plugin<{ req: IncomingMessage; res: ServerResponse } & Partial<Context>> = {
      onSubscribe({ args, setResultAndStopExecution }) {
        const { req, res, viewer } = args.contextValue;
        if (!viewer) return;
        const refusal = guard.admitStream(req, res, viewer.tenantId);
        if (refusal) return setResultAndStopExecution({ errors: [refusal] });
        streams.add(res);
        res.once('close', () => streams.delete(res));
      },
    };

    /** What the access log says of a request, filled in as Yoga learns it. */
    const requestInfo = new WeakMap<IncomingMessage, { requestId?: string; tenantId?: string; operationName?: string }>();
    const accessLog: Plugin<{ req: IncomingMessage }> = {
      onExecute({ args }) {
        const info = requestInfo.get(args.contextValue.req);
        if (info) info.operationName = args.operationName ?? getOperationAST(args.document)?.name?.value ?? 'anonymous';
      },
    };

    // successful queries answered without Yoga's Fetch-API layer; everything else, and every
    // failure, is Yoga's (src/http/lean-graphql.ts)
    const lean = config.trustedDocuments?.only ? undefined : createLeanPath({ onAnswered: metrics.answered, onHandedOver: metrics.handedOver });

    const yoga = createYoga<{ req: IncomingMessage; res: ServerResponse }, Context>({
      schema,
      graphqlEndpoint: '/graphql',
      landingPage: false,
      logging: false,
      graphiql: {
        title: 'Integrations control plane',
        // only trusted documents run: GraphiQL can send none, and says so
        defaultQuery: config.trustedDocuments?.only ? GRAPHIQL_TRUSTED_ONLY_NOTE : GRAPHIQL_DEFAULT_QUERY,
        // Yoga makes these GraphiQL's default headers: every tab starts with the placeholder.
        headers: GRAPHIQL_HEADERS,
        // Yoga's default is true; a pasted bearer token is not kept in the browser's storage.
        shouldPersistHeaders: false,
        // sent with every request GraphiQL makes, whatever the Headers tab holds, so a GET
        // (GraphiQL's SSE subscriptions can use one) passes the CSRF check too
        additionalHeaders: { [CSRF_HEADER]: '1' },
      },
      renderGraphiQL,
      // route() reads every POST body with readBody's limit before Yoga sees it (a 413 over
      // it); Yoga's own limit would pass the read body through another stream for nothing
      maxRequestBodySize: false,
      plugins: [
        csrfPrevention(),
        // before every plugin that can refuse a subscription, so it sees each one start
        refuseSubscriptionsUpFront(),
        streamAdmission,
        ...(config.trustedDocuments ? [trustedDocumentsPlugin(config.trustedDocuments)] : []),
        // Limits well above every documented operation and GraphiQL's introspection, well below abuse.
        maxDepthPlugin({ n: DOCUMENT_LIMITS.depth, ignoreIntrospection: true, exposeLimits: true, ...reportRefusal }),
        maxAliasesPlugin({ n: DOCUMENT_LIMITS.aliases, exposeLimits: true, ...reportRefusal }),
        maxTokensPlugin({ n: DOCUMENT_LIMITS.tokens, exposeLimits: true }),
        // after max-tokens (it wraps its parser) and before anything reads the variables
        inputLimitsPlugin(),
        valueFreeErrors(),
        costLimitPlugin({ maxCost: DOCUMENT_LIMITS.cost }),
        executionLimitsPlugin(config.execution),
        blockFieldSuggestions(),
        codeEveryError(),
        ...(config.introspection ? [] : [disableIntrospection()]),
        accessLog,
        metrics.plugin,
        ...tracing.plugins,
        auditPlugin((req) => requestInfo.get(req)?.requestId),
        ...(lean ? [lean.plugin] : []),
        // last: an answer it gives stops execution after every other plugin has seen it start
        ...(config.responseCache ? [responseCache(versions, { onLookup: (outcome) => metrics.responseCache.inc({ outcome }) })] : []),
      ],
      context: async ({ request, req, res }) => {
        lean?.rethrowFailedContext(req);
        let viewer;
        try {
          viewer = await authenticate(request.headers);
        } catch (err) {
          if (err instanceof AuthenticationError) throw await guard.authenticationFailed(req, unauthenticated(err.message));
          throw err;
        }
        const info = requestInfo.get(req);
        if (info) info.tenantId = viewer.tenantId;
        await rateLimit(viewer);
        return createContext(viewer, services);
      },
      maskedErrors: {
        maskError(error, message, isDev) {
          const original = error instanceof GraphQLError ? error.originalError : error;
          if (isDatabaseUnavailable(original)) {
            logger.warn({ err: original }, 'database unavailable');
            // the client's to retry, as a typed 503 (no driver text: it can name hosts and users)
            return new GraphQLError('The database is unavailable; retry shortly.', {
              extensions: { code: 'UNAVAILABLE', http: { status: 503, headers: { 'retry-after': '5' } } },
            });
          }
          if (original && !(original instanceof GraphQLError)) {
            logger.error({ err: original, path: error instanceof GraphQLError ? error.path : undefined }, 'unexpected error in a resolver');
          }
          // Yoga's isDev defaults to NODE_ENV=development when not given
          const dev = isDev ?? process.env.NODE_ENV === 'development';
          return withoutOriginalError(maskError(error, message, dev), dev);
        },
      },
    });

    async function route(req: IncomingMessage, res: ServerResponse) {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (path === '/graphql') {
        logAccess(req, res);
        if (req.method === 'POST') {
          let body: Buffer;
          try {
            // read with the limit here; Yoga takes an already-read body as is
            body = (req as IncomingMessage & { body?: Buffer }).body = await readBody(req);
          } catch (err) {
            if (!(err instanceof BodyTooLarge)) throw err;
            return sendJson(res, 413, { errors: [{ message: err.message, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
          }
          if (lean && (await lean.answer(yoga, req, res, body))) return;
        }
        return yoga.requestListener(req, res);
      }
      const hook = /^\/hooks\/([a-z0-9_]+)\/([A-Za-z0-9_-]{16,128})$/.exec(path);
      if (hook) return (await guard.refusedHook(req, res, hook[2]!)) ? undefined : handleInbound(services, req, res, hook[1]!, hook[2]!);
      if (path === '/metrics') return serveMetrics(metrics, config, req, res);
      if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (path === '/readyz') {
        const up = await database.prisma.$queryRaw`SELECT 1`.then(() => true, () => false);
        return sendJson(res, up ? 200 : 503, { status: up ? 'ready' : 'database unreachable' });
      }
      sendJson(res, 404, { error: 'not found' });
    }

    /**
     * One JSON line per GraphQL request when it ends: request id (the client's x-request-id when
     * it is sane, else a new one, echoed back), tenant, operation, status and duration. Never
     * headers, variables or bodies.
     */
    // its fields are fixed and none is a redaction path: the line skips pino's redaction pass
    // (a field added to it is written as it is)
    const accessLogger = logger.child({}, { redact: [] });
    function logAccess(req: IncomingMessage, res: ServerResponse) {
      const given = req.headers['x-request-id'];
      const requestId = typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
      res.setHeader('x-request-id', requestId);
      const info: { requestId?: string; tenantId?: string; operationName?: string } = { requestId };
      requestInfo.set(req, info);
      const started = performance.now();
      res.once('finish', () => {
        accessLogger.info(
          { method: req.method, status: res.statusCode, durationMs: Math.round(performance.now() - started), ...info },
          'graphql request',
        );
      });
    }

    // Nothing a request does may take the process down: failures are logged and answered 500.
    serve = (req, res) => {
      route(req, res).catch((err: unknown) => {
        // inbound URLs carry their integration's token: it is not logged
        const path = (req.url ?? '').split('?')[0]?.replace(/^(\/hooks\/[^/]+\/).+/, '$1[token]');
        logger.error({ err, method: req.method, path }, 'request failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    };

    phase = 'ready';
    return {
      config,
      services,
      database,
      server,
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
        for (const stream of streams) stream.end();
        await closeServer(server, deadline);
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

/** Listens on HOST:PORT (src/server.ts does this before createApp, to answer readiness early). */
export function listen(server: Server, config: Config): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function listeningUrl(server: Server, config: Config): string {
  const address = server.address();
  return origin(config.host, typeof address === 'object' && address ? address.port : config.port);
}

/** Stops accepting, lets in-flight requests finish until `deadline`, then cuts what is left. */
async function closeServer(server: Server, deadline: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const cut = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
  await closed;
  clearTimeout(cut);
}
