/**
 * GraphQL over WebSocket at `GET /graphql` (graphql-transport-ws, the graphql-ws library): the
 * credentials in `connectionParams` are checked at `connection_init` (4401 when bad); every
 * operation runs through Yoga's envelop as an HTTP request does (Yoga's graphql-ws recipe), so its
 * limits, masking, scopes, audit and rate limits apply. Close codes and choices:
 * docs/using-the-api.md ("Subscriptions over WebSocket").
 */
import { EventEmitter } from 'node:events';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  type GraphQLFormattedError,
  getOperationAST,
} from 'graphql';
import {
  CloseCode,
  GRAPHQL_TRANSPORT_WS_PROTOCOL,
  handleProtocols,
  makeServer,
  type Context as SocketContext,
  type SubscribePayload,
} from 'graphql-ws';
import { isAsyncIterable } from 'graphql-yoga';
import { decodeJwt } from 'jose';
import { type WebSocket, WebSocketServer } from 'ws';
import { isConnectToken } from '../auth/connect-sessions.ts';
import { AuthenticationError, type Authenticator } from '../auth/viewer.ts';
import type { Config } from '../config.ts';
import { unauthenticated } from '../errors.ts';
import type { GraphQL } from '../graphql/yoga.ts';
import { ensureCode } from '../graphql-hardening/error-codes.ts';
import { requestedDocumentId } from '../graphql-hardening/persisted-operations.ts';
import { UNSUPPORTED_TRANSPORT_MESSAGE } from '../graphql-hardening/subscription-transports.ts';
import { documentKey } from '../graphql-hardening/trusted-documents.ts';
import type { Logger } from '../log.ts';
import { errorsOutcome, type Metrics } from '../observability/metrics.ts';
import { MAX_BODY_BYTES } from './body.ts';
import type { ClientGuard } from './client-limits.ts';

/** Operations running at once on one socket; each subscription also takes a stream slot (SSE_STREAM_LIMIT_*). */
export const MAX_OPERATIONS_PER_SOCKET = 50;
/** How long a socket may stay open without `connection_init`. */
const CONNECTION_INIT_WAIT_MS = 3_000;
/** How often an open socket's credentials are checked again: a revoked API key loses its sockets within this. */
const REAUTHENTICATE_EVERY_MS = 60_000;
/** Pings this often; a socket that did not answer the previous ping is cut. */
const KEEP_ALIVE_MS = 12_000;
/** setTimeout's limit: a token expiring later is caught by the periodic check instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const CLOSE = { goingAway: 1001, internalError: 1011, unauthorized: 4401, forbidden: 4403, tooManyRequests: 4429 } as const;

export interface WebSocketDeps {
  config: Config;
  graphql: GraphQL;
  metrics: Pick<Metrics, 'socketOperation'>;
  authenticate: Authenticator;
  guard: ClientGuard;
  logger: Logger;
}

export interface GraphQLWebSocket {
  /** The http server's `upgrade` event, in the ready phase. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every socket with 1001 (clients reconnect elsewhere); those still open at `deadline` are cut. */
  close(deadline: number): Promise<void>;
}

/** One socket's state: its credentials as headers, the end of each subscription it runs, what its log line says. */
interface Connection {
  request: IncomingMessage;
  headers: Headers;
  ends: Map<string, EventEmitter>;
  /** When each operation's subscribe message came, for its metrics. */
  started: Map<string, number>;
  timers: NodeJS.Timeout[];
  opened: number;
  tenantId?: string;
  operations: number;
}

type Enveloped = ReturnType<GraphQL['yoga']['getEnveloped']>;
/** What graphql-ws hands each callback besides its own context: the socket and its upgrade request. */
type Extra = { socket: WebSocket; request: IncomingMessage };

/** Answers an upgrade request with an HTTP status and a GraphQL-shaped JSON body, and closes it. */
export function refuseUpgrade(socket: Duplex, status: number, message: string, code: string, headers: Record<string, string> = {}) {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  const head = {
    connection: 'close',
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  };
  const lines = Object.entries(head).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join('')}\r\n${body}`);
}

/** A close reason within the protocol's 123 bytes. */
function reason(text: string): string {
  const bytes = Buffer.from(text);
  return bytes.length <= 123
    ? text
    : `${bytes
        .subarray(0, 120)
        .toString()
        .replace(/\uFFFD$/, '')}…`;
}

/** `authorization` and `x-api-key` from connectionParams (any letter case, or under `headers`), as request headers. */
function credentialHeaders(params: Readonly<Record<string, unknown>> | undefined): Headers {
  const headers = new Headers();
  const nested = params?.headers;
  for (const source of [params, typeof nested === 'object' && nested ? (nested as Record<string, unknown>) : undefined]) {
    for (const [key, value] of Object.entries(source ?? {})) {
      const name = key.toLowerCase();
      if ((name !== 'authorization' && name !== 'x-api-key') || typeof value !== 'string' || headers.has(name)) continue;
      try {
        headers.set(name, value);
      } catch {
        throw new AuthenticationError(`the ${name} connection parameter is malformed`);
      }
    }
  }
  return headers;
}

/** An error as it goes on the wire: a code always (BAD_USER_INPUT when none, as over HTTP), no HTTP status. */
function wireError(error: GraphQLError): GraphQLFormattedError {
  const { http: _http, ...extensions } = (error.extensions ?? {}) as Record<string, unknown>;
  ensureCode(extensions);
  return { ...error.toJSON(), extensions };
}

export function createWebSocketEndpoint({ config, graphql, metrics, authenticate, guard, logger }: WebSocketDeps): GraphQLWebSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES, handleProtocols: (offered) => handleProtocols(offered) });
  const connections = new WeakMap<WebSocket, Connection>();
  const envelopedOf = new WeakMap<object, Enveloped>();

  const unexpected = (err: unknown, what: string) => {
    logger.error({ err }, `unexpected error in a WebSocket ${what}`);
    return new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };

  const connectionOf = (ctx: SocketContext<Record<string, unknown>, Extra>) => {
    const connection = connections.get(ctx.extra.socket);
    if (!connection) throw new Error('a WebSocket without its connection state');
    return connection;
  };

  /** Authenticates a socket's credentials; on failure closes it (4401, or 4429 past the failure limit) and answers false. */
  async function admit(socket: WebSocket, connection: Connection): Promise<boolean> {
    try {
      connection.tenantId = (await authenticate(connection.headers)).tenantId;
      return true;
    } catch (err) {
      if (!(err instanceof AuthenticationError)) {
        logger.error({ err }, 'could not authenticate a WebSocket connection');
        socket.close(CLOSE.internalError, 'Internal error: retry shortly');
        return false;
      }
      const refusal = await guard.authenticationFailed(connection.request, unauthenticated(err.message));
      const limited = refusal.extensions.code === 'RATE_LIMITED';
      socket.close(
        limited ? CLOSE.tooManyRequests : CLOSE.unauthorized,
        reason(limited ? refusal.message : `Unauthorized: ${err.message}`),
      );
      return false;
    }
  }

  /** Closes the socket when its JWT expires, and checks its credentials again every so often (revoked keys). */
  function watchCredentials(socket: WebSocket, connection: Connection) {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(connection.headers.get('authorization') ?? '')?.[1];
    // verified already: only its expiry is read here (a connect session's ends its subscriptions
    // itself, and the recheck below closes the socket)
    const exp = bearer && !isConnectToken(bearer) ? decodeJwt(bearer).exp : undefined;
    if (exp !== undefined && exp * 1000 - Date.now() < MAX_TIMER_MS) {
      const expiry = setTimeout(
        () => socket.close(CLOSE.unauthorized, 'Unauthorized: the token expired'),
        Math.max(0, exp * 1000 - Date.now()),
      );
      connection.timers.push(expiry.unref());
    }
    const recheck = setInterval(() => {
      if (socket.readyState === socket.OPEN) void admit(socket, connection);
    }, REAUTHENTICATE_EVERY_MS);
    connection.timers.push(recheck.unref());
  }

  /** The document an operation runs: its text, or the trusted document it names (TRUSTED_DOCUMENTS). */
  function documentOf(payload: SubscribePayload): string | GraphQLError {
    const trusted = config.trustedDocuments;
    if (!trusted) return payload.query;
    const id = requestedDocumentId(payload as never, { method: 'POST' } as Request);
    if (id) {
      const text = trusted.documents.get(documentKey(id));
      return (
        text ??
        new GraphQLError(`PersistedQueryNotFound: no trusted document has the id ${id}`, {
          extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' },
        })
      );
    }
    if (trusted.only || !payload.query) {
      const send = 'a trusted document id in extensions.persistedQuery.sha256Hash';
      const message = trusted.only
        ? `Only trusted documents run here (TRUSTED_DOCUMENTS_ONLY): send ${send}`
        : `No document: send it in "query", or ${send}`;
      return new GraphQLError(message, { extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } });
    }
    return payload.query;
  }

  /** Parses, validates and builds the context of one operation, as Yoga does for a request; errors answer it. */
  async function prepare(
    connection: Connection,
    socket: WebSocket,
    id: string,
    payload: SubscribePayload,
  ): Promise<ExecutionArgs | readonly GraphQLError[]> {
    const query = documentOf(payload);
    if (query instanceof GraphQLError) return [query];
    const end = new EventEmitter();
    const request = { method: 'POST', url: `http://localhost${connection.request.url ?? '/graphql'}`, headers: connection.headers };
    const params = { ...payload, query };
    const enveloped = graphql.yoga.getEnveloped({ req: connection.request, socket, params, request, websocket: { end } } as never);
    let document: DocumentNode;
    try {
      document = enveloped.parse(query);
    } catch (err) {
      return [err instanceof GraphQLError ? err : unexpected(err, 'parse')];
    }
    const errors = enveloped.validate(enveloped.schema, document);
    if (errors.length) return errors;
    let contextValue: object;
    try {
      contextValue = (await enveloped.contextFactory()) as object;
    } catch (err) {
      if (!(err instanceof GraphQLError)) return [unexpected(err, 'context')];
      // credentials that stopped working since connection_init (a revoked key, an expired token)
      if (err.extensions.code === 'UNAUTHENTICATED') socket.close(CLOSE.unauthorized, reason(err.message));
      return [err];
    }
    envelopedOf.set(contextValue, enveloped);
    connection.ends.set(id, end);
    connection.operations++;
    return { schema: enveloped.schema, document, contextValue, operationName: payload.operationName, variableValues: payload.variables };
  }

  const run = (args: ExecutionArgs, which: 'execute' | 'subscribe') => {
    const enveloped = envelopedOf.get(args.contextValue as object);
    if (!enveloped) throw new Error('an operation without its envelop');
    return enveloped[which](args) as never;
  };

  const endOf = (connection: Connection, id: string) => {
    connection.ends.get(id)?.emit('close');
    connection.ends.delete(id);
  };

  const protocol = makeServer<Record<string, unknown>, Extra>({
    connectionInitWaitTimeout: CONNECTION_INIT_WAIT_MS,
    execute: (args) => run(args, 'execute'),
    subscribe: (args) => run(args, 'subscribe'),
    onConnect: async (ctx) => {
      const connection = connectionOf(ctx);
      const socket = ctx.extra.socket;
      try {
        connection.headers = credentialHeaders(ctx.connectionParams);
      } catch (err) {
        socket.close(CLOSE.unauthorized, reason(`Unauthorized: ${(err as Error).message}`));
        return false;
      }
      // graphql-ws closes with 4403 on false; the socket is closing already with the code that says why
      if (!(await admit(socket, connection))) return false;
      watchCredentials(socket, connection);
      return true;
    },
    onSubscribe: async (ctx, id, payload) => {
      // this operation is counted already
      if (Object.keys(ctx.subscriptions).length > MAX_OPERATIONS_PER_SOCKET) {
        return [
          new GraphQLError(`at most ${MAX_OPERATIONS_PER_SOCKET} operations may run at once on one WebSocket`, {
            extensions: { code: 'RATE_LIMITED' },
          }),
        ];
      }
      const started = performance.now();
      let prepared: Awaited<ReturnType<typeof prepare>>;
      try {
        prepared = await prepare(connectionOf(ctx), ctx.extra.socket, id, payload);
      } catch (err) {
        prepared = [unexpected(err, 'operation')];
      }
      if (Array.isArray(prepared)) {
        metrics.socketOperation({ name: payload.operationName, executed: false, outcome: errorsOutcome(prepared, false), started });
      } else connectionOf(ctx).started.set(id, started);
      return prepared;
    },
    onOperation: (ctx, id, _payload, args, result) => {
      const connection = connectionOf(ctx);
      const started = connection.started.get(id) ?? performance.now();
      connection.started.delete(id);
      const operation = getOperationAST(args.document, args.operationName);
      // graphql-ws awaits the execution before this callback: a result or a stream
      const executed = result as ExecutionResult | AsyncIterable<unknown>;
      const outcome = isAsyncIterable(executed) ? 'ok' : errorsOutcome(executed.errors, executed.data != null);
      metrics.socketOperation({ name: operation?.name?.value ?? null, executed: true, outcome, started });
      if (isAsyncIterable(executed) || operation?.operation !== 'subscription') return;
      // refused when it started: the scope of its field is missing (src/builder.ts authorizeOnSubscribe); no event is sent
      const forbidden = executed.errors?.find((e) => e.extensions?.code === 'FORBIDDEN');
      if (forbidden) ctx.extra.socket.close(CLOSE.forbidden, reason(`Forbidden: ${forbidden.message}`));
    },
    onNext: (_ctx, _id, _payload, _args, result) =>
      result.errors?.length ? { data: result.data, errors: result.errors.map(wireError), extensions: result.extensions } : undefined,
    onError: (_ctx, _id, _payload, errors) =>
      errors.map((e) =>
        // thrown while a stream ran (graphql-ws wraps it): masked like any unexpected error
        e.originalError && !(e.originalError instanceof GraphQLError) ? wireError(unexpected(e.originalError, 'stream')) : wireError(e),
      ),
    onComplete: (ctx, id) => {
      const connection = connectionOf(ctx);
      connection.started.delete(id);
      endOf(connection, id);
    },
  });

  // graphql-ws's `use/ws` adapter, with this service's logging instead of console.error
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const connection: Connection = {
      request,
      headers: new Headers(),
      ends: new Map(),
      started: new Map(),
      timers: [],
      opened: performance.now(),
      operations: 0,
    };
    connections.set(socket, connection);
    // ws closes the socket itself on a protocol error (1009 over maxPayload, 1002…): only noted here
    socket.on('error', (err) => logger.info({ err: err.message }, 'a WebSocket client broke the protocol'));
    let answered = true;
    socket.on('pong', () => {
      answered = true;
    });
    const keepAlive = setInterval(() => {
      if (!answered) return socket.terminate();
      answered = false;
      socket.ping();
    }, KEEP_ALIVE_MS);
    connection.timers.push(keepAlive.unref());
    const closed = protocol.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (err) => (err ? reject(err) : resolve()));
          }),
        close: (code, why) => socket.close(code, why),
        onMessage: (handle) =>
          socket.on('message', async (data) => {
            try {
              await handle(String(data));
            } catch (err) {
              logger.error({ err }, 'unexpected error handling a WebSocket message');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      { socket, request },
    );
    socket.once('close', (code: number, why: Buffer) => {
      for (const timer of connection.timers) clearTimeout(timer);
      for (const id of [...connection.ends.keys()]) endOf(connection, id);
      const { tenantId, operations } = connection;
      logger.info(
        { code, durationMs: Math.round(performance.now() - connection.opened), tenantId, operations },
        'graphql websocket closed',
      );
      closed(code, String(why)).catch((err: unknown) => logger.error({ err }, 'unexpected error ending a WebSocket’s operations'));
    });
  });

  return {
    upgrade(req, socket, head) {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/graphql') {
        return refuseUpgrade(
          socket,
          404,
          'No WebSocket endpoint here: GraphQL over WebSocket (graphql-transport-ws) is at /graphql',
          'NOT_FOUND',
        );
      }
      // a client that offers no graphql-transport-ws (subscriptions-transport-ws offers 'graphql-ws',
      // a bare WebSocket nothing) is told what to speak instead of an unexplained handshake failure
      const offered = String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim());
      if (!offered.includes(GRAPHQL_TRANSPORT_WS_PROTOCOL)) {
        return refuseUpgrade(
          socket,
          400,
          `This WebSocket speaks the ${GRAPHQL_TRANSPORT_WS_PROTOCOL} subprotocol (the graphql-ws library); the legacy ` +
            `subscriptions-transport-ws protocol ('graphql-ws') is not supported. ${UNSUPPORTED_TRANSPORT_MESSAGE}`,
          'UNSUPPORTED_TRANSPORT',
        );
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },

    async close(deadline) {
      const open = [...wss.clients];
      await Promise.all(
        open.map(
          (socket) =>
            new Promise<void>((resolve) => {
              if (socket.readyState === socket.CLOSED) return resolve();
              const cut = setTimeout(() => socket.terminate(), Math.max(0, deadline - Date.now()));
              socket.once('close', () => {
                clearTimeout(cut);
                resolve();
              });
              socket.close(CLOSE.goingAway, 'The server is shutting down: reconnect');
            }),
        ),
      );
    },
  };
}
