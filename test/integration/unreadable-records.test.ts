/**
 * A sealed record the keyring cannot open at run time (sealed under a key the service does not
 * hold, as a key dropped before a rotation reached the row leaves it): its work stops and alerts,
 * nothing a tenant sees changes (no status, attempt, pause or event; inbound callbacks get 503;
 * a credentials or header change that must open it is UNAVAILABLE), and held jobs run once it
 * opens again.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromColumns, toColumns } from '../../src/crypto/credentials.ts';
import { seal } from '../../src/crypto/envelope.ts';
import { keyringFromKeys } from '../../src/crypto/keyring.ts';
import { forTenant } from '../../src/db/tenant.ts';
import { sealHeaders } from '../../src/webhooks/headers.ts';
import { sealSecret } from '../../src/webhooks/secrets.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, startFakeApi, stripeBalance } from '../helpers/fake-api.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

const TENANT = 'unreadable';
const SECRET_KEY = 'sk_test_unreadableSecret0123';
const WHSEC = 'whsec_unreadableInbound0123';
/** A key the service's keyring does not hold. */
const ELSEWHERE = keyringFromKeys([{ id: 'elsewhere', key: Buffer.alloc(32, 0xee) }]);

let server: TestServer;
let stripe: FakeApi;
let receiver: Receiver;
let token: string;
let integrationId: string;
let inboundUrl: string;
let webhookId: string;
let webhookGlobalId: string;

const db = () => forTenant(server.app.database.prisma, TENANT);

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

const failures = (what: string) => metric('icp_decryption_failures_total', `what="${what}"`);

async function eventCount(type: string): Promise<number> {
  return db().event.count({ where: { type } });
}

/** The integration's credentials re-sealed under a key the keyring lacks; returns the readable columns, to put back. */
async function makeCredentialsUnreadable() {
  const row = await db().integration.findUniqueOrThrow({ where: { id: integrationId } });
  const readable = toColumns(fromColumns(row));
  const aad = `integration-credentials|${row.tenantId}|${row.id}`;
  const sealed = seal(ELSEWHERE, Buffer.from(JSON.stringify({ secret_key: SECRET_KEY, webhook_secret: WHSEC })), aad);
  await db().integration.update({ where: { id: integrationId }, data: toColumns(sealed) });
  return () => db().integration.update({ where: { id: integrationId }, data: readable });
}

function stripeSignature(body: string) {
  const t = Math.floor(Date.now() / 1000);
  return `t=${t},v1=${createHmac('sha256', WHSEC).update(`${t}.${body}`).digest('hex')}`;
}

beforeAll(async () => {
  stripe = await startFakeApi(stripeBalance(SECRET_KEY));
  receiver = await startReceiver();
  server = await startTestServer({
    STRIPE_API_BASE_URL: stripe.url,
    WEBHOOK_ALLOW_HOSTS: receiver.hostPort,
    // a single counted failure would pause the webhook
    WEBHOOK_PAUSE_AFTER_FAILURES: '1',
    WEBHOOK_RETRY_SCHEDULE: '1s',
    VERIFY_RETRY_LIMIT: '0',
  });
  token = await server.token({ tenant_id: TENANT, scope: 'admin' });
  const configured = await server.gql(
    `mutation { configureIntegration(input: { provider: "stripe", credentials: { publishable_key: "pk_test_u", secret_key: "${SECRET_KEY}", webhook_secret: "${WHSEC}" } }) {
      ... on ConfigureIntegrationPayload { integration { id inboundWebhookUrl } } } }`,
    {},
    { token },
  );
  inboundUrl = configured.data.configureIntegration.integration.inboundWebhookUrl;
  integrationId = (await db().integration.findFirstOrThrow()).id;
  await eventually(
    async () => ((await db().integration.findUniqueOrThrow({ where: { id: integrationId } })).status === 'ACTIVE' ? true : undefined),
    20_000,
    'ACTIVE',
  );
  const created = await server.gql(
    `mutation($url: URL!) { createWebhook(input: { name: "u", url: $url, eventTypes: ["webhook.test"] }) { ... on CreateWebhookPayload { webhook { id } } } }`,
    { url: receiver.url },
    { token },
  );
  webhookGlobalId = created.data.createWebhook.webhook.id;
  webhookId = (await db().webhook.findFirstOrThrow()).id;
});

afterAll(async () => {
  await server?.close();
  await stripe?.close();
  await receiver?.close();
});

describe('a sealed record that cannot be opened at run time', () => {
  it('holds the verification: the integration stays as it was, no event, an alert; it runs once the record opens again', async () => {
    const restore = await makeCredentialsUnreadable();
    const verified = await server.gql(
      `mutation($id: ID!) { verifyIntegration(input: { id: $id }) { __typename } }`,
      { id: await integrationGlobalId() },
      { token },
    );
    expect(verified.data.verifyIntegration.__typename).toBe('VerifyIntegrationPayload');
    const changesBefore = await eventCount('integration.status_changed');
    const balanceCalls = stripe.seen.length;

    // the worker ran: it either raised the alert (held) or, as before, wrote its outcome
    await eventually(
      async () => {
        const row = await db().integration.findUniqueOrThrow({ where: { id: integrationId } });
        return row.status !== 'PENDING_VERIFY' || (await failures('integration_credentials')) > 0 ? true : undefined;
      },
      20_000,
      'the verification job',
    );
    const row = await db().integration.findUniqueOrThrow({ where: { id: integrationId } });
    expect(row.status).toBe('PENDING_VERIFY');
    expect(row.lastError).toBeNull();
    expect(await eventCount('integration.status_changed')).toBe(changesBefore);
    expect(stripe.seen.length).toBe(balanceCalls);
    expect(await failures('integration_credentials')).toBe(1);
    expect(await metric('icp_integration_verifications_total', 'provider="stripe",outcome="held"')).toBe(1);
    const alert = server.logs.map((l) => JSON.parse(l)).find((l) => l.msg?.startsWith('a sealed record could not be decrypted'));
    expect(alert).toMatchObject({
      level: 'error',
      what: 'integration_credentials',
      integrationId,
      keyId: 'elsewhere',
      work: 'verification',
    });

    // handed back to the queue, not dropped: with the record readable again it runs
    await restore();
    await eventually(
      async () => ((await db().integration.findUniqueOrThrow({ where: { id: integrationId } })).status === 'ACTIVE' ? true : undefined),
      20_000,
      'ACTIVE again',
    );
  });

  it('holds the delivery: no attempt counted, the webhook not paused, nothing sent; it is sent once the secret opens again', async () => {
    const hook = await db().webhook.findUniqueOrThrow({ where: { id: webhookId } });
    const readable = {
      secretKeyId: hook.secretKeyId,
      secretDataKey: hook.secretDataKey,
      secretIv: hook.secretIv,
      secretTag: hook.secretTag,
      secretCiphertext: hook.secretCiphertext,
    };
    await db().webhook.update({ where: { id: webhookId }, data: sealSecret(ELSEWHERE, TENANT, webhookId, 'whsec_elsewhere') });

    const sent = await server.gql(
      `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { __typename } }`,
      { id: webhookGlobalId },
      { token },
    );
    expect(sent.data.sendTestEvent.__typename).toBe('SendTestEventPayload');
    const delivery = await db().webhookDelivery.findFirstOrThrow({ where: { webhookId } });

    await eventually(
      async () => {
        const d = await db().webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
        return d.attemptCount > 0 || (await failures('webhook_signing_secret')) > 0 ? true : undefined;
      },
      20_000,
      'the delivery job',
    );
    const after = await db().webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
    expect(after).toMatchObject({ status: 'PENDING', attemptCount: 0 });
    expect(await db().deliveryAttempt.count({ where: { deliveryId: delivery.id } })).toBe(0);
    expect(await db().webhook.findUniqueOrThrow({ where: { id: webhookId } })).toMatchObject({
      status: 'ACTIVE',
      consecutiveFailures: 0,
      lastDeliveryStatus: null,
    });
    expect(await eventCount('webhook.paused')).toBe(0);
    expect(receiver.received).toHaveLength(0);
    expect(await failures('webhook_signing_secret')).toBe(1);
    expect(await metric('icp_webhook_deliveries_total', 'outcome="held"')).toBe(1);
    const alert = server.logs.map((l) => JSON.parse(l)).find((l) => l.what === 'webhook_signing_secret');
    expect(alert).toMatchObject({ level: 'error', webhookId, deliveryId: delivery.id, keyId: 'elsewhere', work: 'delivery' });

    await db().webhook.update({ where: { id: webhookId }, data: readable });
    await eventually(async () => (receiver.received.length ? true : undefined), 20_000, 'the held delivery to be sent');
    await eventually(async () =>
      (await db().webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).status === 'SUCCEEDED' ? true : undefined,
    );
    expect(await db().deliveryAttempt.count({ where: { deliveryId: delivery.id } })).toBe(1);
  });

  it('answers an inbound callback 503 (the provider retries) and relays nothing', async () => {
    const restore = await makeCredentialsUnreadable();
    const before = await failures('integration_credentials');
    const body = JSON.stringify({ id: 'evt_u1', object: 'event', type: 'payment_intent.succeeded', data: { object: { id: 'pi_u1' } } });
    const res = await fetch(inboundUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignature(body) },
      body,
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
    expect(await res.text()).not.toMatch(/decrypt|key|elsewhere/i);
    expect(await eventCount('provider.stripe.payment_intent.succeeded')).toBe(0);
    expect(await failures('integration_credentials')).toBe(before + 1);
    expect((await db().integration.findUniqueOrThrow({ where: { id: integrationId } })).status).toBe('ACTIVE');

    // the provider's retry, once the credentials open again, is stored
    await restore();
    const retried = await fetch(inboundUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignature(body) },
      body,
    });
    expect(retried.status).toBe(200);
    expect(await eventCount('provider.stripe.payment_intent.succeeded')).toBe(1);
  });

  it('refuses a credentials change that must open the stored secrets, as UNAVAILABLE, changing nothing', async () => {
    const restore = await makeCredentialsUnreadable();
    const before = await db().integration.findUniqueOrThrow({ where: { id: integrationId } });
    const failed = await failures('integration_credentials');
    const res = await server.gql(
      `mutation($id: ID!) { updateIntegration(input: { id: $id, credentials: { secret_key: "sk_test_unreadableNew0123" } }) { __typename } }`,
      { id: await integrationGlobalId() },
      { token },
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
    expect(res.status).toBe(503);
    expect(res.raw).not.toMatch(/elsewhere|decrypt/i);
    const after = await db().integration.findUniqueOrThrow({ where: { id: integrationId } });
    expect(after).toMatchObject({ status: before.status, version: before.version, credentialsRevision: before.credentialsRevision });
    expect(await failures('integration_credentials')).toBe(failed + 1);
    await restore();

    // no alert of this file carried a secret
    const logs = server.logs.join('\n');
    for (const secret of [SECRET_KEY, WHSEC, 'whsec_elsewhere', 'sk_test_unreadableNew0123']) expect(logs).not.toContain(secret);
  });

  it('refuses a header change that must open the stored headers, as UNAVAILABLE with an alert, changing nothing', async () => {
    const kept = 'Bearer unreadableHeaderValue0123';
    const set = await server.gql(
      `mutation($id: ID!, $h: JSONObject!) { updateWebhook(input: { id: $id, headers: $h }) { __typename ... on Error { message } } }`,
      { id: webhookGlobalId, h: { authorization: kept } },
      { token },
    );
    expect(set.data?.updateWebhook.__typename, set.raw).toBe('UpdateWebhookPayload');
    // the stored headers re-sealed under a key the keyring lacks
    const readable = await db().webhook.findUniqueOrThrow({ where: { id: webhookId } });
    const { headers: _names, ...unreadable } = sealHeaders(ELSEWHERE, TENANT, webhookId, { authorization: kept });
    await db().webhook.update({ where: { id: webhookId }, data: unreadable });
    const before = await db().webhook.findUniqueOrThrow({ where: { id: webhookId } });
    const failed = await failures('webhook_headers');

    // a null keeps the stored value, which must be opened to be kept
    const res = await server.gql(
      `mutation($id: ID!, $h: JSONObject!) { updateWebhook(input: { id: $id, headers: $h }) { __typename } }`,
      { id: webhookGlobalId, h: { authorization: null, 'x-extra': 'value' } },
      { token },
    );
    expect(res.errors?.[0]?.extensions?.code, res.raw).toBe('UNAVAILABLE');
    expect(res.status).toBe(503);
    expect(res.raw).not.toMatch(/elsewhere|decrypt/i);
    const after = await db().webhook.findUniqueOrThrow({ where: { id: webhookId } });
    expect(after).toMatchObject({ version: before.version, headersKeyId: 'elsewhere', headers: before.headers });
    expect(await failures('webhook_headers')).toBe(failed + 1);
    const alert = server.logs.map((l) => JSON.parse(l)).findLast((l) => l.msg?.startsWith('a sealed record could not be decrypted'));
    expect(alert).toMatchObject({ level: 'error', what: 'webhook_headers', webhookId, keyId: 'elsewhere', work: 'headers_change' });
    expect(server.logs.join('\n')).not.toContain('unreadableHeaderValue0123');

    // readable again, the same change goes through
    await db().webhook.update({
      where: { id: webhookId },
      data: {
        headersKeyId: readable.headersKeyId,
        headersDataKey: readable.headersDataKey,
        headersIv: readable.headersIv,
        headersTag: readable.headersTag,
        headersCiphertext: readable.headersCiphertext,
      },
    });
    const retried = await server.gql(
      `mutation($id: ID!, $h: JSONObject!) { updateWebhook(input: { id: $id, headers: $h }) { __typename } }`,
      { id: webhookGlobalId, h: { authorization: null, 'x-extra': 'value' } },
      { token },
    );
    expect(retried.data?.updateWebhook.__typename, retried.raw).toBe('UpdateWebhookPayload');
  });
});

async function integrationGlobalId(): Promise<string> {
  const res = await server.gql(`{ integrations(first: 1) { edges { node { id } } } }`, {}, { token });
  return res.data.integrations.edges[0].node.id;
}
