/**
 * The process's life as an orchestrator sees it (src/server.ts, spawned as `npm start` runs it):
 * readiness is false while the database opens and migrates, and SIGTERM drains within
 * SHUTDOWN_TIMEOUT_SECONDS: subscription streams end, a job still running at the deadline is
 * handed back to the queue (so the next process retries it at once, not after its expiry).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, expect, it } from 'vitest';
import { eventually } from '../helpers/app.ts';
import { freePort, type ServerProcess, startServerProcess } from '../helpers/process.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
let server: ServerProcess | undefined;
let receiver: Receiver | undefined;

afterAll(async () => {
  await server?.stop('SIGKILL');
  await receiver?.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function dataDir() {
  const dir = await mkdtemp(path.join(tmpdir(), 'icp-life-'));
  dirs.push(dir);
  return dir;
}

it('says "migrating" at /readyz (503) and refuses GraphQL with 503 until the service is ready', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), DATA_DIR: await dataDir(), LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  const seen = new Set<string>();
  let graphqlWhileStarting: { status: number; body: any } | undefined;
  try {
    await eventually(
      async () => {
        const res = await fetch(`${url}/readyz`).catch(() => undefined);
        if (!res) return undefined; // not listening yet
        const body = (await res.json()) as { status: string };
        seen.add(`${res.status} ${body.status}`);
        if (res.status === 200) return true;
        if (!graphqlWhileStarting) {
          const gql = await fetch(`${url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"query":"{ __typename }"}',
          });
          graphqlWhileStarting = { status: gql.status, body: await gql.json() };
        }
        return undefined;
      },
      60_000,
      'readiness',
      20,
    );
    expect([...seen]).toContain('503 migrating');
    expect([...seen].at(-1)).toBe('200 ready');
    expect(graphqlWhileStarting?.status).toBe(503);
    expect(graphqlWhileStarting?.body.errors[0].extensions.code).toBe('UNAVAILABLE');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}, 120_000);

it('drains on SIGTERM within the deadline, ending subscription streams and handing a hung delivery back to the queue', async () => {
  receiver = await startReceiver(() => ({ status: 200, hang: true }));
  const dir = await dataDir();
  const port = await freePort();
  const env = {
    DATA_DIR: dir,
    WEBHOOK_ALLOW_HOSTS: receiver.hostPort,
    SHUTDOWN_TIMEOUT_SECONDS: '2',
    LOG_LEVEL: 'warn',
  };
  server = await startServerProcess(env, port);
  const secret = (await readFile(path.join(dir, 'jwt-secret'), 'utf8')).trim();
  const token = await new SignJWT({ tenant_id: 'drain' })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(secret));
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const gql = async (query: string, variables: Record<string, unknown> = {}) =>
    (await (await fetch(`${server!.url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) })).json()) as {
      data: any;
    };

  // a delivery whose receiver never answers, within a 30 s timeout: in flight at shutdown
  const created = await gql(
    `mutation($url: URL!) { createWebhook(input: { name: "drain", url: $url, eventTypes: ["webhook.test"], retryPolicy: { timeoutMs: 30000 } }) {
      ... on CreateWebhookPayload { webhook { id } } } }`,
    { url: receiver.url },
  );
  const sent = await gql(
    `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { ... on SendTestEventPayload { delivery { id } } } }`,
    {
      id: created.data.createWebhook.webhook.id,
    },
  );
  const deliveryId = sent.data.sendTestEvent.delivery.id as string;
  await eventually(async () => (receiver!.received.length ? true : undefined), 15_000, 'the delivery in flight');

  // an open subscription stream
  const stream = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { ...headers, accept: 'text/event-stream' },
    body: JSON.stringify({ query: 'subscription { integrationStatusChanged { id status } }' }),
  });
  expect(stream.status).toBe(200);
  const reader = stream.body!.getReader();
  const streamEnded = (async () => {
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return Date.now();
  })();

  const signalled = Date.now();
  expect(await server.stop('SIGTERM')).toBe(0);
  const exitedAfter = Date.now() - signalled;
  expect(exitedAfter).toBeLessThan(2000 + 5000); // the deadline, plus closing the database
  expect((await streamEnded) - signalled).toBeLessThan(1500); // not held until the deadline

  // the next process retries the handed-back job at once (its expiry would be a minute away)
  receiver.answer = () => ({ status: 200 });
  const answeredBefore = receiver.received.length;
  server = await startServerProcess(env, port);
  await eventually(
    async () => (receiver!.received.slice(answeredBefore).some((r) => r.headers['webhook-id'] === deliveryId) ? true : undefined),
    20_000,
    'the handed-back delivery to be retried',
  );
}, 180_000);
