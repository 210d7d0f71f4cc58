/**
 * The GraphQL endpoint: Yoga with its options, the plugin list in its order (CSRF, document
 * limits, error masking, introspection, metrics, tracing, audit, lean path, change versions, response cache),
 * GraphiQL, and the request context (authentication, then the tenant's rate limit).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { auditPlugin } from '../audit/plugin.ts';
import { AuthenticationError, type Authenticator } from '../auth/viewer.ts';
import { type ChangeVersions, changeVersions, responseCache } from '../cache/response-cache.ts';
import type { Config } from '../config.ts';
import { type Context, createContext } from '../context.ts';
import { isDatabaseUnavailable } from '../db/errors.ts';
import { unauthenticated } from '../errors.ts';
import { reportRefusal } from '../graphql-hardening/armor.ts';
import { costLimitPlugin } from '../graphql-hardening/cost.ts';
import { csrfPrevention } from '../graphql-hardening/csrf.ts';
import { codeEveryError } from '../graphql-hardening/error-codes.ts';
import { executionLimitsPlugin } from '../graphql-hardening/execution-limits.ts';
import { inputLimitsPlugin } from '../graphql-hardening/input-limits.ts';
import { trustedDocumentsPlugin } from '../graphql-hardening/persisted-operations.ts';
import { refuseSubscriptionsUpFront } from '../graphql-hardening/refused-subscriptions.ts';
import { refuseUnsupportedSubscriptionTransports } from '../graphql-hardening/subscription-transports.ts';
import { blockFieldSuggestions } from '../graphql-hardening/suggestions.ts';
import { valueFreeErrors, withoutOriginalError } from '../graphql-hardening/value-free-errors.ts';
import type { AccessLog } from '../http/access-log.ts';
import type { ClientGuard, StreamEnd } from '../http/client-limits.ts';
import { createLeanPath, type LeanPath } from '../http/lean-graphql.ts';
import type { RateLimit } from '../http/rate-limit.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Tracing } from '../observability/tracing.ts';
import { schema } from '../schema/index.ts';
import type { Services } from '../services.ts';
import { graphiqlNeverStored, graphiqlOptions } from './graphiql.ts';

/**
 * What one GraphQL document may ask, checked before anything runs: depth, aliases and tokens
 * (graphql-armor), and cost (graphql-armor's formula on the page sizes the request will get,
 * src/graphql-hardening/cost.ts). Set from measurement: every documented operation, GraphiQL's
 * default document and its introspection query measure at most depth 7, no alias, 191 tokens
 * and cost 320 (test/integration/documented-operations.test.ts keeps them four levels below the depth limit
 * and at a fifth of the others or less). Abuse is far above: two nested connections of 100 cost
 * 4e5 or more, three 2e8; test/integration/document-limits.test.ts sends payloads just under and over each.
 */
export const DOCUMENT_LIMITS = { depth: 12, aliases: 30, tokens: 5000, cost: 100_000 };

/**
 * What Node's HTTP server hands Yoga with each request. An operation over a WebSocket
 * (src/http/websocket.ts) has the upgrade request as `req`, no `res`, and `websocket`.
 */
export type ServerContext = { req: IncomingMessage; res: ServerResponse; websocket?: { end: StreamEnd } };

export interface GraphQLDeps {
  config: Config;
  services: Services;
  logger: Logger;
  authenticate: Authenticator;
  rateLimit: RateLimit;
  guard: ClientGuard;
  metrics: Metrics;
  tracing: Tracing;
  versions: ChangeVersions;
  accessLog: AccessLog;
}

export interface GraphQL {
  yoga: YogaServerInstance<ServerContext, Context>;
  /** Successful queries answered without Yoga's Fetch-API layer (off with TRUSTED_DOCUMENTS_ONLY). */
  lean?: LeanPath;
  /** Ends every open subscription stream (at shutdown, so their clients reconnect elsewhere at once). */
  endStreams(): void;
}

function disableIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

/**
 * A failure the schema does not type: an unavailable database becomes a typed 503 for the client
 * to retry; anything else is logged for operators and masked for clients.
 */
function maskErrors(logger: Logger) {
  return (error: unknown, message: string, isDev?: boolean) => {
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
  };
}

export function createGraphQL({
  config,
  services,
  logger,
  authenticate,
  rateLimit,
  guard,
  metrics,
  tracing,
  versions,
  accessLog,
}: GraphQLDeps): GraphQL {
  /** Open subscription streams: ended at shutdown, so their clients reconnect elsewhere at once. */
  const streams = new Set<ServerResponse>();
  /**
   * A subscription takes a stream slot of its address and tenant when it starts, whatever the
   * request's Accept header (Yoga streams to any that allows text/event-stream, and to none),
   * and is ended at shutdown.
   */
  const streamAdmission: Plugin<ServerContext & Partial<Context>> = {
    onSubscribe({ args, setResultAndStopExecution }) {
      const { req, res, viewer, websocket } = args.contextValue;
      if (!viewer) return;
      const refusal = guard.admitStream(req, websocket?.end ?? res, viewer.tenantId);
      if (refusal) return setResultAndStopExecution({ errors: [refusal] });
      // a WebSocket subscription's socket is ended at shutdown by src/http/websocket.ts
      if (websocket) return;
      streams.add(res);
      res.once('close', () => streams.delete(res));
    },
  };

  // successful queries answered without Yoga's Fetch-API layer; everything else, and every
  // failure, is Yoga's (src/http/lean-graphql.ts)
  const lean = config.trustedDocuments?.only
    ? undefined
    : createLeanPath({ onAnswered: metrics.answered, onHandedOver: metrics.handedOver });

  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: false,
    graphiql: graphiqlOptions(config),
    // GraphiQL's bundle is ~27 MiB of strings once loaded: an API-only process never pays for it
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    // route() reads every POST body with readBody's limit before Yoga sees it (a 413 over
    // it); Yoga's own limit would pass the read body through another stream for nothing
    maxRequestBodySize: false,
    plugins: [
      graphiqlNeverStored(),
      csrfPrevention(),
      // before every plugin that can refuse a subscription, so it sees each one start
      refuseSubscriptionsUpFront(),
      // a subscription that could not stream to this Accept: a 406 saying what works, no stream slot
      refuseUnsupportedSubscriptionTransports(),
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
      accessLog.plugin,
      metrics.plugin,
      ...tracing.plugins,
      auditPlugin((req) => accessLog.info(req)?.requestId),
      ...(lean ? [lean.plugin] : []),
      // a mutation's change is read at once on this instance, by the response cache and the routing table
      changeVersions(versions),
      // last: an answer it gives stops execution after every other plugin has seen it start
      ...(config.responseCache ? [responseCache(versions, { onLookup: (outcome) => metrics.responseCache.inc({ outcome }) })] : []),
    ],
    context: async ({ request, req }) => {
      lean?.rethrowFailedContext(req);
      let viewer;
      try {
        viewer = await authenticate(request.headers);
      } catch (err) {
        if (err instanceof AuthenticationError) throw await guard.authenticationFailed(req, unauthenticated(err.message));
        throw err;
      }
      const info = accessLog.info(req);
      if (info) info.tenantId = viewer.tenantId;
      await rateLimit(viewer);
      return createContext(viewer, services);
    },
    maskedErrors: { maskError: maskErrors(logger) },
  });

  return {
    yoga,
    lean,
    endStreams() {
      for (const stream of streams) stream.end();
    },
  };
}
