/**
 * Per-client limits on what costs work before anyone is authenticated, over real HTTP: failed
 * authentication (30 a minute per address by default, then 429 for every failure from it, while
 * good credentials from the same address are still served),
 * `/hooks/…` (per address and per integration token, counted before any lookup), and open
 * subscription streams per address and per tenant. On by default, with RATE_LIMIT_RPM unset.
 * Distinct clients are simulated through a trusted proxy (TRUST_PROXY_HOPS=1, X-Forwarded-For).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { addressKey, clientAddress } from '../../src/http/client-address.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';

const servers: TestServer[] = [];
async function start(env: Record<string, string> = {}) {
  const server = await startTestServer(env);
  servers.push(server);
  return server;
}
afterAll(async () => {
  for (const s of servers) await s.close();
});

function post(server: TestServer, headers: Record<string, string>, query = '{ __typename }') {
  return fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
}

async function expectRateLimited(res: Response, graphql = true) {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  // a client that accepts only an event stream gets the error as the stream's one `next` event
  const text = await res.text();
  const body = JSON.parse(res.headers.get('content-type')?.startsWith('text/event-stream') ? /^data: (.*)$/m.exec(text)![1]! : text);
  if (graphql) {
    expect(body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: retryAfter });
  } else {
    expect(body).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: retryAfter });
    expect(body.error).toMatch(/retry in \d+ s/);
  }
}

describe('configuration', () => {
  it('has the documented defaults, each of which 0 turns off, and refuses nonsense', () => {
    const config = loadConfig({});
    expect(config.clientLimits).toEqual({ authFailuresPerMinute: 30, hooksPerMinute: 600, sseStreamsPerIp: 100, sseStreamsPerTenant: 200 });
    expect(config.trustProxyHops).toBe(0);
    expect(loadConfig({ AUTH_FAILURE_LIMIT_PER_MINUTE: '0' }).clientLimits.authFailuresPerMinute).toBe(0);
    for (const name of [
      'AUTH_FAILURE_LIMIT_PER_MINUTE',
      'HOOKS_LIMIT_PER_MINUTE',
      'SSE_STREAM_LIMIT_PER_IP',
      'SSE_STREAM_LIMIT_PER_TENANT',
      'TRUST_PROXY_HOPS',
    ]) {
      for (const value of ['-1', 'many', '1.5']) expect(() => loadConfig({ [name]: value }), `${name}=${value}`).toThrow(ConfigError);
    }
  });

  it('counts a client by its address: IPv6 by its /64, and through trusted proxies only', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:bbbb::2'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
    const req = (peer: string, forwardedFor?: string) =>
      ({ socket: { remoteAddress: peer }, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} }) as never;
    // untrusted: a client's own X-Forwarded-For changes nothing
    expect(clientAddress(req('198.51.100.1', '203.0.113.7'), 0)).toBe('198.51.100.1');
    // one proxy: the entry it appended (the rightmost); what the client put before it is ignored
    expect(clientAddress(req('10.0.0.2', 'forged, 203.0.113.7'), 1)).toBe('203.0.113.7');
    expect(clientAddress(req('10.0.0.2', '203.0.113.7, 10.0.0.1'), 2)).toBe('203.0.113.7');
    expect(clientAddress(req('10.0.0.2'), 1)).toBe('10.0.0.2');
    // entries with the port some proxies add
    expect(clientAddress(req('10.0.0.2', '203.0.113.7:5123'), 1)).toBe('203.0.113.7');
    expect(clientAddress(req('10.0.0.2', '[2001:db8:1:2::1]:5123'), 1)).toBe(addressKey('2001:db8:1:2::1'));
  });
});

describe('failed authentication', () => {
  it('is limited by default: the 31st failure in a minute from one address is answered 429', async () => {
    const server = await start();
    for (let i = 0; i < 30; i++) expect((await post(server, { authorization: 'Bearer nonsense' })).status, `failure ${i + 1}`).toBe(401);
    await expectRateLimited(await post(server, { authorization: 'Bearer nonsense' }));
  });

  it('then refuses every failure from that address until the minute is over, and still serves its good credentials', async () => {
    const server = await start({ AUTH_FAILURE_LIMIT_PER_MINUTE: '3', TRUST_PROXY_HOPS: '1' });
    const token = await server.token({ tenant_id: 'limits' });
    const from = (address: string, headers: Record<string, string>) => post(server, { 'x-forwarded-for': address, ...headers });
    // bad JWTs and unknown API keys count alike (the API key costs a lookup)
    expect((await from('203.0.113.1', { authorization: 'Bearer nonsense' })).status).toBe(401);
    expect((await from('203.0.113.1', { 'x-api-key': `icp_${'x'.repeat(40)}` })).status).toBe(401);
    expect((await from('203.0.113.1', {})).status).toBe(401);
    await expectRateLimited(await from('203.0.113.1', { authorization: 'Bearer nonsense' }));
    await expectRateLimited(await from('203.0.113.1', { 'x-api-key': `icp_${'y'.repeat(40)}` }));
    // behind a shared proxy or NAT, one client's bad tokens must not lock the others out
    expect((await from('203.0.113.1', { authorization: `Bearer ${token}` })).status).toBe(200);
    // other clients are not affected
    expect((await from('203.0.113.2', { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await from('203.0.113.2', { authorization: 'Bearer nonsense' })).status).toBe(401);
  });

  it('counts a subscription attempt without credentials too', async () => {
    const server = await start({ AUTH_FAILURE_LIMIT_PER_MINUTE: '2' });
    const attempt = () => post(server, { accept: 'text/event-stream' }, 'subscription { integrationStatusChanged { id } }');
    expect((await attempt()).status).toBe(401);
    expect((await attempt()).status).toBe(401);
    await expectRateLimited(await attempt());
  });

  it('is off with AUTH_FAILURE_LIMIT_PER_MINUTE=0', async () => {
    const server = await start({ AUTH_FAILURE_LIMIT_PER_MINUTE: '0' });
    for (let i = 0; i < 40; i++) expect((await post(server, { authorization: 'Bearer nonsense' })).status).toBe(401);
  });
});

describe('/hooks', () => {
  const hook = (server: TestServer, token: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/hooks/stripe/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: '{}',
    });
  const unknownToken = () => randomBytes(24).toString('base64url');

  it('is limited by default: 600 callbacks a minute per address, then 429 before any lookup', async () => {
    const server = await start();
    for (let i = 0; i < 600; i++) {
      const res = await hook(server, unknownToken());
      if (res.status !== 404) expect(res.status, `callback ${i + 1}`).toBe(404);
      await res.body?.cancel();
    }
    const before = server.queries.length;
    await expectRateLimited(await hook(server, unknownToken()), false);
    expect(server.queries.length).toBe(before);
  });

  it('counts per address and, separately, per integration token', async () => {
    // Stripe unreachable and no retry: the verification (which reads the integration) ends before anything is counted
    const server = await start({
      HOOKS_LIMIT_PER_MINUTE: '3',
      TRUST_PROXY_HOPS: '1',
      STRIPE_API_BASE_URL: 'http://127.0.0.1:9',
      VERIFY_RETRY_LIMIT: '0',
    });
    const token = await server.token({ tenant_id: 'hooks-limited' });
    const configured = await server.gql(
      `mutation { configureIntegration(input: { provider: "stripe", credentials: { publishable_key: "pk_test_1", secret_key: "sk_test_1", webhook_secret: "whsec_limits" } }) {
        ... on ConfigureIntegrationPayload { integration { id inboundWebhookUrl } } } }`,
      {},
      { token },
    );
    const { id } = configured.data.configureIntegration.integration;
    await eventually(
      async () =>
        (await server.gql(`query($id: ID!) { integration(id: $id) { status } }`, { id }, { token })).data.integration.status === 'ERROR'
          ? true
          : undefined,
      20_000,
      'the Stripe integration verified (ERROR)',
    );
    const url = new URL(configured.data.configureIntegration.integration.inboundWebhookUrl);
    const known = url.pathname.split('/').pop()!;
    // one integration's URL from three addresses: the token's own limit
    for (const address of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
      expect((await hook(server, known, { 'x-forwarded-for': address })).status).toBe(401); // no signature
    }
    const before = server.queries.length;
    await expectRateLimited(await hook(server, known, { 'x-forwarded-for': '203.0.113.4' }), false);
    expect(server.queries.length).toBe(before); // not looked up, nothing decrypted
    // one address, many tokens: the address's limit
    for (let i = 0; i < 3; i++) expect((await hook(server, unknownToken(), { 'x-forwarded-for': '203.0.113.9' })).status).toBe(404);
    await expectRateLimited(await hook(server, unknownToken(), { 'x-forwarded-for': '203.0.113.9' }), false);
    expect((await hook(server, unknownToken(), { 'x-forwarded-for': '203.0.113.10' })).status).toBe(404);
  });
});

describe('subscription streams', () => {
  const opened: AbortController[] = [];
  afterEach(() => {
    for (const c of opened.splice(0)) c.abort();
  });

  async function stream(server: TestServer, token: string, address?: string, accept: string | null = 'text/event-stream') {
    const controller = new AbortController();
    opened.push(controller);
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(accept === null ? {} : { accept }),
        authorization: `Bearer ${token}`,
        ...(address ? { 'x-forwarded-for': address } : {}),
      },
      body: JSON.stringify({ query: 'subscription { integrationStatusChanged { id } }' }),
      signal: controller.signal,
    });
    return { res, close: () => controller.abort() };
  }

  it('bounds the streams open per address; a closed one frees its place', async () => {
    const server = await start({ SSE_STREAM_LIMIT_PER_IP: '2' });
    const token = await server.token({ tenant_id: 'streams-ip' });
    const first = await stream(server, token);
    const second = await stream(server, token);
    expect([first.res.status, second.res.status]).toEqual([200, 200]);
    expect(first.res.headers.get('content-type')).toMatch(/text\/event-stream/);
    await expectRateLimited((await stream(server, token)).res);
    // Yoga streams to any Accept that allows an event stream, and to none: each is counted
    for (const accept of [null, '*/*', 'text/*']) await expectRateLimited((await stream(server, token, undefined, accept)).res);
    // plain requests are not streams
    expect((await server.gql('{ __typename }', {}, { token })).status).toBe(200);
    first.close();
    await eventually(
      async () => {
        const next = await stream(server, token);
        if (next.res.status === 200) return true;
        await next.res.body?.cancel();
        return undefined;
      },
      5_000,
      'a freed stream place',
    );
  });

  it('bounds the streams open per tenant, from any address', async () => {
    const server = await start({ SSE_STREAM_LIMIT_PER_TENANT: '2', TRUST_PROXY_HOPS: '1' });
    const token = await server.token({ tenant_id: 'streams-tenant' });
    expect((await stream(server, token, '203.0.113.1')).res.status).toBe(200);
    expect((await stream(server, token, '203.0.113.2')).res.status).toBe(200);
    await expectRateLimited((await stream(server, token, '203.0.113.3')).res);
    const other = await server.token({ tenant_id: 'streams-other' });
    expect((await stream(server, other, '203.0.113.3')).res.status).toBe(200);
  });
});
