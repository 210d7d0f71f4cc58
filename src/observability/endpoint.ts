/**
 * `GET /metrics` in Prometheus's text format: with METRICS_TOKEN set, only for `Authorization:
 * Bearer <token>` (compared in constant time); unset, only when the server listens on loopback
 * alone and the request comes from loopback with no forwarding header. Anything else is 404, as for
 * a route that does not exist. Why loopback alone is not enough: docs/configuration.md ("Metrics
 * and tracing").
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLocalClient, isLoopbackHost } from '../http/client-address.ts';
import type { Metrics } from './metrics.ts';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Whether `header` carries the token; false when no token is configured. */
export function authorizedScrape(header: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return false;
  const given = /^Bearer (.+)$/i.exec(header ?? '')?.[1];
  return given !== undefined && timingSafeEqual(digest(given), digest(token));
}

/**
 * The policy: `ok`, `unauthorized` (a token is configured and was not sent: 401), or `hidden`
 * (no token is configured and the scrape is not local, `localScrape`: 404).
 */
export function scrapeAccess(
  token: string | undefined,
  authorization: string | undefined,
  local: boolean,
): 'ok' | 'unauthorized' | 'hidden' {
  if (token !== undefined) return authorizedScrape(authorization, token) ? 'ok' : 'unauthorized';
  return local ? 'ok' : 'hidden';
}

/** Whether a scrape without a token may be answered: see the module comment. */
export function localScrape(host: string, req: IncomingMessage): boolean {
  return isLoopbackHost(host) && isLocalClient(req);
}

export async function serveMetrics(
  metrics: Metrics,
  config: { metricsToken?: string; host: string },
  req: IncomingMessage,
  res: ServerResponse,
) {
  const token = config.metricsToken;
  const access = scrapeAccess(token, req.headers.authorization, token === undefined && localScrape(config.host, req));
  if (access === 'hidden') {
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: 'not found' }));
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  if (access === 'unauthorized') {
    res.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"', 'content-type': 'text/plain; charset=utf-8' }).end('unauthorized\n');
    return;
  }
  const body = await metrics.scrape();
  res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}
