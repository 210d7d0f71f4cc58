/**
 * The HTTP paths: /graphql (body read with its limit, then the lean path or Yoga), /hooks/…
 * (inbound provider events), /assets/providers/… (logos), /console (the web console), /metrics,
 * /healthz and /readyz; and what is answered before the service is ready. Nothing a request does
 * may take the process down.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator } from '../auth/viewer.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { GraphQL } from '../graphql/yoga.ts';
import { handleInbound } from '../inbound/handler.ts';
import type { Logger } from '../log.ts';
import { serveMetrics } from '../observability/endpoint.ts';
import type { Metrics } from '../observability/metrics.ts';
import { LOGO_PATH } from '../providers/logos.ts';
import type { Services } from '../services.ts';
import type { AccessLog } from './access-log.ts';
import { BodyTooLarge, MAX_BODY_BYTES, readBody } from './body.ts';
import type { ClientGuard } from './client-limits.ts';
import { CONSOLE_PATH, createConsoleHandler } from './console-static.ts';
import { allowedLargeBody, LARGE_BODY_REFUSAL, largeBodies } from './large-bodies.ts';
import { serveProviderLogo } from './provider-logos.ts';

/** Where the app is in its life; /readyz is 200 only when `ready` (and the database answers). */
export type Phase = 'starting' | 'migrating' | 'ready' | 'draining';

export type Listener = (req: IncomingMessage, res: ServerResponse) => void;

export function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** Until the service is ready: liveness yes, readiness no (with the phase), everything else 503. */
export function answerWhileNotReady(phase: Phase, req: IncomingMessage, res: ServerResponse) {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
  if (path !== '/readyz') res.setHeader('retry-after', '5');
  if (CONSOLE_PATH.test(path ?? '')) {
    // a person's browser asks: words, not JSON
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(`The service is ${phase}; the console is available once it is ready. Retry in a few seconds.\n`);
    return;
  }
  sendJson(res, 503, {
    status: phase,
    errors: path === '/graphql' ? [{ message: `the service is ${phase}`, extensions: { code: 'UNAVAILABLE' } }] : undefined,
  });
}

/**
 * A read body as Yoga's server adapter takes it: an async iterable of one chunk. Given the Buffer
 * itself, the adapter calls Object.keys on it, one string per byte (seconds for 10 MiB).
 */
function preRead(body: Buffer) {
  return {
    bytes: body.length,
    async *[Symbol.asyncIterator]() {
      yield body;
    },
  };
}

export interface RouteDeps {
  config: Config;
  services: Services;
  database: Database;
  logger: Logger;
  metrics: Metrics;
  guard: ClientGuard;
  accessLog: AccessLog;
  graphql: GraphQL;
  /** Checks a large body's credentials before it is read (large-bodies.ts). */
  authenticate: Authenticator;
}

/** The ready service's request listener: failures are logged and answered 500. */
export function createRoutes({
  config,
  services,
  database,
  logger,
  metrics,
  guard,
  accessLog,
  graphql,
  authenticate,
}: RouteDeps): Listener {
  const { yoga, lean } = graphql;
  const large = largeBodies(authenticate);
  const serveConsole = createConsoleHandler({ dir: config.console.dir, connectFrameAncestors: config.console.connectFrameAncestors });

  async function route(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/graphql') {
      accessLog.begin(req, res);
      if (req.method === 'POST') {
        let body: Buffer;
        const tooLarge = () => sendJson(res, 413, { errors: [{ message: LARGE_BODY_REFUSAL, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
        try {
          // read with the limit here; Yoga takes an already-read body as is
          body = await readBody(req, MAX_BODY_BYTES, await large.limitFor(req));
          (req as IncomingMessage & { body?: unknown }).body = preRead(body);
        } catch (err) {
          if (!(err instanceof BodyTooLarge)) throw err;
          return tooLarge();
        }
        if (body.length > MAX_BODY_BYTES && !allowedLargeBody(body)) return tooLarge();
        if (lean && (await lean.answer(yoga, req, res, body))) return;
      }
      return yoga.requestListener(req, res);
    }
    const hook = /^\/hooks\/([a-z0-9_]+)\/([A-Za-z0-9_-]{16,128})$/.exec(path);
    if (hook) return (await guard.refusedHook(req, res, hook[2]!)) ? undefined : handleInbound(services, req, res, hook[1]!, hook[2]!);
    const logo = LOGO_PATH.exec(path);
    if (logo) return serveProviderLogo(req, res, logo[1]!);
    const consolePage = CONSOLE_PATH.exec(path);
    if (consolePage) return serveConsole(req, res, consolePage[1]);
    if (path === '/metrics') return serveMetrics(metrics, config, req, res);
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const up = await database.prisma.$queryRaw`SELECT 1`.then(
        () => true,
        () => false,
      );
      return sendJson(res, up ? 200 : 503, { status: up ? 'ready' : 'database unreachable' });
    }
    sendJson(res, 404, { error: 'not found' });
  }

  return (req, res) => {
    route(req, res).catch((err: unknown) => {
      // inbound URLs carry their integration's token: it is not logged
      const path = (req.url ?? '').split('?')[0]?.replace(/^(\/hooks\/[^/]+\/).+/, '$1[token]');
      logger.error({ err, method: req.method, path }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  };
}
