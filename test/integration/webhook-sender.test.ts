import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { type SendRequest, sendWebhook } from '../../src/webhooks/sender.ts';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  remotePort: number;
}
type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const servers: (http.Server | tls.Server)[] = [];
const resetServers: net.Server[] = [];
afterEach(async () => {
  for (const server of resetServers.splice(0)) await new Promise((resolve) => server.close(resolve));
  for (const server of servers.splice(0)) {
    if (server instanceof http.Server) server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen<S extends http.Server | tls.Server>(server: S, host: string, port: number): Promise<S> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  servers.push(server);
  return server;
}

/** A real receiver on host:port that records each request once its body has arrived. */
async function receiver(handler: Handler, host = '127.0.0.1', port = 0) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, remotePort: req.socket.remotePort ?? 0 });
      handler(req, res);
    });
  });
  await listen(server, host, port);
  return { seen, port: (server.address() as AddressInfo).port };
}

const reply =
  (status: number, body = '', headers: Record<string, string> = {}): Handler =>
  (_req, res) =>
    res.writeHead(status, headers).end(body);

const LOOPBACK = { address: '127.0.0.1', family: 4 } as const;
function send(url: string, overrides: Partial<SendRequest> = {}) {
  return sendWebhook({
    url: new URL(url),
    address: LOOPBACK,
    headers: {},
    body: '{"type":"webhook.test"}',
    timeoutMs: 2_000,
    ...overrides,
  });
}

describe('sendWebhook', () => {
  it('POSTs the body and reports a 200 with its body', async () => {
    const r = await receiver(reply(200, 'thanks'));
    const before = Date.now();
    const result = await send(`http://127.0.0.1:${r.port}/hook`);
    expect(result).toMatchObject({ status: 200, error: null, responseBody: 'thanks', retryAfter: null });
    expect(result.startedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(r.seen).toHaveLength(1);
    expect(r.seen[0]).toMatchObject({ method: 'POST', url: '/hook', body: '{"type":"webhook.test"}' });
    expect(r.seen[0]?.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': '23',
      'user-agent': 'integrations-control-plane-webhooks/1',
    });
  });

  it('reports a 500 as a status, not an error', async () => {
    const r = await receiver(reply(500, 'oops'));
    expect(await send(`http://127.0.0.1:${r.port}/`)).toMatchObject({ status: 500, error: null, responseBody: 'oops' });
  });

  it('never follows a redirect', async () => {
    const target = await receiver(reply(200, 'followed'));
    const r = await receiver(reply(302, '', { location: `http://127.0.0.1:${target.port}/elsewhere` }));
    const result = await send(`http://127.0.0.1:${r.port}/`);
    expect(result).toMatchObject({ status: 302, error: null, responseBody: '' });
    expect(r.seen).toHaveLength(1);
    expect(target.seen).toHaveLength(0);
  });

  it('captures Retry-After', async () => {
    const r = await receiver(reply(429, 'slow down', { 'retry-after': '120' }));
    expect(await send(`http://127.0.0.1:${r.port}/`)).toMatchObject({ status: 429, retryAfter: '120', responseBody: 'slow down' });
  });

  it('times out a receiver that never answers, with a null status', async () => {
    const r = await receiver(() => {});
    const result = await send(`http://127.0.0.1:${r.port}/`, { timeoutMs: 300 });
    expect(result).toMatchObject({ status: null, error: 'timed out after 300 ms', responseBody: null });
    expect(result.durationMs).toBeGreaterThanOrEqual(290);
    expect(result.durationMs).toBeLessThan(1_500);
    expect(r.seen).toHaveLength(1);
  });

  it('the timeout covers the body: headers then a stalled body still time out', async () => {
    const r = await receiver((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
    });
    const result = await send(`http://127.0.0.1:${r.port}/`, { timeoutMs: 300 });
    expect(result).toMatchObject({ status: null, error: 'timed out after 300 ms' });
    expect(result.durationMs).toBeLessThan(1_500);
  });

  it('a body cut off mid-response keeps the status and reports the error', async () => {
    const r = await receiver((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial', () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const result = await send(`http://127.0.0.1:${r.port}/`);
    expect(result).toMatchObject({ status: 200, error: 'connection reset (ECONNRESET)', responseBody: 'partial' });
  });

  it('reports a closed port as connection refused', async () => {
    const r = await receiver(reply(200));
    servers.pop()?.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const result = await send(`http://127.0.0.1:${r.port}/`);
    expect(result).toMatchObject({ status: null, error: 'connection refused (ECONNREFUSED)', responseBody: null });
  });

  it('keeps at most 2 KiB of a 1 MiB body, drains the rest and reuses the connection', async () => {
    const r = await receiver((req, res) => res.end(req.url === '/big' ? 'x'.repeat(1024 * 1024) : 'small'));
    const big = await send(`http://127.0.0.1:${r.port}/big`);
    expect(big).toMatchObject({ status: 200, error: null });
    expect(big.responseBody).toBe('x'.repeat(2048));
    const small = await send(`http://127.0.0.1:${r.port}/small`);
    expect(small.responseBody).toBe('small');
    expect(r.seen.map((s) => s.remotePort)).toEqual([r.seen[0]?.remotePort, r.seen[0]?.remotePort]);
  });

  it('decodes UTF-8, replacing invalid bytes and dropping a character cut at the limit', async () => {
    const cut = Buffer.from(`a${'é'.repeat(2000)}`); // 'é' is 2 bytes: byte 2048 splits one
    const r = await receiver((req, res) => res.end(req.url === '/cut' ? cut : Buffer.from([0x41, 0xff, 0x42])));
    expect((await send(`http://127.0.0.1:${r.port}/bad`)).responseBody).toBe('A\uFFFDB');
    expect((await send(`http://127.0.0.1:${r.port}/cut`)).responseBody).toBe(`a${'é'.repeat(1023)}`);
  });

  it('connects to the pinned address while Host, path, headers and body are the URL’s', async () => {
    const r = await receiver(reply(204));
    const body = '{"id":"evt_1","note":"naïve ✓"}';
    const result = await send(`http://webhook.test:${r.port}/path/to?x=1`, {
      body,
      headers: {
        'Content-Type': 'application/json; charset=utf-8',
        'webhook-id': 'msg_1',
        'X-Custom': 'yes',
        Host: 'evil.example', // connection headers are the sender's
        'Content-Length': '1',
        'Transfer-Encoding': 'chunked',
      },
    });
    expect(result).toMatchObject({ status: 204, error: null });
    expect(r.seen).toHaveLength(1);
    const seen = r.seen[0]!;
    expect(seen).toMatchObject({ method: 'POST', url: '/path/to?x=1', body });
    expect(seen.headers).toMatchObject({
      host: `webhook.test:${r.port}`,
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'webhook-id': 'msg_1',
      'x-custom': 'yes',
      'user-agent': 'integrations-control-plane-webhooks/1',
    });
    expect(seen.headers['transfer-encoding']).toBeUndefined();
  });

  it('keep-alive reuse never sends a request to another pinned address', async ({ skip }) => {
    const a = await receiver(reply(200, 'A'));
    let b: Awaited<ReturnType<typeof receiver>> | undefined;
    try {
      b = await receiver(reply(200, 'B'), '127.0.0.2', a.port);
    } catch (err) {
      skip(`cannot listen on 127.0.0.2:${a.port} (${(err as NodeJS.ErrnoException).code}); this case needs 127/8 routed to loopback`);
      return;
    }
    const url = `http://webhook.test:${a.port}/`;
    const bodies: (string | null)[] = [];
    for (const address of ['127.0.0.1', '127.0.0.2', '127.0.0.1', '127.0.0.2']) {
      bodies.push((await send(url, { address: { address, family: 4 } })).responseBody);
    }
    expect(bodies).toEqual(['A', 'B', 'A', 'B']);
    expect(a.seen).toHaveLength(2);
    expect(b.seen).toHaveLength(2);
    // The pool was really used: each receiver saw its two requests on one connection.
    expect(a.seen[1]?.remotePort).toBe(a.seen[0]?.remotePort);
    expect(b.seen[1]?.remotePort).toBe(b.seen[0]?.remotePort);
  });

  it('https connects to the pinned address with the URL hostname as TLS SNI', async () => {
    const names: string[] = [];
    // No certificate: the SNI callback sees the name, then the handshake fails on purpose.
    const server = tls.createServer({
      SNICallback: (name, cb) => {
        names.push(name);
        cb(new Error('no certificate in this test'));
      },
    });
    await listen(server, '127.0.0.1', 0);
    const port = (server.address() as AddressInfo).port;
    const result = await send(`https://webhook.test:${port}/`);
    expect(names).toEqual(['webhook.test']);
    expect(result.status).toBeNull();
    expect(result.error).toMatch(/^[a-z ]+ \([A-Z0-9_]+\)$/);
  });

  /**
   * A receiver speaking just enough HTTP/1.1 by hand: it answers the first request of each
   * connection with a keep-alive 200, and resets the connection (TCP RST, nothing read back) on a
   * request it will not answer: every later one on that connection, or all of them with `always`.
   */
  async function resettingReceiver(mode: 'after-first' | 'always') {
    const stats = { connections: 0, answered: 0, reset: 0 };
    const server = net.createServer((socket) => {
      stats.connections++;
      let buffered = '';
      let requests = 0;
      socket.on('data', (chunk) => {
        buffered += chunk.toString('latin1');
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: *(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        buffered = buffered.slice(end + 4 + length);
        requests++;
        if (mode === 'always' || requests > 1) {
          stats.reset++;
          socket.resetAndDestroy();
          return;
        }
        stats.answered++;
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    resetServers.push(server);
    return { stats, port: (server.address() as AddressInfo).port };
  }

  it('a kept-alive connection the receiver closed is retried once on a new one, and the attempt succeeds', async () => {
    const r = await resettingReceiver('after-first');
    expect(await send(`http://127.0.0.1:${r.port}/hook`)).toMatchObject({ status: 200, error: null });
    // the pooled socket of the first attempt is reused, reset, and the request goes again on a new connection
    expect(await send(`http://127.0.0.1:${r.port}/hook`)).toMatchObject({ status: 200, error: null, responseBody: 'ok' });
    expect(r.stats).toEqual({ connections: 2, answered: 2, reset: 1 });
  });

  it('a reset on a new connection is the attempt’s error: never retried', async () => {
    const r = await resettingReceiver('always');
    expect(await send(`http://127.0.0.1:${r.port}/hook`)).toMatchObject({ status: null, error: 'connection reset (ECONNRESET)' });
    expect(r.stats).toEqual({ connections: 1, answered: 0, reset: 1 });
  });

  it('never throws: bad headers and schemes come back as errors', async () => {
    const r = await receiver(reply(200));
    const badHeader = await send(`http://127.0.0.1:${r.port}/`, { headers: { 'x-evil': 'a\r\nx-injected: 1' } });
    expect(badHeader).toMatchObject({ status: null, error: 'invalid request header (ERR_INVALID_CHAR)' });
    expect(await send('ftp://127.0.0.1/')).toMatchObject({ status: null, error: 'URL must use http or https' });
    expect(r.seen).toHaveLength(0);
  });
});
