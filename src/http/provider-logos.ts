/**
 * GET /assets/providers/<name>.svg: the provider logos of src/providers/logos.ts, drawn once at
 * start. Public (they are catalog data, like `providers`), with a strict Content-Type, `nosniff`,
 * a CSP that lets the SVG load nothing and run nothing, and a day of caching with an ETag.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROVIDERS } from '../providers/catalog.ts';
import { type RenderedLogo, renderedLogo } from '../providers/logos.ts';

const LOGOS: ReadonlyMap<string, RenderedLogo> = new Map(PROVIDERS.map((p) => [p.name, renderedLogo(p.badge)]));

const HEADERS = {
  'content-type': 'image/svg+xml; charset=utf-8',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
  'cache-control': 'public, max-age=86400',
  'cross-origin-resource-policy': 'cross-origin',
};

export function serveProviderLogo(req: IncomingMessage, res: ServerResponse, name: string): void {
  const logo = LOGOS.get(name);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ error: 'method not allowed' }));
    return;
  }
  if (!logo) {
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ error: 'not found' }));
    return;
  }
  if (req.headers['if-none-match'] === logo.etag) {
    res.writeHead(304, { etag: logo.etag, 'cache-control': HEADERS['cache-control'] });
    res.end();
    return;
  }
  res.writeHead(200, { ...HEADERS, etag: logo.etag, 'content-length': logo.body.length });
  res.end(req.method === 'HEAD' ? undefined : logo.body);
}
