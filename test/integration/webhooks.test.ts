/**
 * Outbound webhooks over HTTP against real TCP receivers on 127.0.0.1. Signatures are checked
 * with an independent implementation of Standard Webhooks (test/helpers/standard-webhooks.ts).
 * The retry schedule is shortened (WEBHOOK_RETRY_SCHEDULE=1s,2s) and the pause threshold is 3.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forTenant } from '../../src/db/tenant.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';
import { verifyStandardWebhook } from '../helpers/standard-webhooks.ts';

let server: TestServer;
let ok: Receiver;
let flaky: Receiver;
let broken: Receiver;
let gone: Receiver;
let redirecting: Receiver;
let target: Receiver;
let token: string;

const ERRORS = `... on Error { __typename code message } ... on ValidationError { fieldErrors { path message } }`;
const WEBHOOK =
  'id name url status eventTypes headers secretFingerprint consecutiveFailures pausedAt version retryPolicy { maxAttempts timeoutMs backoff delaysMs }';
const CREATE = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) {
  __typename ... on CreateWebhookPayload { signingSecret webhook { ${WEBHOOK} } } ${ERRORS} } }`;
const DELIVERIES = `query($id: ID!, $status: DeliveryStatus) { webhook(id: $id) { status consecutiveFailures pausedAt
  lastDeliveryStatus lastDeliveryResult lastDeliveryHttpStatus
  deliveries(first: 50, status: $status) { totalCount edges { node { id status attemptCount nextAttemptAt event { type }
  attempts { attemptNumber responseStatus error durationMs } } } } } }`;

async function createWebhook(input: Record<string, unknown>, tok = token) {
  return (await server.gql(CREATE, { input }, { token: tok })).data.createWebhook;
}

async function touchIntegration(tok = token) {
  // an event every webhook with `integration.*` or `*` receives
  const res = await server.gql(
    `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-test" } }) {
      ... on ConfigureIntegrationPayload { integration { id } } ... on ConflictError { code } } }`,
    {},
    { token: tok },
  );
  return res.data.configureIntegration;
}

async function deliveriesOf(id: string, status?: string) {
  return (await server.gql(DELIVERIES, { id, status }, { token })).data.webhook;
}

beforeAll(async () => {
  ok = await startReceiver();
  flaky = await startReceiver();
  broken = await startReceiver(() => ({ status: 500, body: 'nope' }));
  gone = await startReceiver(() => ({ status: 410 }));
  target = await startReceiver();
  redirecting = await startReceiver(() => ({ status: 302, headers: { location: target.url } }));
  server = await startTestServer({
    WEBHOOK_RETRY_SCHEDULE: '1s,2s',
    WEBHOOK_PAUSE_AFTER_FAILURES: '3',
    WEBHOOK_ALLOW_HOSTS: [ok, flaky, broken, gone, redirecting, target].map((r) => r.hostPort).join(','),
    OPENAI_API_BASE_URL: 'http://127.0.0.1:9',
    VERIFY_RETRY_LIMIT: '0',
  });
  token = await server.token({ tenant_id: 'hooks' });
});

afterAll(async () => {
  await server?.close();
  for (const r of [ok, flaky, broken, gone, redirecting, target]) await r?.close();
});

describe('createWebhook', () => {
  it('returns the signing secret once; reads show only its fingerprint', async () => {
    const created = await createWebhook({ name: 'ok', url: ok.url, eventTypes: ['integration.*'], headers: { 'x-team': 'billing' } });
    expect(created.__typename).toBe('CreateWebhookPayload');
    expect(created.signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.webhook).toMatchObject({
      status: 'ACTIVE',
      consecutiveFailures: 0,
      retryPolicy: { maxAttempts: 3, timeoutMs: 15000, backoff: '1s,2s', delaysMs: [1000, 2000] },
    });
    const read = await server.gql(
      `query($id: ID!) { webhook(id: $id) { ${WEBHOOK} } webhooks { totalCount } }`,
      { id: created.webhook.id },
      { token },
    );
    expect(read.raw).not.toContain(created.signingSecret);
    expect(read.raw).not.toContain(created.signingSecret.slice(6, 30));
    expect(read.data.webhook.secretFingerprint).toBe(created.webhook.secretFingerprint);
  });

  it.each([
    [{ url: 'http://127.0.0.1:9/x' }, ['url'], /loopback/],
    [{ url: 'http://169.254.169.254/latest/meta-data' }, ['url'], /link-local|linkLocal/i],
    [{ url: 'http://[::ffff:127.0.0.1]/' }, ['url'], /.+/],
    [{ url: 'http://2130706433/' }, ['url'], /loopback/],
    [{ url: 'http://10.0.0.8/' }, ['url'], /private/],
    [{ eventTypes: ['nope.thing'] }, ['eventTypes', '0'], /.+/],
    [{ eventTypes: [] }, ['eventTypes'], /at least one/],
    [{ headers: { 'webhook-signature': 'x' } }, ['headers', 'webhook-signature'], /cannot be overridden/],
    [{ headers: { 'x-ok': 'a\r\nb' } }, ['headers', 'x-ok'], /line breaks/],
    [{ retryPolicy: { maxAttempts: 0 } }, ['retryPolicy', 'maxAttempts'], /from 1/],
    // bounds: what would be stored and then fail (or bloat) every delivery
    [{ url: `https://1.1.1.1/${'a'.repeat(900_000)}` }, ['url'], /at most 2048 characters/],
    [{ url: 'http://1.1.1.1:0/hooks' }, ['url'], /port/],
    [{ headers: { 'x-sep': 'a\u2028b' } }, ['headers', 'x-sep'], /visible ASCII/],
    [{ headers: { 'x-ctl': 'a\u0001b' } }, ['headers', 'x-ctl'], /visible ASCII/],
    [{ headers: { 'x-del': 'a\u007fb' } }, ['headers', 'x-del'], /visible ASCII/],
    [{ headers: { 'x-pad': ' padded' } }, ['headers', 'x-pad'], /space/],
    [{ headers: { 'X-Twice': 'a', 'x-twice': 'b' } }, ['headers', 'x-twice'], /more than once/],
    [{ headers: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x-big-${i}`, 'v'.repeat(1000)])) }, ['headers'], /8192/],
    [{ name: 'two\nlines' }, ['name'], /control characters/],
  ])('refuses invalid input with a field path (%#)', async (patch, path, message) => {
    const res = await createWebhook({ name: 'bad', url: ok.url, eventTypes: ['*'], ...patch });
    expect(res.code).toBe('VALIDATION');
    const hit = res.fieldErrors.find((e: { path: string[] }) => e.path.join() === path.join());
    expect(hit?.message).toMatch(message);
  });

  it('is refused for anonymous and read-only callers', async () => {
    expect((await server.gql(CREATE, { input: { name: 'x', url: ok.url, eventTypes: ['*'] } })).status).toBe(401);
    const reader = await server.token({ tenant_id: 'hooks', scope: 'webhooks:read' });
    const res = await server.gql(CREATE, { input: { name: 'x', url: ok.url, eventTypes: ['*'] } }, { token: reader });
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('deliveries', () => {
  it('delivers matching events signed per Standard Webhooks, with the custom headers', async () => {
    const created = await createWebhook({
      name: 'sig',
      url: `${ok.url}/sig`,
      eventTypes: ['integration.created'],
      headers: { 'x-team': 'ops' },
    });
    const other = await createWebhook({ name: 'filtered', url: target.url, eventTypes: ['routing_rule.*'] });
    const before = ok.received.length;
    await touchIntegration();
    const got = await eventually(async () => ok.received.slice(before).find((r) => r.path === '/hooks/sig'));
    const check = verifyStandardWebhook({ secret: created.signingSecret, headers: got.headers, body: got.body });
    expect(check.ok).toBe(true);
    expect(got.headers['x-team']).toBe('ops');
    expect(got.headers['content-type']).toBe('application/json');
    const body = JSON.parse(got.body);
    expect(Object.keys(body).sort()).toEqual(['data', 'timestamp', 'type']);
    expect(body.data.provider).toBe('openai');
    expect(JSON.stringify(body)).not.toContain('sk-test');
    expect(verifyStandardWebhook({ secret: other.signingSecret, headers: got.headers, body: got.body }).ok).toBe(false);

    const page = await deliveriesOf(created.webhook.id);
    const delivery = page.deliveries.edges[0].node;
    expect(got.headers['webhook-id']).toBe(delivery.id);
    await eventually(async () =>
      (await deliveriesOf(created.webhook.id)).deliveries.edges[0].node.status === 'SUCCEEDED' ? true : undefined,
    );
    expect(target.received).toHaveLength(0); // the routing_rule.* webhook got nothing
  });

  it('retries failures on the schedule with the same webhook-id, then succeeds', async () => {
    let calls = 0;
    flaky.answer = () => (++calls <= 2 ? { status: 500 } : { status: 204 });
    const tok = await server.token({ tenant_id: 'hooks-retry' });
    const created = await createWebhook({ name: 'flaky', url: flaky.url, eventTypes: ['integration.created'] }, tok);
    await touchIntegration(tok);
    await eventually(async () => (flaky.received.length >= 3 ? true : undefined), 20_000);
    const [a, b, c] = flaky.received;
    expect(new Set([a, b, c].map((r) => r!.headers['webhook-id'])).size).toBe(1);
    for (const r of [a, b, c])
      expect(verifyStandardWebhook({ secret: created.signingSecret, headers: r!.headers, body: r!.body }).ok).toBe(true);
    // schedule 1s then 2s, each ±20%: the gaps grow
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(750);
    expect(c!.at - b!.at).toBeGreaterThanOrEqual(1550);
    const res = await server.gql(DELIVERIES, { id: created.webhook.id }, { token: tok });
    await eventually(async () => {
      const r = await server.gql(DELIVERIES, { id: created.webhook.id }, { token: tok });
      return r.data.webhook.deliveries.edges[0].node.status === 'SUCCEEDED' ? r : undefined;
    });
    const final = (await server.gql(DELIVERIES, { id: created.webhook.id }, { token: tok })).data.webhook;
    const node = final.deliveries.edges[0].node;
    expect(node.attemptCount).toBe(3);
    expect(node.attempts.map((x: { responseStatus: number }) => x.responseStatus)).toEqual([500, 500, 204]);
    expect(final.consecutiveFailures).toBe(0);
    expect(final).toMatchObject({ lastDeliveryStatus: '204', lastDeliveryResult: 'SUCCEEDED', lastDeliveryHttpStatus: 204 });
    void res;
  });

  it('pauses a webhook after 3 failed attempts in a row, holds its events, and resume sends them', async () => {
    const tok = await server.token({ tenant_id: 'hooks-pause' });
    const created = await createWebhook({ name: 'broken', url: broken.url, eventTypes: ['*'], retryPolicy: { maxAttempts: 10 } }, tok);
    const id = created.webhook.id;
    await touchIntegration(tok);
    const paused = await eventually(async () => {
      const w = (await server.gql(DELIVERIES, { id }, { token: tok })).data.webhook;
      return w.status === 'PAUSED' ? w : undefined;
    }, 20_000);
    expect(paused.consecutiveFailures).toBeGreaterThanOrEqual(3); // an attempt already in flight may add one
    expect(paused.pausedAt).toBeTruthy();
    expect(paused).toMatchObject({ lastDeliveryStatus: '500', lastDeliveryResult: 'HTTP_ERROR', lastDeliveryHttpStatus: 500 });
    const events = await server.gql(`{ events(type: "webhook.paused") { totalCount } }`, {}, { token: tok });
    expect(events.data.events.totalCount).toBe(1);
    const sent = broken.received.length;
    await server.gql(
      `mutation { routing: createRoutingRule(input: { capability: "x", integrationId: "y" }) { __typename } }`,
      {},
      { token: tok },
    );
    await new Promise((r) => setTimeout(r, 2500));
    expect(broken.received.length).toBe(sent); // nothing while paused

    broken.answer = () => ({ status: 200 });
    const resumed = await server.gql(
      `mutation($id: ID!) { resumeWebhook(input: { id: $id }) { ... on ResumeWebhookPayload { webhook { status consecutiveFailures pausedAt } } } }`,
      { id },
      { token: tok },
    );
    expect(resumed.data.resumeWebhook.webhook).toEqual({ status: 'ACTIVE', consecutiveFailures: 0, pausedAt: null });
    await eventually(async () => {
      const w = (await server.gql(DELIVERIES, { id, status: 'SUCCEEDED' }, { token: tok })).data.webhook;
      return w.deliveries.totalCount >= 1 ? true : undefined;
    });
  });

  it('deleting a paused webhook fails what it held; nothing is sent to it', async () => {
    const tok = await server.token({ tenant_id: 'hooks-delete' });
    const created = await createWebhook({ name: 'held', url: `${ok.url}/held`, eventTypes: ['webhook.test'] }, tok);
    const id = created.webhook.id;
    await server.gql(`mutation($id: ID!) { pauseWebhook(input: { id: $id }) { __typename } }`, { id }, { token: tok });
    // a paused webhook gets no new deliveries; hold one made before the pause by pausing right after sending
    await server.gql(`mutation($id: ID!) { resumeWebhook(input: { id: $id }) { __typename } }`, { id }, { token: tok });
    broken.answer = () => ({ status: 500 });
    await server.gql(
      `mutation($url: URL!, $id: ID!) { updateWebhook(input: { id: $id, url: $url }) { __typename } }`,
      { id, url: `${broken.url}/held` },
      { token: tok },
    );
    await server.gql(`mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { __typename } }`, { id }, { token: tok });
    await eventually(async () => ((await deliveriesOfTenant(id, tok)).attemptCount >= 1 ? true : undefined));
    await server.gql(`mutation($id: ID!) { pauseWebhook(input: { id: $id }) { __typename } }`, { id }, { token: tok });
    const deleted = await server.gql(
      `mutation($id: ID!) { deleteWebhook(input: { id: $id }) { ... on DeleteWebhookPayload { deletedId } } }`,
      { id },
      { token: tok },
    );
    expect(deleted.data.deleteWebhook.deletedId).toBe(id);
    const events = await forTenant(server.app.database.prisma, 'hooks-delete').webhookDelivery.findMany({
      where: { webhookId: Buffer.from(id, 'base64').toString().split(':')[1] },
    });
    expect(events.map((d) => d.status)).toEqual(['FAILED']);
  });

  it('an application credential sees only its application’s deliveries, also by id', async () => {
    const person = await server.token({ tenant_id: 'hooks-apps' });
    const app = await server.token({ tenant_id: 'hooks-apps', app_id: 'billing' });
    const created = await createWebhook({ name: 'person', url: ok.url, eventTypes: ['webhook.test'] }, person);
    const sent = await server.gql(
      `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { ... on SendTestEventPayload { delivery { id } } } }`,
      { id: created.webhook.id },
      { token: person },
    );
    const deliveryId = sent.data.sendTestEvent.delivery.id;
    const byApp = await server.gql(
      'query($id: ID!) { node(id: $id) { ... on WebhookDelivery { webhook { url headers } } } }',
      { id: deliveryId },
      { token: app },
    );
    expect(byApp.errors).toBeUndefined();
    expect(byApp.data.node).toBeNull();
    const byPerson = await server.gql(
      'query($id: ID!) { node(id: $id) { ... on WebhookDelivery { webhook { name } } } }',
      { id: deliveryId },
      { token: person },
    );
    expect(byPerson.data.node.webhook.name).toBe('person');
  });

  it('disables a webhook at once when its endpoint answers 410 Gone', async () => {
    const tok = await server.token({ tenant_id: 'hooks-gone' });
    const created = await createWebhook({ name: 'gone', url: gone.url, eventTypes: ['integration.created'] }, tok);
    await touchIntegration(tok);
    const w = await eventually(async () => {
      const r = (await server.gql(DELIVERIES, { id: created.webhook.id }, { token: tok })).data.webhook;
      return r.status === 'DISABLED' ? r : undefined;
    });
    expect(w.deliveries.edges[0].node).toMatchObject({ status: 'FAILED', attemptCount: 1 });
    expect(gone.received).toHaveLength(1);
    const events = await server.gql(`{ events(type: "webhook.disabled") { totalCount } }`, {}, { token: tok });
    expect(events.data.events.totalCount).toBe(1);
  });

  it('does not follow redirects: a 3xx is a failed attempt', async () => {
    const tok = await server.token({ tenant_id: 'hooks-redirect' });
    const created = await createWebhook(
      { name: 'redirect', url: redirecting.url, eventTypes: ['integration.created'], retryPolicy: { maxAttempts: 1 } },
      tok,
    );
    await touchIntegration(tok);
    const w = await eventually(async () => {
      const r = (await server.gql(DELIVERIES, { id: created.webhook.id }, { token: tok })).data.webhook;
      return r.deliveries.edges[0]?.node.status === 'FAILED' ? r : undefined;
    });
    expect(w.deliveries.edges[0].node.attempts[0].responseStatus).toBe(302);
    expect(target.received).toHaveLength(0);
  });

  it('signs with both secrets during a rotation grace period, then only the new one', async () => {
    const tok = await server.token({ tenant_id: 'hooks-rotate' });
    const created = await createWebhook({ name: 'rotate', url: ok.url, eventTypes: ['webhook.test'] }, tok);
    const id = created.webhook.id;
    const rotate = `mutation($id: ID!, $g: Int) { rotateWebhookSecret(input: { id: $id, gracePeriodSeconds: $g }) {
      ... on RotateWebhookSecretPayload { signingSecret webhook { secretFingerprint } } } }`;
    const rotated = (await server.gql(rotate, { id, g: 3600 }, { token: tok })).data.rotateWebhookSecret;
    expect(rotated.signingSecret).not.toBe(created.signingSecret);
    expect(rotated.webhook.secretFingerprint).not.toBe(created.webhook.secretFingerprint);

    const test = `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { ... on SendTestEventPayload { delivery { id } } } }`;
    const first = (await server.gql(test, { id }, { token: tok })).data.sendTestEvent.delivery.id;
    const during = await eventually(async () => ok.received.find((r) => r.headers['webhook-id'] === first));
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyStandardWebhook({ secret: rotated.signingSecret, headers: during.headers, body: during.body }).ok).toBe(true);
    expect(verifyStandardWebhook({ secret: created.signingSecret, headers: during.headers, body: during.body }).ok).toBe(true);

    const again = (await server.gql(rotate, { id, g: 0 }, { token: tok })).data.rotateWebhookSecret;
    const second = (await server.gql(test, { id }, { token: tok })).data.sendTestEvent.delivery.id;
    const after = await eventually(async () => ok.received.find((r) => r.headers['webhook-id'] === second));
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifyStandardWebhook({ secret: again.signingSecret, headers: after.headers, body: after.body }).ok).toBe(true);
    expect(verifyStandardWebhook({ secret: rotated.signingSecret, headers: after.headers, body: after.body }).ok).toBe(false);
  });

  it('redelivers a finished delivery with the same webhook-id', async () => {
    const tok = await server.token({ tenant_id: 'hooks-redeliver' });
    const created = await createWebhook({ name: 'redeliver', url: ok.url, eventTypes: ['webhook.test'] }, tok);
    const test = await server.gql(
      `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { ... on SendTestEventPayload { delivery { id status } } } }`,
      { id: created.webhook.id },
      { token: tok },
    );
    const deliveryId = test.data.sendTestEvent.delivery.id;
    await eventually(async () => ((await deliveriesOfTenant(created.webhook.id, tok)).status === 'SUCCEEDED' ? true : undefined));
    const before = server.queries.length;
    const redo = await server.gql(
      `mutation($id: ID!) { redeliverWebhookDelivery(input: { id: $id }) { __typename
        ... on RedeliverWebhookDeliveryPayload { delivery { id status attemptCount nextAttemptAt createdAt } } ... on Error { code } } }`,
      { id: deliveryId },
      { token: tok },
    );
    // the row as the mutation wrote it, not read again after its commit (where the worker may have moved it on)
    expect(redo.data.redeliverWebhookDelivery.delivery).toMatchObject({ id: deliveryId, status: 'PENDING', attemptCount: 1 });
    const reread = server.queries.slice(before).filter((sql) => {
      // a read of the payload's columns alone (the worker's own reads name every column)
      const columns = /^\s*SELECT\s([\s\S]*?)\sFROM\s[\s\S]*"WebhookDelivery"/.exec(sql)?.[1];
      return columns !== undefined && /"status"/.test(columns) && !/"webhookId"|"tenantId"/.test(columns);
    });
    expect(reread).toEqual([]);
    await eventually(async () => (ok.received.filter((r) => r.headers['webhook-id'] === deliveryId).length === 2 ? true : undefined));
    const node = await eventually(async () => {
      const n = await deliveriesOfTenant(created.webhook.id, tok);
      return n.status === 'SUCCEEDED' && n.attemptCount === 2 ? n : undefined;
    });
    expect(node.attempts).toHaveLength(2);
  });

  it('keeps each tenant’s webhooks to itself', async () => {
    const owner = await server.token({ tenant_id: 'hooks-owner' });
    const stranger = await server.token({ tenant_id: 'hooks-stranger' });
    const created = await createWebhook({ name: 'mine', url: ok.url, eventTypes: ['*'] }, owner);
    const id = created.webhook.id;
    expect(
      (await server.gql(`query($id: ID!) { webhook(id: $id) { id } node(id: $id) { id } }`, { id }, { token: stranger })).data,
    ).toEqual({ webhook: null, node: null });
    for (const [name, vars] of [
      ['pauseWebhook', `{ id: "${id}" }`],
      ['resumeWebhook', `{ id: "${id}" }`],
      ['deleteWebhook', `{ id: "${id}" }`],
      ['rotateWebhookSecret', `{ id: "${id}" }`],
      ['sendTestEvent', `{ webhookId: "${id}" }`],
      ['updateWebhook', `{ id: "${id}", name: "hijack" }`],
    ] as const) {
      const res = await server.gql(`mutation { ${name}(input: ${vars}) { __typename } }`, {}, { token: stranger });
      expect(res.data[name].__typename).toBe('NotFoundError');
    }
    const still = await server.gql(`query($id: ID!) { webhook(id: $id) { name status } }`, { id }, { token: owner });
    expect(still.data.webhook).toEqual({ name: 'mine', status: 'ACTIVE' });
  });
});

describe('every webhook mutation', () => {
  it('is refused without credentials (401)', async () => {
    const some = Buffer.from('Webhook:00000000-0000-0000-0000-000000000000').toString('base64');
    for (const [name, input] of [
      ['updateWebhook', `{ id: "${some}", name: "x" }`],
      ['rotateWebhookSecret', `{ id: "${some}" }`],
      ['pauseWebhook', `{ id: "${some}" }`],
      ['resumeWebhook', `{ id: "${some}" }`],
      ['deleteWebhook', `{ id: "${some}" }`],
      ['sendTestEvent', `{ webhookId: "${some}" }`],
      ['redeliverWebhookDelivery', `{ id: "${some}" }`],
    ]) {
      const res = await server.gql(`mutation { ${name}(input: ${input}) { __typename } }`);
      expect(res.status, name).toBe(401);
    }
  });

  it('validates updates and rotations with field paths', async () => {
    const created = await createWebhook({ name: 'v', url: ok.url, eventTypes: ['*'] });
    const id = created.webhook.id;
    const upd = await server.gql(
      `mutation($id: ID!) { updateWebhook(input: { id: $id, url: "http://192.168.1.10/x", eventTypes: ["nope.*"] }) {
        ... on ValidationError { code fieldErrors { path message } } } }`,
      { id },
      { token },
    );
    expect(upd.data.updateWebhook.code).toBe('VALIDATION');
    expect(upd.data.updateWebhook.fieldErrors.map((e: { path: string[] }) => e.path.join('.'))).toEqual(['url', 'eventTypes.0']);
    const rot = await server.gql(
      `mutation($id: ID!) { rotateWebhookSecret(input: { id: $id, gracePeriodSeconds: -1 }) { ... on ValidationError { fieldErrors { path } } } }`,
      { id },
      { token },
    );
    expect(rot.data.rotateWebhookSecret.fieldErrors[0].path).toEqual(['gracePeriodSeconds']);
  });

  it('redelivery of another tenant’s delivery is NOT_FOUND', async () => {
    const created = await createWebhook({ name: 'mine-redeliver', url: ok.url, eventTypes: ['webhook.test'] });
    const sent = await server.gql(
      `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { ... on SendTestEventPayload { delivery { id } } } }`,
      { id: created.webhook.id },
      { token },
    );
    const stranger = await server.token({ tenant_id: 'hooks-redeliver-stranger' });
    const res = await server.gql(
      `mutation($id: ID!) { redeliverWebhookDelivery(input: { id: $id }) { __typename } }`,
      { id: sent.data.sendTestEvent.delivery.id },
      { token: stranger },
    );
    expect(res.data.redeliverWebhookDelivery.__typename).toBe('NotFoundError');
  });
});

describe('at delivery time', () => {
  it('checks the address again: a URL that now points at a private address is refused without a request', async () => {
    const tok = await server.token({ tenant_id: 'hooks-rebind' });
    const created = await createWebhook(
      { name: 'rebind', url: `${ok.url}/rebind`, eventTypes: ['webhook.test'], retryPolicy: { maxAttempts: 1 } },
      tok,
    );
    // as if its DNS name now resolved to an internal address: the row changes behind the API's back
    const [, id] = Buffer.from(created.webhook.id, 'base64').toString().split(':');
    await forTenant(server.app.database.prisma, 'hooks-rebind').webhook.update({ where: { id }, data: { url: 'http://10.0.0.7/hooks' } });
    await server.gql(
      `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { __typename } }`,
      { id: created.webhook.id },
      { token: tok },
    );
    const node = await eventually(async () => {
      const n = await deliveriesOfTenant(created.webhook.id, tok);
      return n.status === 'FAILED' ? n : undefined;
    });
    expect(node.attempts[0]).toMatchObject({
      responseStatus: null,
      error: expect.stringMatching(/^refused: 10\.0\.0\.7 is a private address/),
    });
    expect(ok.received.some((r) => r.path === '/hooks/rebind')).toBe(false);
    const hook = await eventually(async () => {
      const w = (await server.gql(DELIVERIES, { id: created.webhook.id }, { token: tok })).data.webhook;
      return w.lastDeliveryStatus ? w : undefined;
    });
    expect(hook).toMatchObject({ lastDeliveryStatus: 'ERROR', lastDeliveryResult: 'NO_RESPONSE', lastDeliveryHttpStatus: null });
  });

  it('streams delivery outcomes over SSE (webhookDeliveryUpdated)', async () => {
    const tok = await server.token({ tenant_id: 'hooks-sse' });
    const created = await createWebhook({ name: 'sse', url: ok.url, eventTypes: ['webhook.test'] }, tok);
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${tok}` },
      body: JSON.stringify({
        query: 'subscription($id: ID!) { webhookDeliveryUpdated(webhookId: $id) { id status attemptCount } }',
        variables: { id: created.webhook.id },
      }),
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    await new Promise((r) => setTimeout(r, 200));
    const sent = await server.gql(
      `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { ... on SendTestEventPayload { delivery { id } } } }`,
      { id: created.webhook.id },
      { token: tok },
    );
    let text = '';
    while (!text.includes('event: next')) text += (await reader.read()).value ?? '';
    await reader.cancel();
    const data = JSON.parse(
      text
        .split('\n')
        .find((l) => l.startsWith('data: '))!
        .slice(6),
    );
    expect(data.data.webhookDeliveryUpdated).toEqual({ id: sent.data.sendTestEvent.delivery.id, status: 'SUCCEEDED', attemptCount: 1 });
  });
});

async function deliveriesOfTenant(webhookId: string, tok: string) {
  const r = await server.gql(DELIVERIES, { id: webhookId }, { token: tok });
  return r.data.webhook.deliveries.edges[0].node;
}
