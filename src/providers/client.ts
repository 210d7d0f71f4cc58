/**
 * The HTTP client of operations' provider calls: undici's `request`, on one keep-alive pool per
 * process. The data plane sends one of these per operation, so it skips what `fetch` adds on top
 * of the same library (a WHATWG Request and Response, a web stream for every body, transferable
 * AbortSignals: about a quarter of the worker's CPU in the operations bench). What goes on the
 * wire is the call as the adapter built it plus a User-Agent: no compression asked for, no
 * redirect followed, a body read up to a bound.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'undici';
import type { AnswerHeaders, ProviderCall } from './types.ts';

export const USER_AGENT = 'integrations-control-plane';

/** Kept-alive connections per provider origin; undici closes one idle past the server's own keep-alive hint. */
const pool = new Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 60_000 });

export interface CallAnswer {
  status: number;
  headers: AnswerHeaders;
  /** The body as text, or null when it was larger than the bound (the rest was not read). */
  text: string | null;
}

/** An answer's headers, read as `Headers.get` reads them. */
class ReceivedHeaders implements AnswerHeaders {
  constructor(private readonly raw: IncomingHttpHeaders) {}
  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }
}

/**
 * Sends one call and reads its answer up to `maxBytes`. Rejects on a network error or when
 * `signal` aborts (with the signal's reason); an HTTP error status is an answer, not a rejection.
 */
export async function sendCall(call: ProviderCall, signal: AbortSignal, maxBytes: number): Promise<CallAnswer> {
  const { statusCode, headers, body } = await request(call.url, {
    dispatcher: pool,
    method: call.method,
    headers: { 'user-agent': USER_AGENT, ...call.headers },
    body: call.body,
    signal,
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      body.destroy();
      return { status: statusCode, headers: new ReceivedHeaders(headers), text: null };
    }
    chunks.push(chunk);
  }
  return { status: statusCode, headers: new ReceivedHeaders(headers), text: Buffer.concat(chunks, size).toString('utf8') };
}
