/**
 * A loopback HTTP server standing in for a provider's API: it records every request and
 * answers through a route function, so tests can check exactly what was sent.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** Sent as is in place of `body` as JSON: '' for an empty answer such as SendGrid's 202. */
  raw?: string;
  /** Response headers besides content-type (X-Message-Id, Retry-After…). */
  headers?: Record<string, string>;
}

export interface FakeApi {
  url: string;
  seen: Seen[];
  /** Replaces the route: e.g. answer 503 for a while. */
  route: (req: Seen) => Reply | Promise<Reply>;
  close(): Promise<void>;
}

export async function startFakeApi(route: (req: Seen) => Reply | Promise<Reply>): Promise<FakeApi> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const seen: Seen = {
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      fake.seen.push(seen);
      let reply: Reply;
      try {
        reply = await fake.route(seen);
      } catch {
        reply = { status: 500 };
      }
      const body = reply.raw ?? JSON.stringify(reply.body ?? {});
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fake: FakeApi = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen: [],
    route,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

/** A fake of Stripe's `GET /v1/balance` accepting exactly one secret key. */
export function stripeBalance(acceptedKey: string) {
  return (req: Seen): Reply => {
    if (req.method !== 'GET' || req.path !== '/v1/balance') return { status: 404, body: { error: { type: 'invalid_request_error' } } };
    if (req.headers.authorization !== `Bearer ${acceptedKey}`) return { status: 401, body: { error: { type: 'invalid_request_error' } } };
    return { status: 200, body: { object: 'balance', available: [] } };
  };
}
