/**
 * Jobs carry the tenant of the row they name, and the workers trust no more than that: they read
 * the row through the tenant-scoped client (and row-level security), so a job whose tenantId is
 * not the row's finds nothing and does nothing, as for a row that does not exist. A job written
 * straight into the queue's table (the queue has no row-level security) therefore cannot make a
 * worker act on another tenant's integration or delivery. The same jobs with the right tenant do
 * act, so the test would see a worker that ignored the tenant.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { forTenant } from '../../src/db/tenant.ts';
import { VERIFY_QUEUE } from '../../src/integrations/verify-queue.ts';
import { verifyIntegrationWorker } from '../../src/integrations/verify-worker.ts';
import { deliveryWorker } from '../../src/webhooks/deliver.ts';
import { DELIVER_QUEUE } from '../../src/webhooks/queue.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, startFakeApi, stripeBalance } from '../helpers/fake-api.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

let server: TestServer;
let stripe: FakeApi;
let receiver: Receiver;

beforeAll(async () => {
  stripe = await startFakeApi(stripeBalance('sk_test_owner'));
  receiver = await startReceiver();
  // no worker: this test decides which jobs run
  server = await startTestServer({ WORKER: 'false', STRIPE_API_BASE_URL: stripe.url, WEBHOOK_ALLOW_HOSTS: receiver.hostPort });
});
afterAll(async () => {
  await server?.close();
  await stripe?.close();
  await receiver?.close();
});

/** Takes every waiting job of a queue off it, unrun. */
async function drain(queue: string) {
  const { boss } = server.app.services.queue;
  for (;;) {
    const jobs = await boss.fetch(queue, { batchSize: 100 });
    if (!jobs.length) return;
    await boss.complete(
      queue,
      jobs.map((j) => j.id),
    );
  }
}

async function completed(queue: string, id: string) {
  const job = await server.app.services.queue.boss.getJobById(queue, id);
  return job?.state === 'completed' ? true : undefined;
}

it('a job naming another tenant than its row’s finds nothing and does nothing; with the row’s tenant it acts', async () => {
  const token = await server.token({ tenant_id: 'job-owner' });
  const hook = await server.gql(
    `mutation($url: URL!) { createWebhook(input: { name: "w", url: $url, eventTypes: ["*"] }) { ... on CreateWebhookPayload { webhook { id } } } }`,
    { url: receiver.url },
    { token },
  );
  expect(hook.data.createWebhook.webhook.id).toBeTruthy();
  const configured = await server.gql(
    `mutation { configureIntegration(input: { provider: "stripe", credentials: { publishable_key: "pk_test_1", secret_key: "sk_test_owner" } }) {
      ... on ConfigureIntegrationPayload { integration { status } } } }`,
    {},
    { token },
  );
  expect(configured.data.configureIntegration.integration.status).toBe('PENDING_VERIFY');
  await drain(VERIFY_QUEUE);
  await drain(DELIVER_QUEUE);

  const db = forTenant(server.app.services.prisma, 'job-owner');
  const integration = await db.integration.findFirstOrThrow();
  const delivery = await db.webhookDelivery.findFirstOrThrow({ where: { status: 'PENDING' } });

  const { queue } = server.app.services;
  const forgedVerify = (await queue.boss.send(VERIFY_QUEUE, {
    tenantId: 'job-forger',
    integrationId: integration.id,
    revision: integration.credentialsRevision,
  }))!;
  const forgedDelivery = (await queue.boss.send(DELIVER_QUEUE, {
    tenantId: 'job-forger',
    deliveryId: delivery.id,
    attempt: delivery.attemptCount,
  }))!;
  await queue.work(VERIFY_QUEUE, 1, verifyIntegrationWorker(server.app.services));
  queue.consume(DELIVER_QUEUE, 1, deliveryWorker(server.app.services));
  await eventually(() => completed(VERIFY_QUEUE, forgedVerify), 15_000, 'the forged verification job');
  await eventually(() => completed(DELIVER_QUEUE, forgedDelivery), 15_000, 'the forged delivery job');

  expect(stripe.seen).toEqual([]);
  expect(receiver.received).toEqual([]);
  expect(await db.integration.findUniqueOrThrow({ where: { id: integration.id } })).toMatchObject({
    status: 'PENDING_VERIFY',
    version: integration.version,
  });
  expect(await db.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).toMatchObject({ status: 'PENDING', attemptCount: 0 });

  // the control: the same jobs with the row's tenant
  await queue.boss.send(VERIFY_QUEUE, { tenantId: 'job-owner', integrationId: integration.id, revision: integration.credentialsRevision });
  await queue.boss.send(DELIVER_QUEUE, { tenantId: 'job-owner', deliveryId: delivery.id, attempt: delivery.attemptCount });
  queue.wake(VERIFY_QUEUE);
  queue.wake(DELIVER_QUEUE);
  await eventually(async () =>
    (await db.integration.findUniqueOrThrow({ where: { id: integration.id } })).status === 'ACTIVE' ? true : undefined,
  );
  await eventually(async () => (receiver.received.length ? true : undefined));
  expect(stripe.seen.length).toBeGreaterThan(0);
});
