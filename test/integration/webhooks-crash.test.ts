/**
 * At-least-once delivery across a crash: the server process is killed with SIGKILL while
 * deliveries are pending and in flight; after a restart on the same data directory every one
 * arrives, with the webhook-id it had before the crash.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, expect, it } from 'vitest';
import { eventually } from '../helpers/app.ts';
import { freePort, type ServerProcess, startServerProcess } from '../helpers/process.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';
import { verifyStandardWebhook } from '../helpers/standard-webhooks.ts';

let receiver: Receiver;
let server: ServerProcess | undefined;
let dataDir: string;

afterAll(async () => {
  await server?.stop('SIGKILL');
  await receiver?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('delivers every pending delivery after a SIGKILL, with a stable webhook-id', async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'icp-crash-'));
  receiver = await startReceiver(() => ({ status: 200, hang: true })); // in flight until the crash
  const port = await freePort();
  const env = {
    DATA_DIR: dataDir,
    WEBHOOK_ALLOW_HOSTS: receiver.hostPort,
    QUEUE_MAINTENANCE_INTERVAL_SECONDS: '1',
    // short retries: an attempt that times out on a loaded machine must not wait minutes
    WEBHOOK_RETRY_SCHEDULE: '1s,1s,1s,1s,1s,1s,1s,1s',
    LOG_LEVEL: 'warn',
  };
  server = await startServerProcess(env, port);
  const secret = (await readFile(path.join(dataDir, 'jwt-secret'), 'utf8')).trim();
  const token = await new SignJWT({ tenant_id: 'crash' })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(secret));
  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(`${server!.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as { data: any };
  };

  const created = await gql(
    `mutation($url: URL!) { createWebhook(input: { name: "crash", url: $url, eventTypes: ["webhook.test"], retryPolicy: { timeoutMs: 2000 } }) {
      ... on CreateWebhookPayload { signingSecret webhook { id } } } }`,
    { url: receiver.url },
  );
  const { signingSecret, webhook } = created.data.createWebhook;
  const deliveryIds: string[] = [];
  for (let i = 0; i < 12; i++) {
    const sent = await gql(
      `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { ... on SendTestEventPayload { delivery { id } } } }`,
      {
        id: webhook.id,
      },
    );
    deliveryIds.push(sent.data.sendTestEvent.delivery.id);
  }
  await eventually(async () => (receiver.received.length >= 1 ? true : undefined), 15_000, 'a first attempt in flight');
  await server.stop('SIGKILL');

  receiver.answer = () => ({ status: 200 });
  server = await startServerProcess(env, port);
  const answered = () => new Set(receiver.received.filter((r) => r.at > 0).map((r) => String(r.headers['webhook-id'])));
  await eventually(async () => (deliveryIds.every((id) => answered().has(id)) ? true : undefined), 60_000, 'every delivery to arrive');
  for (const r of receiver.received) {
    expect(deliveryIds).toContain(String(r.headers['webhook-id']));
    expect(verifyStandardWebhook({ secret: signingSecret, headers: r.headers, body: r.body }).ok).toBe(true);
  }
  const statuses = await eventually(
    async () => {
      const res = await gql(`query($id: ID!) { webhook(id: $id) { deliveries(first: 50) { edges { node { id status } } } } }`, {
        id: webhook.id,
      });
      const nodes = res.data.webhook.deliveries.edges.map((e: { node: { status: string } }) => e.node.status);
      return nodes.every((s: string) => s === 'SUCCEEDED') ? nodes : undefined;
    },
    30_000,
    'every delivery SUCCEEDED',
  );
  expect(statuses).toHaveLength(12);
}, 150_000);
