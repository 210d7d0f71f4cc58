/**
 * One provider call on the operations path (src/operations/call.ts over src/providers/client.ts),
 * against a real TCP server on 127.0.0.1: what goes on the wire, and how each way a call can end
 * is classified (answer, 429 with Retry-After, an answer past the bound, no answer in time, no
 * server, a refusal that echoes the credential).
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callProvider, MAX_ANSWER_BYTES } from '../../src/operations/call.ts';
import { findProvider } from '../../src/providers/catalog.ts';

const twilio = findProvider('twilio')!;
const adapter = twilio.operations!.send_sms!;
const SID = `AC${'7'.repeat(32)}`;
const TOKEN = 'call-test-auth-token-0123456789';
const CREDENTIALS = { account_sid: SID, auth_token: TOKEN, from_number: '+15550001111' };
const INPUT = { to: '+15551234567', body: 'Your code is 1234' };

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
let seen: Seen[] = [];
let answer: (res: ServerResponse) => void = (res) => res.writeHead(500).end();
let server: Server;
let origin: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const call = (timeoutMs = 5_000, to = origin) => {
  seen = [];
  return callProvider(
    twilio,
    adapter,
    INPUT,
    CREDENTIALS,
    { origin: () => to, operationId: 'T3BlcmF0aW9uOnRlc3Q', callbackUrl: 'https://icp.example/hooks/twilio/abc' },
    timeoutMs,
  );
};

describe('a provider call', () => {
  it('sends the request the adapter built, as the real API takes it, and reads the answer', async () => {
    answer = (res) => res.writeHead(201, { 'content-type': 'application/json' }).end('{"sid":"SM0001","status":"queued"}');
    const result = await call();
    expect(result).toMatchObject({ outcome: 'SUCCEEDED', httpStatus: 201, error: null, succeeded: { providerReference: 'SM0001' } });
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`);
    expect(request!.headers.authorization).toBe(`Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`);
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request!.headers['user-agent']).toBe('integrations-control-plane');
    // no compression asked for: the answer is read as it comes
    expect(request!.headers['accept-encoding']).toBeUndefined();
    expect(Number(request!.headers['content-length'])).toBe(Buffer.byteLength(request!.body));
    expect(Object.fromEntries(new URLSearchParams(request!.body))).toEqual({
      To: INPUT.to,
      From: CREDENTIALS.from_number,
      Body: INPUT.body,
      StatusCallback: 'https://icp.example/hooks/twilio/abc',
    });
  });

  it('is a transient failure on 429, with its Retry-After in milliseconds', async () => {
    answer = (res) => res.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' }).end('{"message":"Too Many Requests"}');
    const result = await call();
    expect(result).toMatchObject({ outcome: 'TRANSIENT_FAILURE', httpStatus: 429, retryAfterMs: 7_000 });
    expect(result.error).toBe('Twilio is unavailable (HTTP 429): Too Many Requests');
  });

  it('does not read a 2xx answer past the bound, and does not fail it over (the provider may have acted)', async () => {
    const big = Buffer.alloc(MAX_ANSWER_BYTES + 1, 'a');
    answer = (res) => res.writeHead(201, { 'content-type': 'application/json' }).end(big);
    const result = await call();
    expect(result).toMatchObject({ outcome: 'REJECTED', httpStatus: 201 });
    expect(result.error).toBe(`Twilio answered HTTP 201 with more than ${MAX_ANSWER_BYTES} bytes`);
  });

  it('is a transient failure when no answer comes in time', async () => {
    answer = () => {}; // never answers
    const started = performance.now();
    const result = await call(300);
    expect(result).toMatchObject({ outcome: 'TRANSIENT_FAILURE', httpStatus: null, error: 'Twilio did not answer within 300 ms' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('is a transient failure when nothing listens, naming the network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await call(5_000, `http://127.0.0.1:${port}`);
    expect(result).toMatchObject({ outcome: 'TRANSIENT_FAILURE', httpStatus: null, error: 'Twilio is unreachable (ECONNREFUSED)' });
  });

  it('never shows the credential or the Authorization header a refusal echoes', async () => {
    const basic = Buffer.from(`${SID}:${TOKEN}`).toString('base64');
    answer = (res) =>
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `bad token ${TOKEN} (${basic})` }));
    const result = await call();
    expect(result.outcome).toBe('AUTH_FAILURE');
    expect(result.error).not.toContain(TOKEN);
    expect(result.error).not.toContain(basic);
    expect(result.error).toMatch(/^Twilio refused the credentials during an operation \(HTTP 401\): bad token/);
  });
});
