/**
 * Inbound provider callbacks over HTTP: POST /hooks/<provider>/<token>, verified with the
 * provider's own signature scheme (signatures computed here independently with node:crypto),
 * stored once, relayed to outbound webhooks as provider.<name>.<type>.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forTenant } from '../../src/db/tenant.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

const WHSEC = 'whsec_inboundTestSecret123';
const TWILIO_TOKEN = 'twilio-auth-token-0123456789abcd';
const SID = `AC${'2'.repeat(32)}`;

let server: TestServer;
let receiver: Receiver;
let token: string;
let stripeHook: string;
let stripeId: string;

const CONFIGURE = `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) {
  ... on ConfigureIntegrationPayload { integration { id inboundWebhookUrl } } ... on Error { message } } }`;

async function configure(input: Record<string, unknown>, tok = token) {
  const res = await server.gql(CONFIGURE, { input }, { token: tok });
  return res.data.configureIntegration.integration as { id: string; inboundWebhookUrl: string };
}

function stripeSignature(body: string, secret = WHSEC, t = Math.floor(Date.now() / 1000)) {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

async function post(url: string, body: string, headers: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, body: await res.text() };
}

async function eventCount(type: string, tok = token) {
  const res = await server.gql(`query($t: String) { events(type: $t) { totalCount } }`, { t: type }, { token: tok });
  return res.data.events.totalCount as number;
}

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startTestServer({
    WEBHOOK_ALLOW_HOSTS: receiver.hostPort,
    STRIPE_API_BASE_URL: 'http://127.0.0.1:9',
    TWILIO_API_BASE_URL: 'http://127.0.0.1:9',
    VERIFY_RETRY_LIMIT: '0',
  });
  token = await server.token({ tenant_id: 'inbound' });
  const stripe = await configure({
    provider: 'stripe',
    credentials: { publishable_key: 'pk_test_i', secret_key: 'sk_test_i', webhook_secret: WHSEC },
  });
  stripeHook = stripe.inboundWebhookUrl;
  stripeId = stripe.id;
  await server.gql(
    `mutation($url: URL!) { createWebhook(input: { name: "relay", url: $url, eventTypes: ["provider.stripe.*"] }) { __typename } }`,
    { url: receiver.url },
    { token },
  );
});

afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

describe('Stripe callbacks', () => {
  const event = JSON.stringify({
    id: 'evt_1',
    object: 'event',
    type: 'payment_intent.succeeded',
    data: { object: { id: 'pi_1', amount: 500 } },
  });

  it('stores a validly signed event once and relays it as provider.stripe.<type>', async () => {
    const res = await post(stripeHook, event, { 'content-type': 'application/json', 'stripe-signature': stripeSignature(event) });
    expect(res.status).toBe(200);
    const relayed = await eventually(async () =>
      receiver.received.find((r) => JSON.parse(r.body).type === 'provider.stripe.payment_intent.succeeded'),
    );
    const data = JSON.parse(relayed.body).data;
    expect(data).toMatchObject({ integrationId: stripeId, provider: 'stripe', providerEventId: 'evt_1', payload: { id: 'evt_1' } });
    expect(await eventCount('provider.stripe.payment_intent.succeeded')).toBe(1);
  });

  it('acknowledges a replay of the same event id without storing or relaying it again', async () => {
    const before = receiver.received.length;
    const res = await post(stripeHook, event, { 'content-type': 'application/json', 'stripe-signature': stripeSignature(event) });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.received.length).toBe(before);
    expect(await eventCount('provider.stripe.payment_intent.succeeded')).toBe(1);
  });

  it('stores and relays an event once when several callbacks carry it at the same moment', async () => {
    const racing = JSON.stringify({ id: 'evt_race', object: 'event', type: 'payment_intent.canceled', data: { object: { id: 'pi_2' } } });
    const sent = await Promise.all(
      Array.from({ length: 8 }, () =>
        post(stripeHook, racing, { 'content-type': 'application/json', 'stripe-signature': stripeSignature(racing) }),
      ),
    );
    expect(sent.map((r) => r.status)).toEqual(Array(8).fill(200));
    // each answer says whether its callback was the one that stored it
    expect(sent.map((r) => JSON.parse(r.body).relayed).sort()).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    await eventually(async () => receiver.received.find((r) => JSON.parse(r.body).type === 'provider.stripe.payment_intent.canceled'));
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.received.filter((r) => JSON.parse(r.body).type === 'provider.stripe.payment_intent.canceled')).toHaveLength(1);
    expect(await eventCount('provider.stripe.payment_intent.canceled')).toBe(1);
  });

  it.each([
    ['a tampered body', (b: string) => ({ body: b.replace('"data":{}', '"data":{"amount":1}'), sig: stripeSignature(b) })],
    ['another secret', (b: string) => ({ body: b, sig: stripeSignature(b, 'whsec_someoneElse') })],
    ['a stale timestamp', (b: string) => ({ body: b, sig: stripeSignature(b, WHSEC, Math.floor(Date.now() / 1000) - 400) })],
    ['no signature', (b: string) => ({ body: b, sig: '' })],
  ])('refuses %s with 401 and stores nothing', async (_name, make) => {
    const body = JSON.stringify({ id: `evt_bad_${Math.random()}`, type: 'charge.refunded', data: {} });
    const { body: sent, sig } = make(body);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (sig) headers['stripe-signature'] = sig;
    const res = await post(stripeHook, sent, headers);
    expect(res.status).toBe(401);
    expect(res.body).not.toContain(WHSEC);
    expect(await eventCount('provider.stripe.charge.refunded')).toBe(0);
  });

  it('answers 404 for an unknown token or a token used under another provider’s path', async () => {
    const body = JSON.stringify({ id: 'evt_x', type: 'charge.refunded' });
    const unknown = stripeHook.replace(/[^/]+$/, 'A'.repeat(32));
    expect((await post(unknown, body, { 'stripe-signature': stripeSignature(body) })).status).toBe(404);
    expect((await post(stripeHook.replace('/hooks/stripe/', '/hooks/twilio/'), body, {})).status).toBe(404);
  });

  it('refuses a body signed for another integration (cross-integration token confusion)', async () => {
    const otherTenant = await server.token({ tenant_id: 'inbound-other' });
    const other = await configure(
      {
        provider: 'stripe',
        credentials: { publishable_key: 'pk_test_o', secret_key: 'sk_test_o', webhook_secret: 'whsec_otherTenantSecret' },
      },
      otherTenant,
    );
    const body = JSON.stringify({ id: 'evt_cross', type: 'charge.refunded' });
    // signed with the other integration's secret, sent to this integration's URL, and vice versa
    expect((await post(stripeHook, body, { 'stripe-signature': stripeSignature(body, 'whsec_otherTenantSecret') })).status).toBe(401);
    expect((await post(other.inboundWebhookUrl, body, { 'stripe-signature': stripeSignature(body) })).status).toBe(401);
    expect(await eventCount('provider.stripe.charge.refunded', otherTenant)).toBe(0);
  });

  it('refuses bodies over 1 MiB with 413', async () => {
    const body = JSON.stringify({ id: 'evt_big', type: 'charge.refunded', pad: 'x'.repeat(1024 * 1024) });
    expect((await post(stripeHook, body, { 'stripe-signature': stripeSignature(body) })).status).toBe(413);
  });

  it.each([
    ['a type of 100 KB', { id: 'evt_long_type', type: `charge.${'x'.repeat(100_000)}` }, /type must be at most 200 characters/],
    ['a type with a space', { id: 'evt_space_type', type: 'charge refunded' }, /type must be letters, digits/],
    ['a type with a line separator', { id: 'evt_sep_type', type: 'charge.\u2028refunded' }, /type must be letters, digits/],
    ['an id of 100 KB', { id: `evt_${'1'.repeat(100_000)}`, type: 'charge.refunded' }, /id must be 1 to 256 characters/],
    [
      'a payload over 256 KiB',
      { id: 'evt_fat', type: 'charge.refunded', data: { object: { pad: 'x'.repeat(300 * 1024) } } },
      /payload must be at most 256 KiB/,
    ],
    [
      'a payload nested 1000 deep',
      { id: 'evt_deep', type: 'charge.refunded', data: JSON.parse('['.repeat(1000) + ']'.repeat(1000)) },
      /nests more than 32 levels/,
    ],
  ])('refuses a signed event with %s (400, nothing stored or relayed)', async (_name, event, reason) => {
    const body = JSON.stringify({ object: 'event', ...event });
    const before = receiver.received.length;
    const res = await post(stripeHook, body, { 'content-type': 'application/json', 'stripe-signature': stripeSignature(body) });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error).toMatch(reason);
    const stored = await forTenant(server.app.database.prisma, 'inbound').event.count({
      where: { sourceIntegrationId: Buffer.from(stripeId, 'base64').toString().split(':')[1], providerEventId: event.id },
    });
    expect(stored).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received.length).toBe(before);
  });

  it('moves the integration to ERROR on account.application.deauthorized', async () => {
    const body = JSON.stringify({ id: 'evt_deauth', type: 'account.application.deauthorized', data: { object: {} } });
    expect((await post(stripeHook, body, { 'content-type': 'application/json', 'stripe-signature': stripeSignature(body) })).status).toBe(
      200,
    );
    const res = await server.gql(`query($id: ID!) { integration(id: $id) { status lastError } }`, { id: stripeId }, { token });
    expect(res.data.integration).toEqual({ status: 'ERROR', lastError: 'Stripe reported that the account deauthorized this application' });
  });

  it('refuses callbacks for a disabled integration (403) and a deleted one (404)', async () => {
    const body = JSON.stringify({ id: 'evt_after', type: 'charge.refunded' });
    await server.gql(`mutation($id: ID!) { disableIntegration(input: { id: $id }) { __typename } }`, { id: stripeId }, { token });
    expect((await post(stripeHook, body, { 'stripe-signature': stripeSignature(body) })).status).toBe(403);
    await server.gql(`mutation($id: ID!) { deleteIntegration(input: { id: $id }) { __typename } }`, { id: stripeId }, { token });
    expect((await post(stripeHook, body, { 'stripe-signature': stripeSignature(body) })).status).toBe(404);
    expect(await eventCount('provider.stripe.charge.refunded')).toBe(0);
  });
});

describe('Twilio callbacks', () => {
  it('verifies X-Twilio-Signature over the public URL and the sorted form parameters', async () => {
    const twilio = await configure({
      provider: 'twilio',
      credentials: { account_sid: SID, auth_token: TWILIO_TOKEN, from_number: '+15005550006' },
    });
    const params = { MessageSid: 'SM123', MessageStatus: 'delivered', AccountSid: SID, To: '+15005550009' };
    const signed =
      twilio.inboundWebhookUrl +
      Object.keys(params)
        .sort()
        .map((k) => k + params[k as keyof typeof params])
        .join('');
    const signature = createHmac('sha1', TWILIO_TOKEN).update(signed).digest('base64');
    const body = new URLSearchParams(params).toString();
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature };
    expect((await post(twilio.inboundWebhookUrl, body, headers)).status).toBe(200);
    expect(await eventCount('provider.twilio.message.delivered')).toBe(1);
    const forged = new URLSearchParams({ ...params, MessageStatus: 'failed' }).toString();
    expect((await post(twilio.inboundWebhookUrl, forged, headers)).status).toBe(401);
    expect(await eventCount('provider.twilio.message.failed')).toBe(0);
  });
});

describe('changeKeys', () => {
  it('relays e-signature payloads with camelCase keys when the integration asks for it', async () => {
    const tok = await server.token({ tenant_id: 'inbound-camel' });
    const clicksign = await configure(
      { provider: 'clicksign', credentials: { access_token: 'cs-token', hmac_secret: 'cs-hmac', changeKeys: true } },
      tok,
    );
    const body = JSON.stringify({
      event: { name: 'sign', occurred_at: '2026-11-23T10:00:00Z' },
      document: { key: 'doc-1', signed_by: 'x' },
    });
    const hmac = createHmac('sha256', 'cs-hmac').update(body).digest('hex');
    const res = await post(clicksign.inboundWebhookUrl, body, { 'content-type': 'application/json', 'content-hmac': `sha256=${hmac}` });
    expect(res.status).toBe(200);
    const events = await server.gql(`{ events(type: "provider.clicksign.sign") { edges { node { payload } } } }`, {}, { token: tok });
    const payload = events.data.events.edges[0].node.payload.payload;
    expect(payload.event).toEqual({ name: 'sign', occurredAt: '2026-11-23T10:00:00Z' });
    expect(payload.document.signedBy).toBe('x');
  });
});

describe('Acrobat Sign', () => {
  it('answers the registration GET by echoing its client id, and accepts events that carry it', async () => {
    const tok = await server.token({ tenant_id: 'inbound-adobe' });
    const adobe = await configure(
      { provider: 'adobe_sign', credentials: { access_token: 'adobe-token', client_id: 'CBJCHBCAABAA-client' } },
      tok,
    );
    const ok = await fetch(adobe.inboundWebhookUrl, { headers: { 'x-adobesign-clientid': 'CBJCHBCAABAA-client' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-adobesign-clientid')).toBe('CBJCHBCAABAA-client');
    expect(await ok.json()).toEqual({ xAdobeSignClientId: 'CBJCHBCAABAA-client' });
    expect((await fetch(adobe.inboundWebhookUrl, { headers: { 'x-adobesign-clientid': 'someone-else' } })).status).toBe(401);
    const unknown = adobe.inboundWebhookUrl.replace(/[^/]+$/, 'B'.repeat(32));
    expect((await fetch(unknown, { headers: { 'x-adobesign-clientid': 'CBJCHBCAABAA-client' } })).status).toBe(404);

    const body = JSON.stringify({ webhookNotificationId: 'n-1', event: 'AGREEMENT_WORKFLOW_COMPLETED', agreement: { id: 'a-1' } });
    const posted = await post(adobe.inboundWebhookUrl, body, {
      'content-type': 'application/json',
      'x-adobesign-clientid': 'CBJCHBCAABAA-client',
    });
    expect(posted.status).toBe(200);
    expect(await eventCount('provider.adobe_sign.AGREEMENT_WORKFLOW_COMPLETED', tok)).toBe(1);
  });

  it('answers 405 to a GET for providers without a registration check', async () => {
    const tok = await server.token({ tenant_id: 'inbound-get' });
    const clicksign = await configure({ provider: 'clicksign', credentials: { access_token: 'cs', hmac_secret: 'h' } }, tok);
    const res = await fetch(clicksign.inboundWebhookUrl);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('inboundWebhookUrl', () => {
  it('is shown only to callers that may change integrations (integrations:write); null to readers', async () => {
    const tok = await server.token({ tenant_id: 'inbound-url' });
    const certisign = await configure({ provider: 'certisign', credentials: { api_token: 'cert-token' } }, tok);
    expect(certisign.inboundWebhookUrl).toMatch(/\/hooks\/certisign\/[A-Za-z0-9_-]{16,}$/);
    const QUERY = `query($id: ID!) { integration(id: $id) { inboundWebhookUrl } node(id: $id) { ... on Integration { inboundWebhookUrl } }
      integrations { edges { node { inboundWebhookUrl } } } }`;
    const reader = await server.token({ tenant_id: 'inbound-url', scope: 'integrations:read webhooks:write' });
    const read = await server.gql(QUERY, { id: certisign.id }, { token: reader });
    expect(read.errors).toBeUndefined();
    expect(read.data.integration.inboundWebhookUrl).toBeNull();
    expect(read.data.node.inboundWebhookUrl).toBeNull();
    expect(read.data.integrations.edges.map((e: { node: unknown }) => e.node)).toEqual([{ inboundWebhookUrl: null }]);
    expect(read.raw).not.toContain('/hooks/');
    const writer = await server.token({ tenant_id: 'inbound-url', scope: 'integrations:write' });
    const written = await server.gql(QUERY, { id: certisign.id }, { token: writer });
    expect(written.data.integration.inboundWebhookUrl).toBe(certisign.inboundWebhookUrl);
    expect(written.data.integrations.edges[0].node.inboundWebhookUrl).toBe(certisign.inboundWebhookUrl);
    // the reader's answer is not served to the writer from a cache, nor the writer's to a reader
    expect((await server.gql(QUERY, { id: certisign.id }, { token: reader })).data.integration.inboundWebhookUrl).toBeNull();
  });
});
