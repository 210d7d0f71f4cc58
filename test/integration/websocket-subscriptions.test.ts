/**
 * GraphQL over WebSocket (graphql-transport-ws) with the real graphql-ws client and `ws`:
 * credentials in connectionParams, close codes 4401/4403 before anything runs, tenant isolation,
 * the document limits, shutdown, and the 406 answer to Apollo's multipart subscription Accept.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Client, createClient, type SubscribePayload } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, startFakeApi, stripeBalance } from '../helpers/fake-api.ts';
import { configureIntegration, gqlAs, waitForActive } from '../helpers/integrations.ts';

let server: TestServer;
let stripe: FakeApi;
const clients: Client[] = [];

beforeAll(async () => {
  stripe = await startFakeApi(stripeBalance('sk_test_ok'));
  server = await startTestServer({ STRIPE_API_BASE_URL: stripe.url });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await server?.close();
  await stripe?.close();
});

const STATUS = 'subscription { integrationStatusChanged { id status } }';
const STRIPE = { publishable_key: 'pk_test_1', secret_key: 'sk_test_ok' };

const wsUrl = (url: string, path = '/graphql') => `${url.replace(/^http/, 'ws')}${path}`;

/** A graphql-ws client that never retries, so each close code reaches the test as it was sent. */
function connect(connectionParams: Record<string, unknown>, url = server.url): Client {
  const client = createClient({ url: wsUrl(url), webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
  clients.push(client);
  return client;
}

interface Subscription {
  events: any[];
  /** Settles when the operation ends: undefined when completed, else what the client reported (a CloseEvent or GraphQL errors). */
  ended: Promise<any>;
  stop(): void;
}

function subscribe(client: Client, query: string | SubscribePayload, variables?: Record<string, unknown>): Subscription {
  const events: any[] = [];
  let stop = () => {};
  const payload = typeof query === 'string' ? { query, variables } : query;
  const ended = new Promise<any>((resolve) => {
    stop = client.subscribe(payload, { next: (e) => events.push(e), error: resolve, complete: () => resolve(undefined) });
  });
  return { events, ended, stop };
}

/** Waits until `client` acknowledged its connection (an operation answered), so later events reach its subscriptions. */
async function ready(client: Client) {
  const result = await client.iterate({ query: '{ __typename }' }).next();
  expect(result.value).toEqual({ data: { __typename: 'Query' } });
}

async function setUpTenant(tenant: string) {
  const token = await server.token({ tenant_id: tenant });
  const gql = gqlAs(server, { token });
  return { token, gql };
}

it('streams an integration’s status changes to a JWT subscriber of its tenant only', async () => {
  const a = await setUpTenant('ws-a');
  const b = await setUpTenant('ws-b');
  const clientA = connect({ authorization: `Bearer ${a.token}` });
  const clientB = connect({ Authorization: `Bearer ${b.token}` });
  await Promise.all([ready(clientA), ready(clientB)]);
  const subA = subscribe(clientA, STATUS);
  const subB = subscribe(clientB, STATUS);
  // the subscriptions are registered before the events: a query after them on the same socket answers after
  await Promise.all([ready(clientA), ready(clientB)]);

  const { id } = await configureIntegration(a.gql, 'stripe', STRIPE);
  await eventually(async () => (subA.events.length ? true : undefined), 20_000, 'the ACTIVE event');
  await a.gql(`mutation($id: ID!) { disableIntegration(input: { id: $id }) { __typename } }`, { id });
  await eventually(async () => (subA.events.length >= 2 ? true : undefined), 20_000, 'the INACTIVE event');
  expect(subA.events.map((e) => e.data.integrationStatusChanged)).toEqual([
    { id, status: 'ACTIVE' },
    { id, status: 'INACTIVE' },
  ]);

  // B's subscription works: it hears its own tenant's change, and nothing of A's came before it
  const other = await configureIntegration(b.gql, 'stripe', STRIPE);
  await eventually(async () => (subB.events.length ? true : undefined), 20_000, 'B’s own event');
  expect(subB.events.map((e) => e.data.integrationStatusChanged.id)).toEqual([other.id]);
  subA.stop();
  subB.stop();
});

it('streams to an API key given in connectionParams, and closes 4401 once the key is revoked', async () => {
  const owner = await setUpTenant('ws-key');
  const { id } = await configureIntegration(owner.gql, 'stripe', STRIPE);
  await waitForActive(owner.gql, id);
  const minted = await owner.gql(
    `mutation { createApiKey(input: { name: "ws", scopes: ["integrations:read"] }) { ... on CreateApiKeyPayload { secret apiKey { id } } } }`,
  );
  const client = connect({ 'X-API-Key': minted.createApiKey.secret });
  await ready(client);
  const sub = subscribe(client, STATUS);
  await ready(client);
  await owner.gql(`mutation($id: ID!) { disableIntegration(input: { id: $id }) { __typename } }`, { id });
  await eventually(async () => (sub.events.length ? true : undefined), 20_000, 'the INACTIVE event');
  expect(sub.events[0]?.data.integrationStatusChanged).toEqual({ id, status: 'INACTIVE' });

  await owner.gql(`mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename } }`, { id: minted.createApiKey.apiKey.id });
  expect(server.logs.join('')).not.toContain(minted.createApiKey.secret);
  // the next operation authenticates again: the socket is closed before it runs
  const after = subscribe(client, STATUS);
  expect((await after.ended).code).toBe(4401);
  expect(after.events).toEqual([]);
});

it('closes with 4401 before anything runs without valid credentials', async () => {
  const expired = await server.token({ tenant_id: 'ws-none' }, { expiresIn: '-1m' });
  const logsBefore = server.logs.length;
  for (const params of [
    {},
    { authorization: 'Bearer not-a-jwt' },
    { authorization: `Bearer ${expired}` },
    { 'x-api-key': 'icp_wrong' },
    { authorization: 42 },
  ]) {
    const sub = subscribe(connect(params), STATUS);
    const closed = await sub.ended;
    expect(closed.code, JSON.stringify(params)).toBe(4401);
    expect(closed.reason).toMatch(/^Unauthorized/);
    expect(sub.events).toEqual([]);
  }
  // the server ran no operation on any of them
  const closes = await eventually(async () => {
    const lines = server.logs
      .slice(logsBefore)
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'graphql websocket closed');
    return lines.length >= 5 ? lines : undefined;
  });
  expect(closes.map((l) => [l.code, l.operations, l.tenantId])).toEqual(Array(5).fill([4401, 0, undefined]));
});

it('closes with 4403 when the credential lacks the subscription’s scope, before any event', async () => {
  const token = await server.token({ tenant_id: 'ws-scope', scope: 'webhooks:read' });
  const client = connect({ authorization: `Bearer ${token}` });
  const sub = subscribe(client, STATUS);
  const closed = await sub.ended;
  expect(closed.code).toBe(4403);
  expect(closed.reason).toMatch(/integrationStatusChanged/);
  expect(closed.reason, 'names the scope it needs').toMatch(/integrations:read/);
  expect(sub.events).toEqual([]);
});

it('closes a socket when its JWT expires', async () => {
  const token = await server.token({ tenant_id: 'ws-expiry' }, { expiresIn: '2s' });
  const client = connect({ authorization: `Bearer ${token}` });
  const sub = subscribe(client, STATUS);
  const closed = await sub.ended;
  expect(closed.code).toBe(4401);
  expect(closed.reason).toMatch(/expired/);
});

it('applies the document limits and the masking of HTTP: a too-deep document is an error, not an execution', async () => {
  const token = await server.token({ tenant_id: 'ws-limits' });
  const client = connect({ authorization: `Bearer ${token}` });
  let selection = 'id';
  for (let i = 0; i < 8; i++) selection = `provider { integration { ${selection} } }`;
  const deep = subscribe(client, `subscription { integrationStatusChanged { ${selection} } }`);
  const errors = await deep.ended;
  expect(Array.isArray(errors)).toBe(true);
  expect(errors[0].message).toMatch(/depth/i);
  expect(errors[0].extensions.code).toBeTypeOf('string');
  expect(deep.events).toEqual([]);

  const unknownField = subscribe(client, 'subscription { integrationStatusChanged { secretKey } }');
  const invalid = await unknownField.ended;
  expect(invalid[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  // the socket stays open for the next operation
  await ready(client);
});

it('runs at most 50 operations at once on one socket', async () => {
  const token = await server.token({ tenant_id: 'ws-many' });
  const client = connect({ authorization: `Bearer ${token}` });
  await ready(client);
  const open = Array.from({ length: 50 }, () => subscribe(client, STATUS));
  const over = subscribe(client, STATUS);
  const errors = await over.ended;
  expect(errors[0]).toMatchObject({
    message: 'at most 50 operations may run at once on one WebSocket',
    extensions: { code: 'RATE_LIMITED' },
  });
  // queries count too; one fits once a subscription completes
  open[0]?.stop();
  await eventually(async () => {
    await ready(client);
    return true;
  });
  for (const sub of open) sub.stop();
});

it('runs queries and mutations over the socket with the same scopes as over HTTP', async () => {
  const token = await server.token({ tenant_id: 'ws-ops', scope: 'integrations:read' });
  const client = connect({ authorization: `Bearer ${token}` });
  const query = await client.iterate({ query: '{ integrations { totalCount } }' }).next();
  expect(query.value).toEqual({ data: { integrations: { totalCount: 0 } } });
  const mutation = await client.iterate({ query: 'mutation { createApiKey(input: { name: "x" }) { __typename } }' }).next();
  expect(mutation.value.errors[0].extensions.code).toBe('FORBIDDEN');
});

it('refuses an upgrade on any path but /graphql', async () => {
  const socket = new WebSocket(wsUrl(server.url, '/elsewhere'), 'graphql-transport-ws');
  const status = await new Promise<number>((resolve, reject) => {
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.on('open', () => reject(new Error('upgraded')));
    socket.on('error', () => {});
  });
  expect(status).toBe(404);
});

it('closes a socket that sends a message over the body limit (1 MiB) with 1009', async () => {
  const socket = new WebSocket(wsUrl(server.url), 'graphql-transport-ws');
  await new Promise((resolve) => socket.once('open', resolve));
  const closed = new Promise<number>((resolve) => socket.once('close', resolve));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(1024 * 1024) } }));
  expect(await closed).toBe(1009);
});

it.each([
  ['the legacy subscriptions-transport-ws protocol', ['graphql-ws']],
  ['no subprotocol at all', []],
])('refuses %s at the handshake with a 400 saying what to speak', async (_, protocols) => {
  const socket = new WebSocket(wsUrl(server.url), protocols);
  const refused = await new Promise<IncomingMessage>((resolve) => socket.once('unexpected-response', (_req, res) => resolve(res)));
  socket.on('error', () => {});
  expect(refused.statusCode).toBe(400);
  const chunks: Buffer[] = [];
  for await (const chunk of refused) chunks.push(chunk as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString());
  expect(body.errors[0].extensions).toEqual({ code: 'UNSUPPORTED_TRANSPORT' });
  expect(body.errors[0].message).toMatch(/graphql-transport-ws subprotocol .* Server-Sent Events/);
});

it('answers Apollo Client’s multipart subscription request with a 406 saying what to use', async () => {
  const token = await server.token({ tenant_id: 'ws-multipart' });
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0", application/json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query: STATUS }),
  });
  expect(res.status).toBe(406);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const body = await res.json();
  expect(body.errors[0].extensions.code).toBe('UNSUPPORTED_TRANSPORT');
  expect(body.errors[0].message).toMatch(/text\/event-stream/);
  expect(body.errors[0].message).toMatch(/graphql-transport-ws/);
});

it('closes every socket with 1001 at shutdown', async () => {
  const own = await startTestServer();
  try {
    const token = await own.token({ tenant_id: 'ws-shutdown' });
    const client = connect({ authorization: `Bearer ${token}` }, own.url);
    const sub = subscribe(client, STATUS);
    await ready(client);
    await own.close();
    const closed = await sub.ended;
    expect(closed.code).toBe(1001);
  } finally {
    await own.close().catch(() => {});
  }
});

describe('with trusted documents only and one stream per address', () => {
  let own: TestServer;
  let dir: string;
  const hash = createHash('sha256').update(STATUS).digest('hex');
  const byHash = { query: '', extensions: { persistedQuery: { version: 1, sha256Hash: hash } } };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ws-trusted-'));
    const manifest = path.join(dir, 'persisted-documents.json');
    await writeFile(manifest, JSON.stringify({ [`sha256:${hash}`]: STATUS }));
    own = await startTestServer({ TRUSTED_DOCUMENTS: manifest, TRUSTED_DOCUMENTS_ONLY: 'true', SSE_STREAM_LIMIT_PER_IP: '1' });
  });
  afterAll(async () => {
    await own?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a document named by its hash and refuses one sent as text', async () => {
    const client = connect({ authorization: `Bearer ${await own.token({ tenant_id: 'ws-trusted' })}` }, own.url);
    const text = await subscribe(client, STATUS).ended;
    expect(text[0].extensions.code).toBe('PERSISTED_QUERY_ID_REQUIRED');
    const unknown = await subscribe(client, { ...byHash, extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } } })
      .ended;
    expect(unknown[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');

    // the trusted one runs and holds the address's only stream slot (shared with SSE): an SSE stream is refused
    const token = await own.token({ tenant_id: 'ws-trusted' });
    const sseStatus = async () => {
      const controller = new AbortController();
      const res = await fetch(`${own.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
        body: JSON.stringify(byHash),
        signal: controller.signal,
      });
      controller.abort();
      return res.status;
    };
    const first = subscribe(client, byHash);
    await eventually(async () => ((await sseStatus()) === 429 ? true : undefined), 15_000, 'the WebSocket subscription to hold the slot');
    // refused when it starts: one result with the error, then complete, as graphql-ws sends any such result
    const second = subscribe(client, byHash);
    expect(await second.ended).toBeUndefined();
    expect(second.events.map((e) => e.errors?.[0]?.extensions?.code)).toEqual(['RATE_LIMITED']);
    expect(first.events).toEqual([]);
    // completing it gives the slot back
    first.stop();
    await eventually(async () => ((await sseStatus()) === 200 ? true : undefined), 15_000, 'the slot to be given back');
  });
});
