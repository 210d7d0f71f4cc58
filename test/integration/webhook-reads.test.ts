/**
 * What an executed webhook page (the bench's query: webhooks with their last deliveries, events and
 * attempts) fetches from the database: the first page is one call of icp_webhook_page_v2, the same
 * however many webhooks it holds (what that call sends back is checked in
 * webhook-first-page.test.ts); a page after a cursor goes through Prisma, whose statements name no
 * sealed column of Webhook (signing secrets, static header values) and no event payload or
 * response body the page does not show. Checked on the SQL the running service sends, after real
 * deliveries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

const WEBHOOKS = 6;
const TESTS_EACH = 4;
const PAGE = `query Webhooks($first: Int, $after: String) {
  webhooks(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id name url status eventTypes consecutiveFailures lastDeliveryAt lastDeliveryStatus
      retryPolicy { maxAttempts timeoutMs }
      deliveries(first: 3) { totalCount edges { node { id status attemptCount createdAt
        event { id type occurredAt } attempts { attemptNumber responseStatus durationMs startedAt } } } } } } }
}`;
const SEALED = /"(previousSecret|secret)(KeyId|DataKey|Iv|Tag|Ciphertext)"|"headers(KeyId|DataKey|Iv|Tag|Ciphertext)"/;
/** Prisma's reads of Webhook, or the first page's function (src/webhooks/first-page.ts), which never reads out a sealed column. */
const READS_WEBHOOK = /\bFROM "(\w+"\.")?Webhook"|\bicp_webhook_page_v2\(/;
const SHOWN_ONLY = /"(payload|responseBody|error)"/;

let server: TestServer;
let receiver: Receiver;
let token: string;
const ids: string[] = [];

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startTestServer({ WEBHOOK_ALLOW_HOSTS: receiver.hostPort });
  token = await server.token({ tenant_id: 'webhook-reads' });
  for (let i = 0; i < WEBHOOKS; i++) {
    const created = await server.gql(
      `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { ... on CreateWebhookPayload { webhook { id } } } }`,
      { input: { name: `reads ${i}`, url: `${receiver.url}/${i}`, eventTypes: ['webhook.test'], headers: { 'x-reads': `v${i}` } } },
      { token },
    );
    ids.push(created.data.createWebhook.webhook.id);
  }
  for (const webhookId of ids) {
    for (let j = 0; j < TESTS_EACH; j++) {
      const sent = await server.gql(
        `mutation($input: SendTestEventInput!) { sendTestEvent(input: $input) { __typename } }`,
        { input: { webhookId } },
        { token },
      );
      expect(sent.data.sendTestEvent.__typename).toBe('SendTestEventPayload');
    }
  }
  await eventually(async () => receiver.received.length === WEBHOOKS * TESTS_EACH || undefined, 30_000, 'the test deliveries');
}, 90_000);

afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

/** Resolves once the service has sent no statement for 300 ms. */
async function quiet() {
  let last = server.queries.length;
  await eventually(
    async () => {
      await new Promise((r) => setTimeout(r, 300));
      const settled = server.queries.length === last;
      last = server.queries.length;
      return settled || undefined;
    },
    10_000,
    'a quiet service',
  );
}

/** The answer, executed (not from the response cache), and every statement it sent once the deliveries are recorded. */
async function executed(query: string, variables: Record<string, unknown> = {}) {
  // the last attempt's bookkeeping may still be on its way
  await quiet();
  const before = server.queries.length;
  const res = await server.gql(query, variables, { token, headers: { 'cache-control': 'no-cache' } });
  expect(res.errors).toBeUndefined();
  // the answer can reach us before the driver reports its transaction's COMMIT
  await quiet();
  const statements = server.queries.slice(before);
  return { data: res.data, statements, selects: statements.filter((sql) => /^\s*SELECT\b/.test(sql) && !/set_config/.test(sql)) };
}

describe('the executed webhook page with nested deliveries', () => {
  it('shows every webhook, its last deliveries, their events and attempts', async () => {
    const { data } = await executed(PAGE, { first: 25 });
    const page = data.webhooks;
    expect(page.totalCount).toBe(WEBHOOKS);
    expect(page.pageInfo.hasNextPage).toBe(false);
    expect(page.edges.map((e: any) => e.node.id)).toEqual([...ids].reverse());
    for (const { node } of page.edges) {
      expect(node).toMatchObject({ status: 'ACTIVE', eventTypes: ['webhook.test'], consecutiveFailures: 0, lastDeliveryStatus: '200' });
      expect(node.deliveries.totalCount).toBe(TESTS_EACH);
      expect(node.deliveries.edges).toHaveLength(3);
      for (const { node: delivery } of node.deliveries.edges) {
        expect(delivery).toMatchObject({ status: 'SUCCEEDED', attemptCount: 1, event: { type: 'webhook.test' } });
        expect(delivery.attempts).toEqual([
          { attemptNumber: 1, responseStatus: 200, durationMs: expect.any(Number), startedAt: expect.any(String) },
        ]);
      }
    }
  });

  it('reads no sealed Webhook column, and no event payload or response body it does not show', async () => {
    const first = await executed(PAGE, { first: 2 });
    // the first page: one call, whose answer webhook-first-page.test.ts checks
    expect(first.statements.filter((sql) => READS_WEBHOOK.test(sql))).toEqual([expect.stringMatching(/^SELECT icp_webhook_page_v2\(/)]);
    // the next one, after a cursor, through Prisma: the statements name the columns they read
    const next = await executed(PAGE, { first: 2, after: first.data.webhooks.pageInfo.endCursor });
    expect(next.data.webhooks.edges.map((e: any) => e.node.id)).toEqual([...ids].reverse().slice(2, 4));
    expect(next.data.webhooks.edges[0].node.deliveries.edges).toHaveLength(3);
    const webhookReads = next.statements.filter((sql) => READS_WEBHOOK.test(sql));
    expect(webhookReads.length).toBeGreaterThan(0);
    expect(webhookReads.some((sql) => /icp_webhook_page/.test(sql))).toBe(false);
    for (const sql of next.statements) {
      expect(sql).not.toMatch(SEALED);
      expect(sql).not.toMatch(SHOWN_ONLY);
    }
  });

  it('sends the same statements for a page of one webhook as for a page of all of them', async () => {
    const one = await executed(PAGE, { first: 1 });

    const all = await executed(PAGE, { first: 25 });
    expect(one.data.webhooks.edges).toHaveLength(1);
    expect(all.data.webhooks.edges).toHaveLength(WEBHOOKS);
    // one statement: the webhooks, their deliveries, events, attempts and counts, and the page's count
    expect(all.selects).toEqual([expect.stringMatching(/icp_webhook_page_v2\(/)]);
    expect(all.statements.length).toBe(one.statements.length);
    expect(all.statements).toHaveLength(1);
  });
});

describe('other reads of webhooks', () => {
  it('webhook(id) and node(id) read no sealed column and still show header names and the fingerprint', async () => {
    const SHOWN = 'id name headers secretFingerprint';
    for (const [query, pick] of [
      [`query($id: ID!) { webhook(id: $id) { ${SHOWN} } }`, (d: any) => d.webhook],
      [`query($id: ID!) { node(id: $id) { ... on Webhook { ${SHOWN} } } }`, (d: any) => d.node],
    ] as const) {
      const { data, statements } = await executed(query, { id: ids[0] });
      expect(pick(data), query).toMatchObject({ id: ids[0], name: 'reads 0', headers: { 'x-reads': null } });
      expect(pick(data).secretFingerprint, query).toMatch(/\S/);
      expect(JSON.stringify(data)).not.toContain('v0');
      for (const sql of statements) expect(sql, query).not.toMatch(SEALED);
    }
  });

  it('an event’s payload and an attempt’s response body are still read when asked for', async () => {
    const { data, statements } = await executed(
      `query($id: ID!) { webhook(id: $id) { deliveries(first: 1) { edges { node {
        event { id type payload } attempts { attemptNumber responseStatus responseBody error } } } } } }`,
      { id: ids[0] },
    );
    const delivery = data.webhook.deliveries.edges[0].node;
    expect(delivery.event.type).toBe('webhook.test');
    expect(delivery.event.payload).toEqual(expect.any(Object));
    expect(Object.keys(delivery.event.payload).length).toBeGreaterThan(0);
    expect(delivery.attempts).toEqual([{ attemptNumber: 1, responseStatus: 200, responseBody: expect.any(String), error: null }]);
    expect(statements.some((sql) => /"payload"/.test(sql) && /"responseBody"/.test(sql))).toBe(true);

    const node = await executed(`query($id: ID!) { node(id: $id) { ... on Event { type payload } } }`, { id: delivery.event.id });
    expect(node.data.node).toEqual({ type: 'webhook.test', payload: delivery.event.payload });
  });
});
