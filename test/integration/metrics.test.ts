/**
 * `GET /metrics` over HTTP: request counts and latency by operation and outcome, a real
 * verification against a loopback Stripe and real deliveries to loopback receivers counted by
 * outcome, queue depth and age read from pg-boss's table, METRICS_TOKEN enforced, and no secret
 * anywhere in the exposition.
 */
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { isLoopback, isLoopbackHost } from '../../src/http/client-address.ts';
import { authorizedScrape, scrapeAccess } from '../../src/observability/endpoint.ts';
import { MAX_OPERATION_NAMES, operationLabel, requestOutcome } from '../../src/observability/metrics.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, startFakeApi, stripeBalance } from '../helpers/fake-api.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

const METRICS_TOKEN = `metrics-${'t'.repeat(24)}`;
const STRIPE_KEY = `sk_test_${Date.now()}secretcanary`;

let server: TestServer;
let stripe: FakeApi;
let ok: Receiver;
let broken: Receiver;
let token: string;
const signingSecrets: string[] = [];

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample with exactly these labels; undefined when absent. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

async function scrape(headers: Record<string, string> = { authorization: `Bearer ${METRICS_TOKEN}` }) {
  const res = await fetch(`${server.url}/metrics`, { headers });
  return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
}

async function post(body: unknown, withToken = true) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (withToken) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.text() };
}

const CREATE_WEBHOOK = `mutation CreateHook($input: CreateWebhookInput!) { createWebhook(input: $input) {
  ... on CreateWebhookPayload { signingSecret webhook { id } } ... on Error { code message } } }`;

beforeAll(async () => {
  stripe = await startFakeApi(stripeBalance(STRIPE_KEY));
  ok = await startReceiver();
  broken = await startReceiver(() => ({ status: 500 }));
  server = await startTestServer({
    METRICS_TOKEN,
    STRIPE_API_BASE_URL: stripe.url,
    WEBHOOK_ALLOW_HOSTS: `${ok.hostPort},${broken.hostPort}`,
    // the failed attempt's retry stays scheduled for the whole test
    WEBHOOK_RETRY_SCHEDULE: '1h',
  });
  token = await server.token({ tenant_id: 'metered' });
});

afterAll(async () => {
  await server?.close();
  for (const r of [stripe, ok, broken]) await r?.close();
});

describe('access', () => {
  it('answers 401 without the token or with a wrong one, and the exposition with it', async () => {
    expect((await scrape({})).status).toBe(401);
    expect((await scrape({ authorization: `Bearer ${METRICS_TOKEN}x` })).status).toBe(401);
    expect((await scrape({ authorization: METRICS_TOKEN })).status).toBe(401);
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toContain('# TYPE icp_graphql_requests_total counter');
    // prom-client's default process metrics, on this app's own registry
    expect(res.text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(res.text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
  });

  it('needs the token when one is set, and a long enough one', () => {
    expect(authorizedScrape(undefined, METRICS_TOKEN)).toBe(false);
    expect(authorizedScrape(`Bearer ${METRICS_TOKEN}`, METRICS_TOKEN)).toBe(true);
    // a configured token is needed even from loopback
    expect(scrapeAccess(METRICS_TOKEN, undefined, true)).toBe('unauthorized');
    expect(scrapeAccess(METRICS_TOKEN, `Bearer ${METRICS_TOKEN}`, false)).toBe('ok');
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(ConfigError);
    expect(loadConfig({}).metricsToken).toBeUndefined();
  });

  it('without METRICS_TOKEN, answers only local clients that no proxy forwarded, on a server bound to loopback (404 to others)', async () => {
    expect(authorizedScrape(undefined, undefined)).toBe(false);
    expect(authorizedScrape('Bearer abc', undefined)).toBe(false);
    expect(scrapeAccess(undefined, undefined, true)).toBe('ok');
    expect(scrapeAccess(undefined, 'Bearer abc', false)).toBe('hidden');
    for (const address of ['127.0.0.1', '127.8.0.1', '::1', '::ffff:127.0.0.1']) expect(isLoopback(address), address).toBe(true);
    for (const address of ['10.0.0.1', '203.0.113.9', '::ffff:10.0.0.1', '2001:db8::1', 'fe80::1', '', undefined])
      expect(isLoopback(address), address).toBe(false);

    const open = await startTestServer();
    try {
      const get = (headers: Record<string, string> = {}) => fetch(`${open.url}/metrics`, { headers });
      const local = await get();
      expect(local.status).toBe(200);
      expect(await local.text()).toContain('# TYPE icp_graphql_requests_total counter');
      // a reverse proxy on this machine makes every client a loopback peer: forwarded requests are not local
      const proxied: Record<string, string>[] = [
        { 'x-forwarded-for': '203.0.113.9' },
        { forwarded: 'for=203.0.113.9' },
        { 'x-real-ip': '203.0.113.9' },
      ];
      for (const headers of proxied) {
        const res = await get(headers);
        expect(res.status, JSON.stringify(headers)).toBe(404);
        expect(await res.json()).toEqual({ error: 'not found' });
      }
    } finally {
      await open.close();
    }
  });

  it('without METRICS_TOKEN, answers 404 even to a loopback peer when the server listens beyond loopback (a same-host proxy adds no header)', async () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost', 'LOCALHOST']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '']) expect(isLoopbackHost(host), host).toBe(false);

    // as behind Envoy/Istio (connecting from 127.0.0.6) or HAProxy in TCP mode: loopback, no forwarding header
    const exposed = await startTestServer({ HOST: '0.0.0.0' });
    try {
      const port = new URL(exposed.url).port;
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'not found' });
    } finally {
      await exposed.close();
    }
  });
});

describe('GraphQL requests', () => {
  it('counts and times requests by operation name and outcome', async () => {
    const catalog = { query: 'query Catalog { providers { name } }' };
    expect((await post(catalog)).status).toBe(200);
    expect((await post(catalog)).status).toBe(200);
    expect((await post(catalog, false)).status).toBe(401);
    expect((await post({ query: '{ __typename }' })).status).toBe(200);
    // an unseen name from an unauthenticated client does not become a label value
    expect((await post({ query: 'query Sneaky { __typename }' }, false)).status).toBe(401);
    // a name longer than 64 characters
    expect((await post({ query: `query ${'L'.repeat(70)} { __typename }` })).status).toBe(200);
    // a missing scope: 200 with an error
    const readOnly = await server.token({ tenant_id: 'metered', scope: 'integrations:read' });
    const forbidden = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${readOnly}` },
      body: JSON.stringify({ query: 'query Hooks { webhooks { totalCount } }' }),
    });
    expect(await forbidden.json()).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
    // a request error: 200 for an application/json client
    const unparsable = await post({ query: 'query Broken {' });
    expect(JSON.parse(unparsable.body)).not.toHaveProperty('data');

    const samples = parseExposition((await scrape()).text);
    const requests = (operation: string, outcome: string) => value(samples, 'icp_graphql_requests_total', { operation, outcome });
    expect(requests('Catalog', 'ok')).toBe(2);
    expect(requests('Catalog', 'unauthenticated')).toBe(1);
    expect(requests('anonymous', 'ok')).toBe(1);
    expect(requests('Sneaky', 'unauthenticated')).toBeUndefined();
    expect(requests('other', 'unauthenticated')).toBe(1);
    expect(requests('other', 'ok')).toBe(1);
    expect(requests('Hooks', 'graphql_error')).toBe(1);
    expect(requests('unknown', 'rejected')).toBe(1);

    expect(value(samples, 'icp_graphql_request_duration_seconds_count', { operation: 'Catalog' })).toBe(3);
    expect(value(samples, 'icp_graphql_request_duration_seconds_bucket', { operation: 'Catalog', le: '+Inf' })).toBe(3);
    expect(value(samples, 'icp_graphql_request_duration_seconds_sum', { operation: 'Catalog' })).toBeGreaterThan(0);
    // the GraphiQL page is not a GraphQL request
    await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } }).then((r) => r.text());
    const after = parseExposition((await scrape()).text);
    expect(after.filter((s) => s.name === 'icp_graphql_requests_total').reduce((n, s) => n + s.value, 0)).toBe(
      samples.filter((s) => s.name === 'icp_graphql_requests_total').reduce((n, s) => n + s.value, 0),
    );
  });

  it('counts and times operations run over a WebSocket as it does requests', async () => {
    const unknownBefore =
      value(parseExposition((await scrape()).text), 'icp_graphql_requests_total', { operation: 'unknown', outcome: 'rejected' }) ?? 0;
    const client = createClient({
      url: `${server.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    const run = (query: string) =>
      new Promise<unknown[]>((resolve) => {
        const results: unknown[] = [];
        client.subscribe({ query }, { next: (r) => results.push(r), error: () => resolve(results), complete: () => resolve(results) });
      });
    try {
      await run('query SocketCatalog { providers { name } }');
      await run('query SocketCatalog { providers { name } }');
      await run('query SocketBroken { nope }');
      const stream = await new Promise<() => void>((resolve) => {
        const stop = client.subscribe(
          { query: 'subscription SocketStatus { integrationStatusChanged { id } }' },
          { next() {}, error() {}, complete() {} },
        );
        // the stream opened once the server counted it
        void eventually(async () => ((await scrape()).text.includes('operation="SocketStatus"') ? true : undefined)).then(() =>
          resolve(stop),
        );
      });
      stream();
    } finally {
      await client.dispose();
    }
    const samples = parseExposition((await scrape()).text);
    const requests = (operation: string, outcome: string) => value(samples, 'icp_graphql_requests_total', { operation, outcome });
    expect(requests('SocketCatalog', 'ok')).toBe(2);
    expect(value(samples, 'icp_graphql_request_duration_seconds_count', { operation: 'SocketCatalog' })).toBe(2);
    expect(requests('SocketStatus', 'ok')).toBe(1);
    // invalid: refused before it ran, and its name is not read (as for a request that did not parse)
    expect(requests('SocketBroken', 'rejected')).toBeUndefined();
    expect(requests('unknown', 'rejected')).toBe(unknownBefore + 1);
  });

  it('bounds the operation label: anonymous, unknown, and at most MAX_OPERATION_NAMES names', () => {
    const known = new Set<string>();
    expect(operationLabel(known, null, true)).toBe('anonymous');
    expect(operationLabel(known, undefined, true)).toBe('unknown');
    expect(operationLabel(known, 'First', false)).toBe('other');
    expect(operationLabel(known, 'First', true)).toBe('First');
    expect(operationLabel(known, 'First', false)).toBe('First');
    expect(operationLabel(known, 'x'.repeat(65), true)).toBe('other');
    for (let i = 0; known.size < MAX_OPERATION_NAMES; i++) operationLabel(known, `Op${i}`, true);
    expect(operationLabel(known, 'OneTooMany', true)).toBe('other');
    expect(operationLabel(known, 'First', true)).toBe('First');
    expect([
      requestOutcome(200, 'none'),
      requestOutcome(200, 'field'),
      requestOutcome(200, 'request'),
      requestOutcome(400, 'request'),
      requestOutcome(401, 'request'),
      requestOutcome(429, 'request'),
      requestOutcome(503, 'request'),
    ]).toEqual(['ok', 'graphql_error', 'rejected', 'rejected', 'unauthenticated', 'rate_limited', 'server_error']);
  });
});

describe('background work', () => {
  it('counts verifications and deliveries by outcome', async () => {
    for (const [name, receiver] of [
      ['ok', ok],
      ['broken', broken],
    ] as const) {
      const created = await server.gql(CREATE_WEBHOOK, { input: { name, url: receiver.url, eventTypes: ['integration.*'] } }, { token });
      expect(created.data.createWebhook.signingSecret).toMatch(/^whsec_/);
      signingSecrets.push(created.data.createWebhook.signingSecret);
    }
    const configured = await server.gql(
      `mutation ConfigureStripe($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) {
        ... on ConfigureIntegrationPayload { integration { id } } ... on Error { code message } } }`,
      { input: { provider: 'stripe', credentials: { publishable_key: 'pk_test_abc', secret_key: STRIPE_KEY } } },
      { token },
    );
    const id = configured.data.configureIntegration.integration.id;
    await eventually(async () => {
      const res = await server.gql(`query Poll($id: ID!) { integration(id: $id) { status } }`, { id }, { token });
      return res.data.integration.status === 'ACTIVE' ? true : undefined;
    });
    // integration.created and integration.status_changed, to both webhooks
    await eventually(async () => (ok.received.length >= 2 && broken.received.length >= 2 ? true : undefined));

    const samples = await eventually(async () => {
      const s = parseExposition((await scrape()).text);
      const counted = (outcome: string) => value(s, 'icp_webhook_deliveries_total', { outcome });
      return counted('retry') === 2 && counted('succeeded') === ok.received.length ? s : undefined;
    });
    expect(value(samples, 'icp_integration_verifications_total', { provider: 'stripe', outcome: 'active' })).toBe(1);
    expect(value(samples, 'icp_webhook_deliveries_total', { outcome: 'succeeded' })).toBe(ok.received.length);
    expect(value(samples, 'icp_webhook_deliveries_total', { outcome: 'failed' })).toBeUndefined();
    expect(value(samples, 'icp_graphql_requests_total', { operation: 'ConfigureStripe', outcome: 'ok' })).toBe(1);
    expect(value(samples, 'icp_graphql_requests_total', { operation: 'CreateHook', outcome: 'ok' })).toBe(2);
    // the failed attempts' retries wait an hour
    expect(value(samples, 'icp_queue_jobs', { queue: 'webhook-deliver', state: 'scheduled' })).toBe(2);
    expect(value(samples, 'icp_queue_jobs', { queue: 'integration-verify', state: 'ready' })).toBe(0);
    expect(value(samples, 'icp_queue_oldest_job_age_seconds', { queue: 'integration-verify' })).toBe(0);
  });

  it('reads queue depth and the age of the oldest ready job at scrape time', async () => {
    // a queue nobody works: its jobs stay where they are
    const { boss } = server.app.services.queue;
    await boss.createQueue('metrics-probe');
    await boss.send('metrics-probe', { n: 1 });
    await boss.send('metrics-probe', { n: 2 });
    await boss.send('metrics-probe', { n: 3 }, { startAfter: 3600 });
    await new Promise((r) => setTimeout(r, 1200));
    const samples = parseExposition((await scrape()).text);
    expect(value(samples, 'icp_queue_jobs', { queue: 'metrics-probe', state: 'ready' })).toBe(2);
    expect(value(samples, 'icp_queue_jobs', { queue: 'metrics-probe', state: 'scheduled' })).toBe(1);
    expect(value(samples, 'icp_queue_jobs', { queue: 'metrics-probe', state: 'active' })).toBe(0);
    const age = value(samples, 'icp_queue_oldest_job_age_seconds', { queue: 'metrics-probe' })!;
    expect(age).toBeGreaterThanOrEqual(1);
    expect(age).toBeLessThan(60);
  });

  it('shows no secret: metrics token, credentials, signing secrets, bearer tokens', async () => {
    const { text } = await scrape();
    expect(signingSecrets).toHaveLength(2);
    for (const secret of [METRICS_TOKEN, STRIPE_KEY, token, ...signingSecrets]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/metered|tenant/);
  });
});
