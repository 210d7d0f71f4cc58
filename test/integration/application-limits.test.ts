/**
 * An application's credential (JWT claim `app_id`, or an API key minted by one) reads only its
 * application's data: events, deliveries and audit entries as well as webhooks and API keys.
 * Events visible to an application are those it caused and those delivered to its webhooks; a
 * person's credential (no app_id) sees the whole tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

let server: TestServer;
let receiver: Receiver;
let person: string;
let billing: string;
let other: string;
/** Billing's webhook (integration.* and webhook.test) and other's (webhook.test only). */
let billingHook: string;
let otherHook: string;
let billingTest: { deliveryId: string; eventId: string };
let otherTest: { deliveryId: string; eventId: string };

const TENANT = 'apps-limits';
const CREATE = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { ... on CreateWebhookPayload { webhook { id } } } }`;
const SEND_TEST = `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) {
  __typename ... on SendTestEventPayload { delivery { id event { id } } } } }`;
const EVENTS = `query($type: String) { events(type: $type) { totalCount edges { node { id type } } } }`;

async function sendTest(webhookId: string, token: string) {
  const res = await server.gql(SEND_TEST, { id: webhookId }, { token });
  const delivery = res.data.sendTestEvent.delivery;
  return { deliveryId: delivery.id as string, eventId: delivery.event.id as string };
}

async function events(type: string, credential: { token?: string; apiKey?: string }) {
  const res = await server.gql(EVENTS, { type }, credential);
  expect(res.errors).toBeUndefined();
  return res.data.events as { totalCount: number; edges: { node: { id: string; type: string } }[] };
}

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startTestServer({
    WEBHOOK_ALLOW_HOSTS: receiver.hostPort,
    OPENAI_API_BASE_URL: 'http://127.0.0.1:9',
    VERIFY_RETRY_LIMIT: '0',
  });
  person = await server.token({ tenant_id: TENANT });
  billing = await server.token({ tenant_id: TENANT, app_id: 'billing' });
  other = await server.token({ tenant_id: TENANT, app_id: 'other' });
  const create = async (name: string, eventTypes: string[], token: string) =>
    (await server.gql(CREATE, { input: { name, url: receiver.url, eventTypes } }, { token })).data.createWebhook.webhook.id as string;
  billingHook = await create('billing', ['integration.*', 'webhook.test'], billing);
  otherHook = await create('other', ['webhook.test'], other);
  billingTest = await sendTest(billingHook, billing);
  otherTest = await sendTest(otherHook, other);
  // a tenant-wide change by a person: delivered to billing's webhook (integration.*), not to other's
  await server.gql(
    `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-apps" } }) { __typename } }`,
    {},
    { token: person },
  );
  await eventually(async () => (receiver.received.some((r) => JSON.parse(r.body).type === 'integration.created') ? true : undefined));
});

afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

describe('events', () => {
  it('lists to an application only the events it caused or that were delivered to its webhooks', async () => {
    const tests = (page: Awaited<ReturnType<typeof events>>) => page.edges.map((e) => e.node.id).sort();
    expect(tests(await events('webhook.test', { token: billing }))).toEqual([billingTest.eventId]);
    expect(tests(await events('webhook.test', { token: other }))).toEqual([otherTest.eventId]);
    expect((await events('webhook.test', { token: other })).totalCount).toBe(1);
    expect(tests(await events('webhook.test', { token: person }))).toEqual([billingTest.eventId, otherTest.eventId].sort());

    // the person's integration.created reached billing's webhook, so billing may read it; other may not
    expect((await events('integration.created', { token: billing })).totalCount).toBe(1);
    expect((await events('integration.created', { token: other })).totalCount).toBe(0);
    expect((await events('integration.created', { token: person })).totalCount).toBe(1);

    // unfiltered pages and counts follow the same rule
    const all = await events(null as never, { token: other });
    expect(all.edges.map((e) => e.node.type)).toEqual(['webhook.test']);
    expect(all.totalCount).toBe(1);
  });

  it('limits an API key minted by an application the same way', async () => {
    const minted = await server.gql(
      `mutation { createApiKey(input: { name: "other-key", scopes: ["webhooks:read"] }) { ... on CreateApiKeyPayload { secret apiKey { appId } } } }`,
      {},
      { token: other },
    );
    expect(minted.data.createApiKey.apiKey.appId).toBe('other');
    const apiKey = minted.data.createApiKey.secret as string;
    const page = await events('webhook.test', { apiKey });
    expect(page.edges.map((e) => e.node.id)).toEqual([otherTest.eventId]);
    expect(page.totalCount).toBe(1);
  });

  it('answers node(id) of another application’s event, delivery or webhook as if it did not exist', async () => {
    const NODE = `query($id: ID!) { node(id: $id) { id ... on Event { type } ... on WebhookDelivery { event { id } } } }`;
    for (const id of [billingTest.eventId, billingTest.deliveryId, billingHook]) {
      const res = await server.gql(NODE, { id }, { token: other });
      expect(res.errors, id).toBeUndefined();
      expect(res.data.node, id).toBeNull();
    }
    expect((await server.gql(NODE, { id: billingTest.eventId }, { token: billing })).data.node).toMatchObject({ type: 'webhook.test' });
    expect((await server.gql(NODE, { id: billingTest.eventId }, { token: person })).data.node).toMatchObject({ type: 'webhook.test' });
    const delivery = (await server.gql(NODE, { id: billingTest.deliveryId }, { token: billing })).data.node;
    expect(delivery.event.id).toBe(billingTest.eventId);

    // and the writes and the stream that name one
    const test = await server.gql(SEND_TEST, { id: billingHook }, { token: other });
    expect(test.data.sendTestEvent.__typename).toBe('NotFoundError');
    await eventually(async () => {
      const r = await server.gql(
        `query($id: ID!) { node(id: $id) { ... on WebhookDelivery { status } } }`,
        { id: billingTest.deliveryId },
        { token: billing },
      );
      return r.data.node.status === 'PENDING' ? undefined : true;
    });
    const redo = await server.gql(
      `mutation($id: ID!) { redeliverWebhookDelivery(input: { id: $id }) { __typename } }`,
      { id: billingTest.deliveryId },
      { token: other },
    );
    expect(redo.data.redeliverWebhookDelivery.__typename).toBe('NotFoundError');
    const stream = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${other}` },
      body: JSON.stringify({
        query: 'subscription($id: ID!) { webhookDeliveryUpdated(webhookId: $id) { id } }',
        variables: { id: billingHook },
      }),
    });
    const text = await readUntil(stream, /NOT_FOUND|"data"/);
    expect(text).toContain('NOT_FOUND');
    expect(text).not.toContain('"webhookDeliveryUpdated":{');
  });
});

describe('auditLog', () => {
  it('shows an application only the entries of its own credentials', async () => {
    const LOG = `{ auditLog(first: 100) { totalCount edges { node { operation appId } } } }`;
    const byApp = (await server.gql(LOG, {}, { token: other })).data.auditLog;
    expect(byApp.totalCount).toBeGreaterThan(0);
    expect(new Set(byApp.edges.map((e: { node: { appId: string } }) => e.node.appId))).toEqual(new Set(['other']));
    const byPerson = (await server.gql(LOG, {}, { token: person })).data.auditLog;
    expect(new Set(byPerson.edges.map((e: { node: { appId: string | null } }) => e.node.appId))).toEqual(
      new Set([null, 'billing', 'other']),
    );
    expect(byPerson.totalCount).toBeGreaterThan(byApp.totalCount);
  });
});

/** The response text up to the first match of `until` (or the end of the response). */
async function readUntil(res: Response, until: RegExp): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  const deadline = Date.now() + 5000;
  while (!until.test(text) && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  await reader.cancel().catch(() => {});
  return text;
}
