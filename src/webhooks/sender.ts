/**
 * One outbound webhook attempt: a POST connected to the address the SSRF guard (ssrf.ts) checked,
 * with the URL's hostname as Host and TLS SNI. Redirects are never followed (a Location was never
 * checked); one timeout covers the whole attempt (status null on timeout); 2 KiB of the answer is
 * kept; a reused connection the receiver had closed is retried once on a new one; framing headers
 * are the sender's. Never throws: every failure is a SendResult with a short error.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedAddress } from './ssrf.ts';

export interface SendRequest {
  url: URL;
  address: ResolvedAddress;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export interface SendResult {
  startedAt: Date;
  durationMs: number;
  status: number | null;
  error: string | null;
  responseBody: string | null;
  retryAfter: string | null;
}

export const MAX_RESPONSE_BODY_BYTES = 2048;
export const USER_AGENT = 'integrations-control-plane-webhooks/1';
const CONNECTION_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
]);

type PinnedOptions = https.RequestOptions & { pinnedAddress: string };

/*
 * One keep-alive agent per protocol per process. Agents pool sockets by getName(), which by
 * default is host:port(+TLS options): two pinned addresses for one hostname would share sockets,
 * and a request pinned to B could go out on a socket connected to A. Adding the pinned address to
 * the name keeps one pool per (host, port, address) without an agent per address.
 */
class PinnedHttpAgent extends http.Agent {
  override getName(options?: http.ClientRequestArgs): string {
    return `${super.getName(options)}|${(options as PinnedOptions | undefined)?.pinnedAddress ?? ''}`;
  }
}
class PinnedHttpsAgent extends https.Agent {
  override getName(options?: https.RequestOptions): string {
    return `${super.getName(options)}|${(options as PinnedOptions | undefined)?.pinnedAddress ?? ''}`;
  }
}
// timeout: idle sockets close after 4 s, under the 5 s keep-alive of common servers (Node's
// default), so a reused socket is rarely one the receiver is closing; Node also honours a shorter
// `Keep-Alive: timeout=` hint from the receiver. As many may stay open idle as may be in use: the
// delivery worker's jobs end in groups, and closing all but a few sockets after each group would
// reconnect them for the next.
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 50, maxFreeSockets: 50, timeout: 4_000 };
const httpAgent = new PinnedHttpAgent(AGENT_OPTIONS);
const httpsAgent = new PinnedHttpsAgent(AGENT_OPTIONS);

function pinnedLookup({ address, family }: ResolvedAddress): LookupFunction {
  // Node 20 asks for all addresses (autoSelectFamily), older callers for one.
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

function requestHeaders(given: Record<string, string>, body: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) {
    const key = name.toLowerCase();
    if (!CONNECTION_HEADERS.has(key)) headers[key] = value;
  }
  headers['content-type'] ??= 'application/json';
  headers['user-agent'] ??= USER_AGENT;
  headers['content-length'] = String(Buffer.byteLength(body));
  return headers;
}

/** What writing to a kept-alive socket the other side has closed fails with. */
const STALE_SOCKET_ERRORS = new Set(['ECONNRESET', 'EPIPE']);

const ERROR_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  ERR_INVALID_CHAR: 'invalid request header',
  ERR_INVALID_HTTP_TOKEN: 'invalid request header',
};

/** "connection refused (ECONNREFUSED)": the code, never the message, which may hold internals. */
function describeError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return 'request failed';
  const text =
    ERROR_TEXT[code] ?? (code.startsWith('HPE_') ? 'invalid HTTP response' : /TLS|CERT|SSL/.test(code) ? 'TLS error' : 'request failed');
  return `${text} (${code})`;
}

function decodeBody(chunks: Buffer[], truncated: boolean): string {
  // stream: true leaves out a character cut in half at the limit instead of showing U+FFFD.
  return new TextDecoder('utf-8').decode(Buffer.concat(chunks), { stream: truncated });
}

export function sendWebhook(req: SendRequest): Promise<SendResult> {
  const startedAt = new Date();
  const start = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let request: http.ClientRequest | undefined;
    const settle = (outcome: Partial<SendResult>, destroy: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (destroy) request?.destroy(); // the socket is in an unknown state: never pool it
      const durationMs = Math.round(performance.now() - start);
      resolve({ startedAt, durationMs, status: null, error: null, responseBody: null, retryAfter: null, ...outcome });
    };
    const timer = setTimeout(() => settle({ error: `timed out after ${req.timeoutMs} ms` }, true), req.timeoutMs);

    const secure = req.url.protocol === 'https:';
    const attempt = (retry: boolean) => {
      const options: PinnedOptions = {
        method: 'POST',
        headers: requestHeaders(req.headers, req.body),
        // the retry takes a connection of its own: the pool may hold more sockets closed alike
        agent: retry ? false : secure ? httpsAgent : httpAgent,
        lookup: pinnedLookup(req.address),
        family: req.address.family,
        pinnedAddress: req.address.address,
      };
      const sent = (secure ? https : http).request(req.url, options);
      request = sent;
      let answered = false;
      sent.on('error', (err) => {
        // A kept-alive socket the receiver had already closed: the request never reached it (no
        // answer began), so it goes once more on a new connection, as Node's documentation of
        // `request.reusedSocket` advises. A receiver closing idle connections would otherwise
        // fail a delivery now and then, and a burst of them could pause the webhook.
        if (!retry && !answered && sent.reusedSocket && STALE_SOCKET_ERRORS.has((err as NodeJS.ErrnoException).code ?? '')) {
          sent.destroy();
          return attempt(true);
        }
        settle({ error: describeError(err) }, true);
      });
      sent.on('response', (res) => {
        answered = true;
        const status = res.statusCode ?? null;
        const retryAfter = res.headers['retry-after'] ?? null;
        const kept: Buffer[] = [];
        let keptBytes = 0;
        let truncated = false;
        res.on('data', (chunk: Buffer) => {
          const room = MAX_RESPONSE_BODY_BYTES - keptBytes;
          if (chunk.length > room) truncated = true;
          if (room <= 0) return;
          const part = Buffer.from(chunk.subarray(0, room)); // a copy: do not pin the whole chunk
          kept.push(part);
          keptBytes += part.length;
        });
        const responseBody = () => decodeBody(kept, truncated);
        res.on('end', () => settle({ status, retryAfter, responseBody: responseBody() }, false));
        // Headers arrived but the body broke off: keep the status, report the error.
        res.on('error', (err) => settle({ status, retryAfter, responseBody: responseBody(), error: describeError(err) }, true));
      });
      sent.end(req.body);
    };

    try {
      if (!secure && req.url.protocol !== 'http:') return settle({ error: 'URL must use http or https' }, false);
      attempt(false);
    } catch (err) {
      settle({ error: describeError(err) }, true);
    }
  });
}
