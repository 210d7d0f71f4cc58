/**
 * Delivery tracking over HTTP: messages sent through loopback fakes of Twilio, Plivo and SendGrid,
 * then status callbacks signed here independently (node:crypto) the way each provider signs them,
 * posted to the integration's inboundWebhookUrl. Checks the operation's deliveryStatus, the
 * operation.delivery_updated events, the stage order, and that only the tenant's and the receiving
 * integration's operations are matched.
 */
import { createHmac, sign as ecdsaSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryStage, replacesDeliveryStatus, UNKNOWN_STAGE } from '../../src/operations/tracking.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, type Reply, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import { addRule, basicAuth, configureActive, gqlAs } from '../helpers/integrations.ts';
import { subscribeSse } from '../helpers/sse.ts';

const SID = `AC${'3'.repeat(32)}`;
const TWILIO_TOKEN = 'twilio-tracking-token';
const PLIVO_TOKEN = 'plivo-tracking-token';
const SENDGRID_KEY = 'SG.tracking-key';

let server: TestServer;
let twilioApi: FakeApi;
let plivoApi: FakeApi;
let sendgridApi: FakeApi;
/** Tenant "tracking" sends through Twilio and SendGrid; "tracking-other" through Twilio and SendGrid too; "tracking-plivo" through Plivo. */
let token: string;
let otherToken: string;
let plivoToken: string;
let twilio: Hook;
let whatsapp: Hook;
let otherTwilio: Hook;
let plivo: Hook;
let sendgrid: Hook & { signer: KeyObject };
let otherSendgrid: Hook & { signer: KeyObject };
let counter = 0;

type Hook = { id: string; inboundWebhookUrl: string };

/**
 * Twilio's Messages API: a new sid per message, or SMshared for a body that asks for it. A body of
 * "early" has its status callbacks posted (and stored) before the send is answered.
 */
async function twilioFake(req: Seen): Promise<Reply> {
  const reply = twilioReply(req);
  const form = new URLSearchParams(req.body);
  if (reply.status === 201 && form.get('Body') === 'early') {
    const sid = (reply.body as { sid: string }).sid;
    expect(await twilioCallback(twilio, sid, 'sent')).toBe(200);
    expect(await twilioCallback(twilio, sid, 'delivered')).toBe(200);
  }
  return reply;
}

function twilioReply(req: Seen): Reply {
  if (req.headers.authorization !== basicAuth(SID, TWILIO_TOKEN)) return { status: 401, body: { code: 20003 } };
  if (req.method === 'GET' && req.path === `/2010-04-01/Accounts/${SID}.json`) return { status: 200, body: { sid: SID } };
  if (req.method !== 'POST' || req.path !== `/2010-04-01/Accounts/${SID}/Messages.json`) return { status: 404, body: {} };
  if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return { status: 400, body: { message: 'content type' } };
  const form = new URLSearchParams(req.body);
  if ([...form.keys()].sort().join(',') !== 'Body,From,StatusCallback,To') return { status: 400, body: { message: 'fields' } };
  const sid = form.get('Body') === 'shared' ? 'SMshared' : `SM${++counter}`;
  return { status: 201, body: { sid, status: 'queued' } };
}

function plivoFake(req: Seen): Reply {
  if (req.headers.authorization !== basicAuth('MATRACKING', PLIVO_TOKEN)) return { status: 401, body: { error: 'auth' } };
  if (req.method === 'GET' && req.path === '/v1/Account/MATRACKING/') return { status: 200, body: {} };
  if (req.method !== 'POST' || req.path !== '/v1/Account/MATRACKING/Message/') return { status: 404, body: {} };
  if (req.headers['content-type'] !== 'application/json') return { status: 400, body: { error: 'content type' } };
  const body = JSON.parse(req.body);
  if (Object.keys(body).sort().join(',') !== 'dst,src,text,url') return { status: 400, body: { error: 'fields' } };
  return { status: 202, body: { api_id: 'api', message: 'message(s) queued', message_uuid: [`uuid-${++counter}`] } };
}

/** SendGrid's mail send: 202, empty body, the message id in X-Message-Id; custom_args.operation_id must be there. */
function sendgridFake(req: Seen): Reply {
  if (req.headers.authorization !== `Bearer ${SENDGRID_KEY}`) return { status: 401, body: { errors: [{ message: 'auth' }] } };
  if (req.method === 'GET' && req.path === '/v3/scopes') return { status: 200, body: { scopes: [] } };
  if (req.method !== 'POST' || req.path !== '/v3/mail/send') return { status: 404, body: {} };
  if (req.headers['content-type'] !== 'application/json') return { status: 400, body: { errors: [{ message: 'content type' }] } };
  const body = JSON.parse(req.body);
  if (typeof body.custom_args?.operation_id !== 'string') return { status: 400, body: { errors: [{ message: 'custom_args' }] } };
  return { status: 202, raw: '', headers: { 'x-message-id': `sgmsg${++counter}` } };
}

/** An ACTIVE integration of the tenant of `tok`, routing `capability` when one is named. */
async function configure(tok: string, provider: string, credentials: Record<string, unknown>, capability?: string): Promise<Hook> {
  const admin = gqlAs(server, { token: tok });
  const hook = await configureActive(admin, provider, credentials);
  if (capability) await addRule(admin, { capability, integrationId: hook.id });
  return hook as Hook;
}

type Sent = { id: string; providerReference: string };

async function send(tok: string, mutation: 'sendSms' | 'sendEmail', input: Record<string, unknown>): Promise<Sent> {
  const inputType = mutation === 'sendSms' ? 'SendSmsInput' : 'SendEmailInput';
  const res = await server.gql(
    `mutation($input: ${inputType}!) { ${mutation}(input: $input) { __typename
      ... on ${mutation === 'sendSms' ? 'SendSmsPayload' : 'SendEmailPayload'} { operation { id status providerReference } } } }`,
    { input: { ...input, waitSeconds: 10 } },
    { token: tok },
  );
  const operation = res.data[mutation].operation;
  expect(operation.status).toBe('SUCCEEDED');
  return operation;
}

const sms = (tok: string, body = 'hello') => send(tok, 'sendSms', { to: '+15551230000', body });
const email = (tok: string) => send(tok, 'sendEmail', { to: ['a@example.com'], subject: 'Hi', text: 'hello' });

async function delivery(tok: string, id: string) {
  const res = await server.gql(`query($id: ID!) { operation(id: $id) { deliveryStatus deliveryUpdatedAt } }`, { id }, { token: tok });
  return res.data.operation as { deliveryStatus: string | null; deliveryUpdatedAt: string | null };
}

/** The operation.delivery_updated events of one operation, oldest first. */
async function deliveryEvents(tok: string, id: string) {
  const res = await server.gql(
    `{ events(type: "operation.delivery_updated", first: 100) { edges { node { payload } } } }`,
    {},
    { token: tok },
  );
  return res.data.events.edges
    .map((e: { node: { payload: Record<string, unknown> } }) => e.node.payload)
    .filter((p: { id: string }) => p.id === id)
    .reverse() as Record<string, unknown>[];
}

async function eventCount(tok: string, type: string) {
  const res = await server.gql(`query($t: String) { events(type: $t) { totalCount } }`, { t: type }, { token: tok });
  return res.data.events.totalCount as number;
}

async function post(url: string, body: string, headers: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', headers, body });
  return res.status;
}

/** X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by each form parameter, sorted, as name + value. */
function twilioCallback(hook: Hook, sid: string, status: string, authToken = TWILIO_TOKEN) {
  const params: Record<string, string> = { MessageSid: sid, SmsSid: sid, MessageStatus: status, AccountSid: SID, To: '+15551230000' };
  const signed =
    hook.inboundWebhookUrl +
    Object.keys(params)
      .sort()
      .map((k) => k + params[k])
      .join('');
  const signature = createHmac('sha1', authToken).update(signed).digest('base64');
  const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature };
  return post(hook.inboundWebhookUrl, new URLSearchParams(params).toString(), headers);
}

/** X-Plivo-Signature-V3 of a POST to a URL without a query: base64 HMAC-SHA256 of `url?` + sorted name+value pairs + `.` + nonce. */
function plivoCallback(hook: Hook, uuid: string, status: string, authToken = PLIVO_TOKEN) {
  const params: Record<string, string> = { MessageUUID: uuid, Status: status, From: '15550000002', To: '15551230000', Units: '1' };
  const nonce = String(Date.now());
  const pairs = Object.keys(params)
    .sort()
    .map((k) => k + params[k])
    .join('');
  const signature = createHmac('sha256', authToken).update(`${hook.inboundWebhookUrl}?${pairs}.${nonce}`).digest('base64');
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    'x-plivo-signature-v3': signature,
    'x-plivo-signature-v3-nonce': nonce,
  };
  return post(hook.inboundWebhookUrl, new URLSearchParams(params).toString(), headers);
}

/** SendGrid's Signed Event Webhook: base64 DER ECDSA P-256/SHA-256 of timestamp + body. */
function sendgridCallback(hook: Hook, signer: KeyObject, events: Record<string, unknown>[]) {
  const body = JSON.stringify(events);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = ecdsaSign('sha256', Buffer.from(timestamp + body), { key: signer, dsaEncoding: 'der' }).toString('base64');
  return post(hook.inboundWebhookUrl, body, {
    'content-type': 'application/json',
    'x-twilio-email-event-webhook-signature': signature,
    'x-twilio-email-event-webhook-timestamp': timestamp,
  });
}

let sgEvent = 0;
const sendgridEvent = (event: string, fields: Record<string, unknown>) => ({
  email: 'a@example.com',
  timestamp: Math.floor(Date.now() / 1000),
  event,
  sg_event_id: `sg-event-${++sgEvent}`,
  ...fields,
});

async function sendgridIntegration(tok: string): Promise<Hook & { signer: KeyObject }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const hook = await configure(
    tok,
    'sendgrid',
    { api_key: SENDGRID_KEY, from_email: 'noreply@example.com', webhook_verification_key: key },
    'send_email',
  );
  return { ...hook, signer: privateKey };
}

beforeAll(async () => {
  twilioApi = await startFakeApi(twilioFake);
  plivoApi = await startFakeApi(plivoFake);
  sendgridApi = await startFakeApi(sendgridFake);
  server = await startTestServer({
    TWILIO_API_BASE_URL: twilioApi.url,
    WHATSAPP_TWILIO_API_BASE_URL: twilioApi.url,
    PLIVO_API_BASE_URL: plivoApi.url,
    SENDGRID_API_BASE_URL: sendgridApi.url,
  });
  token = await server.token({ tenant_id: 'tracking' });
  otherToken = await server.token({ tenant_id: 'tracking-other' });
  plivoToken = await server.token({ tenant_id: 'tracking-plivo' });
  const account = { account_sid: SID, auth_token: TWILIO_TOKEN };
  twilio = await configure(token, 'twilio', { ...account, from_number: '+15550000001' }, 'send_sms');
  whatsapp = await configure(token, 'whatsapp_twilio', { ...account, from_number: 'whatsapp:+15550000003' });
  otherTwilio = await configure(otherToken, 'twilio', { ...account, from_number: '+15550000004' }, 'send_sms');
  plivo = await configure(plivoToken, 'plivo', { auth_id: 'MATRACKING', auth_token: PLIVO_TOKEN, from_number: '+15550000002' }, 'send_sms');
  sendgrid = await sendgridIntegration(token);
  otherSendgrid = await sendgridIntegration(otherToken);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await twilioApi?.close();
  await plivoApi?.close();
  await sendgridApi?.close();
});

describe('the stage order', () => {
  it('ranks each provider’s statuses by stage, unknown ones between sent and an outcome', () => {
    const stages = (statuses: string[]) => statuses.map((s) => deliveryStage(s));
    expect(stages(['queued', 'sending', 'sent', 'delivered', 'read'])).toEqual([1, 2, 3, 5, 6]);
    expect(stages(['processed', 'deferred', 'bounce', 'open'])).toEqual([1, 2, 5, 6]);
    expect(deliveryStage('DELIVERED')).toBe(5);
    expect(deliveryStage('carrier_accepted')).toBe(UNKNOWN_STAGE);
    expect(deliveryStage('constructor')).toBe(UNKNOWN_STAGE);
    // a provider's own word where it differs from the table, in any case; not its prototype's keys
    const own = { delivered: 4 };
    expect(deliveryStage('Delivered', own)).toBe(4);
    expect(deliveryStage('completed', own)).toBe(5);
    expect(deliveryStage('constructor', own)).toBe(UNKNOWN_STAGE);
    expect(replacesDeliveryStatus('completed', 'delivered', own)).toBe(false);
    expect(replacesDeliveryStatus('completed', 'delivered')).toBe(true);
  });

  it('lets a status replace one of an earlier or equal stage, never a later one, and not itself', () => {
    expect(replacesDeliveryStatus(null, 'sent')).toBe(true);
    expect(replacesDeliveryStatus('sent', 'delivered')).toBe(true);
    expect(replacesDeliveryStatus('delivered', 'sent')).toBe(false);
    expect(replacesDeliveryStatus('delivered', 'undelivered')).toBe(true);
    expect(replacesDeliveryStatus('delivered', 'delivered')).toBe(false);
    expect(replacesDeliveryStatus('delivered', 'read')).toBe(true);
    expect(replacesDeliveryStatus('open', 'click')).toBe(true);
    expect(replacesDeliveryStatus('sent', 'carrier_accepted')).toBe(true);
    expect(replacesDeliveryStatus('delivered', 'carrier_accepted')).toBe(false);
  });
});

describe('Twilio status callbacks', () => {
  it('that arrive before the send is answered are applied once the message sid is stored', async () => {
    const op = await sms(token, 'early');
    expect((await delivery(token, op.id)).deliveryStatus).toBe('delivered');
    expect((await deliveryEvents(token, op.id)).map((e) => e.deliveryStatus)).toEqual(['sent', 'delivered']);
  });

  it('set deliveryStatus of the operation whose MessageSid they carry, with an operation.delivery_updated event', async () => {
    const op = await sms(token);
    expect(await delivery(token, op.id)).toEqual({ deliveryStatus: null, deliveryUpdatedAt: null });
    const updates: { deliveryStatus: string | null }[] = [];
    const subscription = await subscribeSse(
      server.url,
      token,
      `subscription { operationUpdated(id: "${op.id}") { deliveryStatus } }`,
      (p) => updates.push(p.data.operationUpdated),
    );
    try {
      expect(subscription.response.status).toBe(200);
      expect(await twilioCallback(twilio, op.providerReference, 'delivered')).toBe(200);
      const now = await delivery(token, op.id);
      expect(now.deliveryStatus).toBe('delivered');
      expect(new Date(now.deliveryUpdatedAt!).getTime()).toBeGreaterThan(0);
      const events = await deliveryEvents(token, op.id);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        id: op.id,
        integrationId: twilio.id,
        providerReference: op.providerReference,
        status: 'SUCCEEDED',
        deliveryStatus: 'delivered',
        previousDeliveryStatus: null,
      });
      await eventually(async () => (updates.some((u) => u.deliveryStatus === 'delivered') ? true : undefined), 5_000, 'operationUpdated');
    } finally {
      subscription.close();
    }
  });

  it('never lets an earlier stage arriving later overwrite a later one, but still relays it', async () => {
    const op = await sms(token);
    expect(await twilioCallback(twilio, op.providerReference, 'delivered')).toBe(200);
    const delivered = await delivery(token, op.id);
    const sentBefore = await eventCount(token, 'provider.twilio.message.sent');
    expect(await twilioCallback(twilio, op.providerReference, 'sent')).toBe(200);
    expect(await twilioCallback(twilio, op.providerReference, 'queued')).toBe(200);
    expect(await delivery(token, op.id)).toEqual(delivered);
    expect(await deliveryEvents(token, op.id)).toHaveLength(1);
    expect(await eventCount(token, 'provider.twilio.message.sent')).toBe(sentBefore + 1);
    // a later stage (WhatsApp-style read receipt) moves it on
    expect(await twilioCallback(twilio, op.providerReference, 'read')).toBe(200);
    expect((await delivery(token, op.id)).deliveryStatus).toBe('read');
    const events = await deliveryEvents(token, op.id);
    expect(events.map((e) => [e.previousDeliveryStatus, e.deliveryStatus])).toEqual([
      [null, 'delivered'],
      ['delivered', 'read'],
    ]);
  });

  it('moves through the stages in order: queued, sent, then undelivered', async () => {
    const op = await sms(token);
    for (const status of ['queued', 'sent', 'undelivered']) {
      expect(await twilioCallback(twilio, op.providerReference, status)).toBe(200);
      expect((await delivery(token, op.id)).deliveryStatus).toBe(status);
    }
    expect((await deliveryEvents(token, op.id)).map((e) => e.deliveryStatus)).toEqual(['queued', 'sent', 'undelivered']);
  });

  it('keeps the later stage when two callbacks of one message arrive at the same time', async () => {
    // on PostgreSQL the two transactions overlap; the row lock makes the second compare with the first
    const ops = await Promise.all(Array.from({ length: 5 }, () => sms(token)));
    await Promise.all(ops.flatMap((op) => ['delivered', 'sent'].map((status) => twilioCallback(twilio, op.providerReference, status))));
    for (const op of ops) {
      expect((await delivery(token, op.id)).deliveryStatus).toBe('delivered');
      const events = await deliveryEvents(token, op.id);
      expect(events.at(-1)).toMatchObject({ deliveryStatus: 'delivered' });
      expect(events.length).toBeLessThanOrEqual(2);
    }
  });

  it('changes nothing for a callback with a bad signature (401)', async () => {
    const op = await sms(token);
    expect(await twilioCallback(twilio, op.providerReference, 'delivered', 'someone-elses-token')).toBe(401);
    expect(await delivery(token, op.id)).toEqual({ deliveryStatus: null, deliveryUpdatedAt: null });
    expect(await deliveryEvents(token, op.id)).toEqual([]);
  });

  it('matches only the operations the receiving integration served: another integration’s callback is stored and relayed, nothing else', async () => {
    const op = await sms(token);
    const before = await eventCount(token, 'provider.whatsapp_twilio.message.delivered');
    // the same Twilio account's WhatsApp integration: same signing token, another integration
    expect(await twilioCallback(whatsapp, op.providerReference, 'delivered')).toBe(200);
    expect(await eventCount(token, 'provider.whatsapp_twilio.message.delivered')).toBe(before + 1);
    expect(await delivery(token, op.id)).toEqual({ deliveryStatus: null, deliveryUpdatedAt: null });
    expect(await deliveryEvents(token, op.id)).toEqual([]);
  });

  it('changes nothing but relays a callback for a message no operation sent', async () => {
    const before = await eventCount(token, 'operation.delivery_updated');
    const relayed = await eventCount(token, 'provider.twilio.message.failed');
    expect(await twilioCallback(twilio, 'SMunknown', 'failed')).toBe(200);
    expect(await eventCount(token, 'provider.twilio.message.failed')).toBe(relayed + 1);
    expect(await eventCount(token, 'operation.delivery_updated')).toBe(before);
  });

  it('never touches another tenant’s operation with the same providerReference', async () => {
    const mine = await sms(token, 'shared');
    const theirs = await sms(otherToken, 'shared');
    expect(mine.providerReference).toBe('SMshared');
    expect(theirs.providerReference).toBe('SMshared');
    expect(await twilioCallback(twilio, 'SMshared', 'delivered')).toBe(200);
    expect((await delivery(token, mine.id)).deliveryStatus).toBe('delivered');
    expect(await delivery(otherToken, theirs.id)).toEqual({ deliveryStatus: null, deliveryUpdatedAt: null });
    expect(await eventCount(otherToken, 'operation.delivery_updated')).toBe(0);
    expect(await twilioCallback(otherTwilio, 'SMshared', 'failed')).toBe(200);
    expect((await delivery(otherToken, theirs.id)).deliveryStatus).toBe('failed');
    expect((await delivery(token, mine.id)).deliveryStatus).toBe('delivered');
  });
});

describe('Plivo status callbacks (signature V3)', () => {
  it('set deliveryStatus by MessageUUID, in stage order', async () => {
    const op = await sms(plivoToken);
    expect(op.providerReference).toMatch(/^uuid-/);
    expect(await plivoCallback(plivo, op.providerReference, 'queued')).toBe(200);
    expect((await delivery(plivoToken, op.id)).deliveryStatus).toBe('queued');
    expect(await plivoCallback(plivo, op.providerReference, 'delivered')).toBe(200);
    expect(await plivoCallback(plivo, op.providerReference, 'sent')).toBe(200);
    const now = await delivery(plivoToken, op.id);
    expect(now.deliveryStatus).toBe('delivered');
    expect(now.deliveryUpdatedAt).not.toBeNull();
    expect((await deliveryEvents(plivoToken, op.id)).map((e) => e.deliveryStatus)).toEqual(['queued', 'delivered']);
    expect(await eventCount(plivoToken, 'provider.plivo.message.sent')).toBe(1);
  });

  it('changes nothing for a callback with a bad signature (401)', async () => {
    const op = await sms(plivoToken);
    expect(await plivoCallback(plivo, op.providerReference, 'delivered', 'not-the-token')).toBe(401);
    expect(await delivery(plivoToken, op.id)).toEqual({ deliveryStatus: null, deliveryUpdatedAt: null });
  });
});

describe('SendGrid Event Webhook (signed)', () => {
  it('matches the operation by its operation_id custom arg, several events in one post in order', async () => {
    const op = await email(token);
    expect(op.providerReference).toMatch(/^sgmsg/);
    const sgMessageId = `${op.providerReference}.filterdrecv-1234-1-5F9A-0`;
    const status = await sendgridCallback(sendgrid, sendgrid.signer, [
      sendgridEvent('processed', { sg_message_id: sgMessageId, operation_id: op.id }),
      sendgridEvent('delivered', { sg_message_id: sgMessageId, operation_id: op.id }),
      sendgridEvent('deferred', { sg_message_id: sgMessageId, operation_id: op.id }),
    ]);
    expect(status).toBe(200);
    expect((await delivery(token, op.id)).deliveryStatus).toBe('delivered');
    expect((await deliveryEvents(token, op.id)).map((e) => e.deliveryStatus)).toEqual(['processed', 'delivered']);
    // engagement events of one stage: the later one wins
    expect(await sendgridCallback(sendgrid, sendgrid.signer, [sendgridEvent('open', { operation_id: op.id })])).toBe(200);
    expect(await sendgridCallback(sendgrid, sendgrid.signer, [sendgridEvent('click', { operation_id: op.id })])).toBe(200);
    expect((await delivery(token, op.id)).deliveryStatus).toBe('click');
  });

  it('matches by sg_message_id when the event has no operation_id', async () => {
    const op = await email(token);
    const events = [sendgridEvent('delivered', { sg_message_id: `${op.providerReference}.filter0001.1.0` })];
    expect(await sendgridCallback(sendgrid, sendgrid.signer, events)).toBe(200);
    expect((await delivery(token, op.id)).deliveryStatus).toBe('delivered');
  });

  it('changes nothing for a post signed with another key (401)', async () => {
    const op = await email(token);
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    expect(await sendgridCallback(sendgrid, stranger, [sendgridEvent('delivered', { operation_id: op.id })])).toBe(401);
    expect(await delivery(token, op.id)).toEqual({ deliveryStatus: null, deliveryUpdatedAt: null });
  });

  it('never touches another tenant’s operation named by its operation_id', async () => {
    const theirs = await email(otherToken);
    const before = await eventCount(otherToken, 'operation.delivery_updated');
    const events = [sendgridEvent('bounce', { operation_id: theirs.id, sg_message_id: `${theirs.providerReference}.x` })];
    expect(await sendgridCallback(sendgrid, sendgrid.signer, events)).toBe(200);
    expect(await delivery(otherToken, theirs.id)).toEqual({ deliveryStatus: null, deliveryUpdatedAt: null });
    expect(await eventCount(otherToken, 'operation.delivery_updated')).toBe(before);
    // its own integration's post does
    expect(
      await sendgridCallback(
        otherSendgrid,
        otherSendgrid.signer,
        events.map((e) => ({ ...e, sg_event_id: 'other-1' })),
      ),
    ).toBe(200);
    expect((await delivery(otherToken, theirs.id)).deliveryStatus).toBe('bounce');
  });
});
