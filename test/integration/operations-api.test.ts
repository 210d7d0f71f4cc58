/**
 * The API behaviour of operations over HTTP, against a loopback fake of Twilio's Messages API that
 * checks what the real API requires: idempotency keys, waitSeconds, the reads and their filters,
 * scopes, tenant and application isolation, operationUpdated over SSE, operation.* events to
 * webhooks, and that no input or credential reaches the logs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, type Reply, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import { addRule, basicAuth, configureActive, gqlAs } from '../helpers/integrations.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';
import { subscribeSse, subscriptionAnswer } from '../helpers/sse.ts';

const SID = `AC${'3'.repeat(32)}`;
/** Distinctive, so the log check can look for it. */
const AUTH_TOKEN = 'tw-auth-Q7x9Lm2Pz4Kd';
const SMS_FROM = '+15550000001';
const WHATSAPP_FROM = 'whatsapp:+15550000003';
/** Messages to this number are refused by the fake as Twilio refuses an invalid number. */
const REFUSED_TO = '+15550009999';

let server: TestServer;
let twilioApi: FakeApi;
let receiver: Receiver;
let sent = 0;

/** A held answer of the fake: the test decides when the provider answers. */
interface Gate {
  released: boolean;
  release(): void;
  opened: Promise<void>;
}
const gates = new Map<string, Gate>();

/** Holds the fake's answer to messages for `to` until released (or 20 s pass, so nothing hangs). */
function hold(to: string): Gate {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  const gate: Gate = {
    released: false,
    opened,
    release: () => {
      gate.released = true;
      clearTimeout(safety);
      open();
    },
  };
  const safety = setTimeout(gate.release, 20_000);
  gates.set(to, gate);
  return gate;
}

/** Twilio's Messages API as the adapter must call it; anything else answers as Twilio would. */
async function twilioFake(req: Seen): Promise<Reply> {
  if (req.method === 'GET' && req.path === `/2010-04-01/Accounts/${SID}.json`) {
    return req.headers.authorization === basicAuth(SID, AUTH_TOKEN)
      ? { status: 200, body: { sid: SID } }
      : { status: 401, body: { code: 20003 } };
  }
  if (req.method !== 'POST' || req.path !== `/2010-04-01/Accounts/${SID}/Messages.json`)
    return { status: 404, body: { message: 'not found' } };
  if (req.headers.authorization !== basicAuth(SID, AUTH_TOKEN)) return { status: 401, body: { code: 20003, message: 'Authenticate' } };
  if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return { status: 400, body: { message: 'wrong content type' } };
  const form = new URLSearchParams(req.body);
  const keys = [...form.keys()].sort().join(',');
  if (keys !== 'Body,From,StatusCallback,To') return { status: 400, body: { message: `unexpected fields ${keys}` } };
  const to = form.get('To')!.replace(/^whatsapp:/, '');
  const whatsapp = form.get('To')!.startsWith('whatsapp:');
  if (whatsapp !== form.get('From')!.startsWith('whatsapp:')) return { status: 400, body: { code: 63007, message: 'channel mismatch' } };
  if (to === REFUSED_TO) return { status: 400, body: { code: 21211, message: 'The To number is not a valid phone number.' } };
  await gates.get(to)?.opened;
  sent += 1;
  return { status: 201, body: { sid: `SM${String(sent).padStart(32, '0')}`, status: 'queued' } };
}

/** The provider calls that sent `body` (a provider call is what idempotency must not repeat). */
function callsWithBody(body: string) {
  return twilioApi.seen.filter((s) => s.method === 'POST' && new URLSearchParams(s.body).get('Body') === body);
}

const OPERATION = 'id capability status idempotencyKey providerReference input integration { id } error { code }';
const RESULT = `__typename ... on Error { code message } ... on ValidationError { fieldErrors { path message } }`;
const mutationOf = (name: string, type: string) =>
  `mutation($input: ${type}Input!) { ${name}(input: $input) { ${RESULT} ... on ${type}Payload { operation { ${OPERATION} } } } }`;
const SEND_SMS = mutationOf('sendSms', 'SendSms');
const SEND_WHATSAPP = mutationOf('sendWhatsapp', 'SendWhatsapp');
const OPERATION_BY_ID = `query($id: ID!) { operation(id: $id) { ${OPERATION} } }`;
const NODE = 'query($id: ID!) { node(id: $id) { __typename id ... on Operation { capability status } } }';
const LIST = `query($first: Int, $after: String, $capability: String, $status: OperationStatus, $integrationId: ID) {
  operations(first: $first, after: $after, capability: $capability, status: $status, integrationId: $integrationId) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`;

type Credential = { token?: string; apiKey?: string };

async function sendSms(credential: Credential, input: Record<string, unknown>) {
  const res = await server.gql(SEND_SMS, { input }, credential);
  expect(res.errors).toBeUndefined();
  return res.data.sendSms;
}

async function sendWhatsapp(credential: Credential, input: Record<string, unknown>) {
  const res = await server.gql(SEND_WHATSAPP, { input }, credential);
  expect(res.errors).toBeUndefined();
  return res.data.sendWhatsapp;
}

/** The ids `operations` lists for the filters, and its totalCount. */
async function listIds(credential: Credential, variables: Record<string, unknown> = {}) {
  const res = await server.gql(LIST, { first: 100, ...variables }, credential);
  expect(res.errors).toBeUndefined();
  const { totalCount, edges } = res.data.operations;
  return { totalCount, ids: edges.map((e: { node: { id: string } }) => e.node.id) as string[] };
}

/** The operation once it ended, read through operation(id). */
async function ended(credential: Credential, id: string) {
  return eventually(async () => {
    const res = await server.gql(OPERATION_BY_ID, { id }, credential);
    const op = res.data.operation;
    return op && ['SUCCEEDED', 'FAILED'].includes(op.status) ? op : undefined;
  });
}

/** A tenant whose sendSms and sendWhatsapp go through its Twilio integration; an admin token of it. */
async function tenant(tenantId: string) {
  const token = await server.token({ tenant_id: tenantId });
  const admin = gqlAs(server, { token });
  const { id: twilio } = await configureActive(admin, 'twilio', { account_sid: SID, auth_token: AUTH_TOKEN, from_number: SMS_FROM });
  await addRule(admin, { capability: 'send_sms', integrationId: twilio });
  await addRule(admin, { capability: 'send_whatsapp', integrationId: twilio });
  return { token, twilio };
}

/** Opens operationUpdated over SSE and collects each operation it carries. */
async function watch(token: string, id?: string) {
  const events: { id: string; status: string }[] = [];
  const args = id ? `(id: "${id}")` : '';
  const stream = await subscribeSse(server.url, token, `subscription { operationUpdated${args} { id status } }`, (payload) =>
    events.push(payload.data.operationUpdated),
  );
  expect(stream.response.status).toBe(200);
  return { events, close: stream.close, of: (opId: string) => events.filter((e) => e.id === opId).map((e) => e.status) };
}

beforeAll(async () => {
  twilioApi = await startFakeApi(twilioFake);
  receiver = await startReceiver();
  server = await startTestServer({
    TWILIO_API_BASE_URL: twilioApi.url,
    WHATSAPP_TWILIO_API_BASE_URL: twilioApi.url,
    WEBHOOK_ALLOW_HOSTS: receiver.hostPort,
    // the log check covers what is written at every level
    LOG_LEVEL: 'debug',
  });
}, 60_000);

afterAll(async () => {
  for (const gate of gates.values()) gate.release();
  await server?.close();
  await twilioApi?.close();
  await receiver?.close();
});

describe('idempotencyKey', () => {
  let a: { token: string; twilio: string };
  let b: { token: string; twilio: string };
  beforeAll(async () => {
    a = await tenant('tenant-a');
    b = await tenant('tenant-b');
  }, 60_000);

  it('answers the same operation for the same key and input, and calls the provider once', async () => {
    const input = { to: '+15551000001', body: 'order 1001 shipped', idempotencyKey: 'order-1001' };
    const first = await sendSms(a, { ...input, waitSeconds: 10 });
    expect(first.operation).toMatchObject({ status: 'SUCCEEDED', idempotencyKey: 'order-1001' });
    const again = await sendSms(a, input);
    expect(again.__typename).toBe('SendSmsPayload');
    expect(again.operation).toMatchObject({ id: first.operation.id, status: 'SUCCEEDED' });
    // a later operation ends after anything the repeat might have queued would have run
    await sendSms(a, { to: '+15551000002', body: 'after the repeat', waitSeconds: 10 });
    expect(callsWithBody('order 1001 shipped')).toHaveLength(1);
    expect((await listIds(a, { capability: 'send_sms' })).ids.filter((id) => id === first.operation.id)).toHaveLength(1);
  });

  it('stores one operation for concurrent requests with one key', async () => {
    const input = { to: '+15551000003', body: 'concurrent 7', idempotencyKey: 'concurrent-7', waitSeconds: 10 };
    const [x, y] = await Promise.all([sendSms(a, input), sendSms(a, input)]);
    expect(x.operation.id).toBe(y.operation.id);
    await ended(a, x.operation.id);
    await sendSms(a, { to: '+15551000004', body: 'after the concurrent pair', waitSeconds: 10 });
    expect(callsWithBody('concurrent 7')).toHaveLength(1);
  });

  it('is a CONFLICT with another input, storing nothing', async () => {
    const before = (await listIds(a)).totalCount;
    const other = await sendSms(a, { to: '+15551000001', body: 'order 1001 cancelled', idempotencyKey: 'order-1001' });
    expect(other).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
    expect(other.message).not.toContain('order 1001 cancelled');
    expect((await listIds(a)).totalCount).toBe(before);
  });

  it('is independent per capability: sendWhatsapp may reuse a sendSms key', async () => {
    const sms = await listIds(a, { capability: 'send_sms' });
    const whatsapp = await sendWhatsapp(a, {
      to: '+15551000001',
      body: 'order 1001 shipped',
      idempotencyKey: 'order-1001',
      waitSeconds: 10,
    });
    expect(whatsapp.__typename).toBe('SendWhatsappPayload');
    expect(whatsapp.operation).toMatchObject({ capability: 'send_whatsapp', status: 'SUCCEEDED', idempotencyKey: 'order-1001' });
    expect(sms.ids).not.toContain(whatsapp.operation.id);
    const form = new URLSearchParams(callsWithBody('order 1001 shipped').at(-1)!.body);
    expect([form.get('To'), form.get('From')]).toEqual(['whatsapp:+15551000001', `whatsapp:${SMS_FROM}`]);
  });

  it('is per tenant: another tenant may use the same key for its own input', async () => {
    const own = await sendSms(b, { to: '+15552000001', body: 'tenant b order', idempotencyKey: 'order-1001', waitSeconds: 10 });
    expect(own.__typename).toBe('SendSmsPayload');
    expect(own.operation.status).toBe('SUCCEEDED');
    expect((await listIds(a)).ids).not.toContain(own.operation.id);
    // from now on the key names tenant-b's operation in tenant-b: tenant-a's input there is a conflict
    const aInput = await sendSms(b, { to: '+15551000001', body: 'order 1001 shipped', idempotencyKey: 'order-1001' });
    expect(aInput.__typename).toBe('ConflictError');
    expect(callsWithBody('tenant b order')).toHaveLength(1);
  });

  it.each([
    ['empty', ''],
    ['with spaces', 'order 1001'],
    ['only spaces', '   '],
    ['256 characters', 'k'.repeat(256)],
    ['non-ASCII', 'bestellung-ä'],
  ])('refuses a key that is %s at path idempotencyKey, storing nothing', async (_what, idempotencyKey) => {
    const before = (await listIds(a)).totalCount;
    const res = await sendSms(a, { to: '+15551000005', body: 'bad key', idempotencyKey });
    expect(res.__typename).toBe('ValidationError');
    expect(res.fieldErrors).toEqual([{ path: ['idempotencyKey'], message: expect.stringMatching(/visible ASCII/) }]);
    expect((await listIds(a)).totalCount).toBe(before);
  });

  it('takes a key of 255 visible characters', async () => {
    const res = await sendSms(a, { to: '+15551000006', body: 'long key', idempotencyKey: `${'k'.repeat(254)}~`, waitSeconds: 10 });
    expect(res.operation).toMatchObject({ status: 'SUCCEEDED', idempotencyKey: `${'k'.repeat(254)}~` });
  });

  it.each([-1, 31])('refuses waitSeconds %i at path waitSeconds', async (waitSeconds) => {
    const res = await sendSms(a, { to: '+15551000007', body: 'bad wait', waitSeconds });
    expect(res.__typename).toBe('ValidationError');
    expect(res.fieldErrors).toEqual([{ path: ['waitSeconds'], message: 'must be a whole number from 0 to 30' }]);
    expect(callsWithBody('bad wait')).toHaveLength(0);
  });
});

describe('waitSeconds', () => {
  let a: { token: string };
  beforeAll(async () => {
    a = { token: await server.token({ tenant_id: 'tenant-a' }) };
  });

  it('with 0 answers QUEUED at once; the operation then succeeds', async () => {
    const res = await sendSms(a, { to: '+15551100001', body: 'no wait', waitSeconds: 0 });
    expect(res.operation.status).toBe('QUEUED');
    expect(res.operation.providerReference).toBeNull();
    const done = await ended(a, res.operation.id);
    expect(done).toMatchObject({ status: 'SUCCEEDED', providerReference: expect.stringMatching(/^SM/) });
  });

  it('with 30 (the most) waits for the end', async () => {
    const res = await sendSms(a, { to: '+15551100002', body: 'longest wait', waitSeconds: 30 });
    expect(res.operation.status).toBe('SUCCEEDED');
  });

  it('answers when the time is up while the provider has not answered yet', async () => {
    const gate = hold('+15551100003');
    const res = await sendSms(a, { to: '+15551100003', body: 'slow provider', waitSeconds: 1 });
    // the fake still holds its answer: the mutation did not wait for the end
    expect(gate.released).toBe(false);
    expect(['QUEUED', 'RUNNING']).toContain(res.operation.status);
    gate.release();
    const done = await ended(a, res.operation.id);
    expect(done.status).toBe('SUCCEEDED');
  });
});

describe('reads', () => {
  let token: string;
  let twilio: string;
  let whatsappTwilio: string;
  let lastUsedBefore: { twilio: unknown; whatsapp: unknown };
  const ops: Record<'sms1' | 'wa1' | 'refused' | 'sms3', string> = { sms1: '', wa1: '', refused: '', sms3: '' };
  const INTEGRATION = `query($id: ID!, $status: OperationStatus) { integration(id: $id) { lastUsedAt
    operations(first: 10, status: $status) { totalCount edges { node { id } } } } }`;

  beforeAll(async () => {
    token = await server.token({ tenant_id: 'reads' });
    const admin = gqlAs(server, { token });
    ({ id: twilio } = await configureActive(admin, 'twilio', { account_sid: SID, auth_token: AUTH_TOKEN, from_number: SMS_FROM }));
    ({ id: whatsappTwilio } = await configureActive(admin, 'whatsapp_twilio', {
      account_sid: SID,
      auth_token: AUTH_TOKEN,
      from_number: WHATSAPP_FROM,
    }));
    await addRule(admin, { capability: 'send_sms', integrationId: twilio });
    await addRule(admin, { capability: 'send_whatsapp', integrationId: whatsappTwilio });
    const lastUsed = async (id: string) => (await server.gql(INTEGRATION, { id }, { token })).data.integration.lastUsedAt;
    lastUsedBefore = { twilio: await lastUsed(twilio), whatsapp: await lastUsed(whatsappTwilio) };
    ops.sms1 = (await sendSms({ token }, { to: '+15553000001', body: 'read one', waitSeconds: 10 })).operation.id;
    ops.wa1 = (await sendWhatsapp({ token }, { to: '+15553000002', body: 'read two', waitSeconds: 10 })).operation.id;
    ops.refused = (await sendSms({ token }, { to: REFUSED_TO, body: 'read three', waitSeconds: 10 })).operation.id;
    ops.sms3 = (await sendSms({ token }, { to: '+15553000004', body: 'read four', waitSeconds: 10 })).operation.id;
  }, 60_000);

  it('lists newest first, a page at a time', async () => {
    const page1 = (await server.gql(LIST, { first: 2 }, { token })).data.operations;
    expect(page1.totalCount).toBe(4);
    expect(page1.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([ops.sms3, ops.refused]);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await server.gql(LIST, { first: 2, after: page1.pageInfo.endCursor }, { token })).data.operations;
    expect(page2.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([ops.wa1, ops.sms1]);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect(page2.totalCount).toBe(4);
  });

  it('filters by capability, status and integration', async () => {
    expect(await listIds({ token }, { capability: 'send_whatsapp' })).toEqual({ totalCount: 1, ids: [ops.wa1] });
    expect(await listIds({ token }, { status: 'FAILED' })).toEqual({ totalCount: 1, ids: [ops.refused] });
    expect(await listIds({ token }, { status: 'QUEUED' })).toEqual({ totalCount: 0, ids: [] });
    expect(await listIds({ token }, { capability: 'send_sms', status: 'SUCCEEDED' })).toEqual({ totalCount: 2, ids: [ops.sms3, ops.sms1] });
    expect(await listIds({ token }, { integrationId: whatsappTwilio })).toEqual({ totalCount: 1, ids: [ops.wa1] });
    expect(await listIds({ token }, { integrationId: twilio })).toEqual({ totalCount: 3, ids: [ops.sms3, ops.refused, ops.sms1] });
    // a known capability no operation has, and an id that names no integration: empty, not an error
    expect(await listIds({ token }, { capability: 'send_email' })).toEqual({ totalCount: 0, ids: [] });
    expect(await listIds({ token }, { integrationId: 'bm9wZQ' })).toEqual({ totalCount: 0, ids: [] });
  });

  it('refuses an unknown capability with an error naming the argument', async () => {
    const res = await server.gql(LIST, { capability: 'send_pigeon' }, { token });
    expect(res.data?.operations ?? null).toBeNull();
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', argument: 'capability' });
    expect(res.errors?.[0]?.message).toMatch(/^capability: unknown capability/);
  });

  it('reads one operation by operation(id) and node(id)', async () => {
    const one = (await server.gql(OPERATION_BY_ID, { id: ops.refused }, { token })).data.operation;
    expect(one).toMatchObject({
      id: ops.refused,
      capability: 'send_sms',
      status: 'FAILED',
      input: { to: REFUSED_TO, body: 'read three' },
      integration: { id: twilio },
      error: { code: 'PROVIDER_REJECTED' },
      providerReference: null,
    });
    const node = (await server.gql(NODE, { id: ops.wa1 }, { token })).data.node;
    expect(node).toEqual({ __typename: 'Operation', id: ops.wa1, capability: 'send_whatsapp', status: 'SUCCEEDED' });
    expect((await server.gql(OPERATION_BY_ID, { id: 'bm9wZQ' }, { token })).data.operation).toBeNull();
  });

  it('lists an integration’s operations by status, and when it was last used', async () => {
    expect(lastUsedBefore).toEqual({ twilio: null, whatsapp: null });
    const served = (await server.gql(INTEGRATION, { id: twilio, status: 'SUCCEEDED' }, { token })).data.integration;
    expect(served.operations.totalCount).toBe(2);
    expect(served.operations.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([ops.sms3, ops.sms1]);
    const all = (await server.gql(INTEGRATION, { id: twilio }, { token })).data.integration;
    expect(all.operations.totalCount).toBe(3);
    const latest = (await server.gql(`query($id: ID!) { operation(id: $id) { createdAt } }`, { id: ops.sms3 }, { token })).data;
    expect(Date.parse(served.lastUsedAt)).toBeGreaterThanOrEqual(Date.parse(latest.operation.createdAt));
    const whatsapp = (await server.gql(INTEGRATION, { id: whatsappTwilio }, { token })).data.integration;
    expect(whatsapp.lastUsedAt).not.toBeNull();
    expect(whatsapp.operations.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([ops.wa1]);
  });
});

describe('scopes', () => {
  let admin: string;
  let someOperation: string;
  beforeAll(async () => {
    ({ token: admin } = await tenant('scoped'));
    someOperation = (await sendSms({ token: admin }, { to: '+15554000000', body: 'scoped seed', waitSeconds: 10 })).operation.id;
  }, 60_000);

  // Operation.integration is an Integration, which needs integrations:read: not selected here
  const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { ${RESULT} ... on SendSmsPayload { operation { id status } } } }`;
  const send = (credential: Credential, body: string) =>
    server.gql(SEND, { input: { to: '+15554000001', body, waitSeconds: 10 } }, credential);
  const list = (credential: Credential) => server.gql(LIST, { first: 5 }, credential);

  it('refuses sendSms and the reads to a credential with no operations scope', async () => {
    const token = await server.token({ tenant_id: 'scoped', scope: 'integrations:read' });
    const sendRes = await send({ token }, 'integrations reader');
    expect(sendRes.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(sendRes.data?.sendSms ?? null).toBeNull();
    expect(callsWithBody('integrations reader')).toHaveLength(0);
    const listRes = await list({ token });
    expect(listRes.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(listRes.raw).not.toContain(someOperation);
    const byId = await server.gql(OPERATION_BY_ID, { id: someOperation }, { token });
    expect(byId.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const node = await server.gql(NODE, { id: someOperation }, { token });
    expect(node.data?.node ?? null).toBeNull();
    expect(node.raw).not.toContain('scoped seed');
    expect(node.raw).not.toContain('send_sms');
  });

  it('lets operations:read read but not send', async () => {
    const token = await server.token({ tenant_id: 'scoped', scope: 'operations:read' });
    expect((await send({ token }, 'operations reader')).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(callsWithBody('operations reader')).toHaveLength(0);
    expect((await listIds({ token })).ids).toContain(someOperation);
  });

  it('lets operations:write send and read, as does a token without a scope claim', async () => {
    for (const [token, body] of [
      [await server.token({ tenant_id: 'scoped', scope: 'operations:write' }), 'operations writer'],
      [admin, 'no scope claim'],
    ] as const) {
      const res = await send({ token }, body);
      expect(res.errors).toBeUndefined();
      expect(res.data.sendSms.operation.status).toBe('SUCCEEDED');
      expect((await listIds({ token })).ids).toContain(res.data.sendSms.operation.id);
    }
  });

  it('lets an API key minted with operations:write send', async () => {
    const created = await server.gql(
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ... on CreateApiKeyPayload { secret apiKey { scopes } } ${RESULT} } }`,
      { input: { name: 'sender', scopes: ['operations:write'] } },
      { token: admin },
    );
    expect(created.data.createApiKey.__typename).toBe('CreateApiKeyPayload');
    expect(created.data.createApiKey.apiKey.scopes).toEqual(['OPERATIONS_WRITE']);
    const apiKey = created.data.createApiKey.secret as string;
    const res = await send({ apiKey }, 'api key sender');
    expect(res.errors).toBeUndefined();
    expect(res.data.sendSms.operation.status).toBe('SUCCEEDED');
    expect(callsWithBody('api key sender')).toHaveLength(1);
    // the key may not read integrations
    const integrations = await server.gql(`{ integrations(first: 1) { totalCount } }`, {}, { apiKey });
    expect(integrations.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('isolation', () => {
  let a: string;
  let b: string;
  let aOperation: string;
  beforeAll(async () => {
    a = await server.token({ tenant_id: 'tenant-a' });
    b = await server.token({ tenant_id: 'tenant-b' });
    aOperation = (await sendSms({ token: a }, { to: '+15555000001', body: 'only for a', waitSeconds: 10 })).operation.id;
  });

  it('shows another tenant none of a tenant’s operations', async () => {
    const bList = await server.gql(LIST, { first: 100 }, { token: b });
    expect(bList.errors).toBeUndefined();
    expect(bList.raw).not.toContain(aOperation);
    expect(bList.data.operations.totalCount).toBe(bList.data.operations.edges.length);
    const byId = await server.gql(OPERATION_BY_ID, { id: aOperation }, { token: b });
    expect(byId.errors).toBeUndefined();
    expect(byId.data.operation).toBeNull();
    const node = await server.gql(NODE, { id: aOperation }, { token: b });
    expect(node.errors).toBeUndefined();
    expect(node.data.node).toBeNull();
    expect((await listIds({ token: a })).ids).toContain(aOperation);
  });

  describe('application credentials', () => {
    let person: string;
    let app1: string;
    let app2: string;
    beforeAll(async () => {
      ({ token: person } = await tenant('apps'));
      app1 = await server.token({ tenant_id: 'apps', app_id: 'app-1' });
      app2 = await server.token({ tenant_id: 'apps', app_id: 'app-2' });
    }, 60_000);

    it('see the operations their application requested; a person sees all', async () => {
      const mine = (await sendSms({ token: app1 }, { to: '+15555100001', body: 'from app-1', waitSeconds: 10 })).operation.id;
      const persons = (await sendSms({ token: person }, { to: '+15555100002', body: 'from a person', waitSeconds: 10 })).operation.id;
      expect(await listIds({ token: app1 })).toEqual({ totalCount: 1, ids: [mine] });
      expect(await listIds({ token: app2 })).toEqual({ totalCount: 0, ids: [] });
      expect(await listIds({ token: person })).toEqual({ totalCount: 2, ids: [persons, mine] });
      for (const [token, id] of [
        [app1, persons],
        [app2, mine],
      ]) {
        expect((await server.gql(OPERATION_BY_ID, { id }, { token })).data.operation).toBeNull();
        expect((await server.gql(NODE, { id }, { token })).data.node).toBeNull();
      }
      expect((await server.gql(NODE, { id: mine }, { token: app1 })).data.node.id).toBe(mine);
    });

    it('hear only their application’s operations on operationUpdated', async () => {
      const appStream = await watch(app1);
      const personStream = await watch(person);
      // the first operation proves both streams are live
      const first = (await sendSms({ token: app1 }, { to: '+15555100003', body: 'app warm-up', waitSeconds: 10 })).operation.id;
      await eventually(async () =>
        appStream.of(first).includes('SUCCEEDED') && personStream.of(first).includes('SUCCEEDED') ? true : undefined,
      );
      const persons = (await sendSms({ token: person }, { to: '+15555100004', body: 'person again', waitSeconds: 10 })).operation.id;
      const mine = (await sendSms({ token: app1 }, { to: '+15555100005', body: 'app again', waitSeconds: 10 })).operation.id;
      await eventually(async () =>
        appStream.of(mine).includes('SUCCEEDED') && personStream.of(mine).includes('SUCCEEDED') ? true : undefined,
      );
      appStream.close();
      personStream.close();
      expect(new Set(appStream.events.map((e) => e.id))).toEqual(new Set([first, mine]));
      expect(personStream.of(persons)).toContain('SUCCEEDED');
    });

    it('cannot be handed another application’s operation through an idempotency key', async () => {
      const input = { to: '+15555100006', body: 'keyed by app-1', idempotencyKey: 'invoice-77', waitSeconds: 10 };
      const mine = (await sendSms({ token: app1 }, input)).operation;
      expect(mine.status).toBe('SUCCEEDED');
      const res = await server.gql(SEND_SMS, { input }, { token: app2 });
      expect(res.data.sendSms).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
      expect(res.raw).not.toContain(mine.id);
      expect(res.raw).not.toContain(mine.providerReference);
      // a person sees every operation of the tenant, so the key answers app-1's to them
      expect((await sendSms({ token: person }, input)).operation.id).toBe(mine.id);
      expect(callsWithBody('keyed by app-1')).toHaveLength(1);
    });
  });
});

describe('operationUpdated over SSE', () => {
  let token: string;
  beforeAll(async () => {
    ({ token } = await tenant('streams'));
  }, 60_000);

  it('carries each change of the tenant’s operations: queued, running, then the end', async () => {
    const stream = await watch(token);
    const warmUp = (await sendSms({ token }, { to: '+15556000001', body: 'stream warm-up', waitSeconds: 10 })).operation.id;
    await eventually(async () => (stream.of(warmUp).includes('SUCCEEDED') ? true : undefined));

    const gate = hold('+15556000002');
    const res = await sendSms({ token }, { to: '+15556000002', body: 'watched', waitSeconds: 0 });
    const id = res.operation.id;
    // queued and running are both heard while the provider still holds its answer
    await eventually(async () => (stream.of(id).length >= 2 ? true : undefined), 15_000, 'queued and running');
    expect(gate.released).toBe(false);
    const beforeEnd = stream.of(id);
    gate.release();
    await eventually(async () => (stream.of(id).includes('SUCCEEDED') ? true : undefined));
    stream.close();
    // each event is read as the operation is when it is sent: the queued one may already read RUNNING
    expect(beforeEnd).toHaveLength(2);
    expect(['QUEUED', 'RUNNING']).toContain(beforeEnd[0]);
    expect(beforeEnd[1]).toBe('RUNNING');
    expect(stream.of(id)).toEqual([...beforeEnd, 'SUCCEEDED']);
  });

  it('with an id carries only that operation’s changes', async () => {
    const gate = hold('+15556000003');
    const watched = (await sendSms({ token }, { to: '+15556000003', body: 'watched by id', waitSeconds: 0 })).operation.id;
    const stream = await watch(token, watched);
    // give the subscription a moment to be in place before anything it should hear happens
    await new Promise((r) => setTimeout(r, 200));
    const other = (await sendSms({ token }, { to: '+15556000004', body: 'not watched', waitSeconds: 10 })).operation.id;
    expect(gate.released).toBe(false);
    gate.release();
    await eventually(async () => (stream.of(watched).includes('SUCCEEDED') ? true : undefined));
    stream.close();
    expect(stream.events.every((e) => e.id === watched)).toBe(true);
    expect(stream.of(other)).toEqual([]);
  });

  it('answers an id the caller cannot follow with one 404, not a stream', async () => {
    const mine = (await sendSms({ token }, { to: '+15556000005', body: 'followed by id', waitSeconds: 10 })).operation.id;
    const stranger = await server.token({ tenant_id: 'streams-stranger' });
    const app = await server.token({ tenant_id: 'streams', app_id: 'streams-app' });
    const query = 'subscription($id: ID) { operationUpdated(id: $id) { id status } }';
    // another tenant's, another application's, a malformed one, another type's
    for (const [who, id] of [
      [stranger, mine],
      [app, mine],
      [token, 'not-an-id'],
      [token, Buffer.from('Webhook:0190d7a0-0000-7000-8000-000000000000').toString('base64')],
    ] as const) {
      const answer = await subscriptionAnswer(server.url, who, query, { id });
      expect(answer).toMatchObject({ status: 404, stream: false, error: { extensions: { code: 'NOT_FOUND' } } });
    }
    // its own tenant's person follows it
    const followed = await subscriptionAnswer(server.url, token, query, { id: mine });
    expect(followed.stream).toBe(true);
  });

  it('refuses a credential without an operations scope before any stream opens', async () => {
    const reader = await server.token({ tenant_id: 'streams', scope: 'integrations:read' });
    const answer = await subscriptionAnswer(server.url, reader, 'subscription { operationUpdated { id } }');
    expect(answer).toMatchObject({ status: 403, error: { extensions: { code: 'FORBIDDEN' } } });
  });
});

describe('operation events to webhooks', () => {
  let token: string;
  let twilio: string;
  beforeAll(async () => {
    ({ token, twilio } = await tenant('hooks'));
  }, 60_000);

  it('lists the three operation event types', async () => {
    const res = await server.gql('{ eventTypes }', {}, { token });
    const types = (res.data.eventTypes as string[]).filter((t) => t.startsWith('operation.'));
    expect(types.sort()).toEqual(['operation.delivery_updated', 'operation.failed', 'operation.succeeded']);
  });

  it('delivers operation.succeeded and operation.failed without the input or credentials', async () => {
    const created = await server.gql(
      `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { ${RESULT} ... on CreateWebhookPayload { webhook { id } } } }`,
      { input: { name: 'ops', url: `${receiver.url}/ops`, eventTypes: ['operation.*'] } },
      { token },
    );
    expect(created.data.createWebhook.__typename).toBe('CreateWebhookPayload');
    const good = (await sendSms({ token }, { to: '+15557000001', body: 'webhook body canary', waitSeconds: 10 })).operation;
    const bad = (await sendSms({ token }, { to: REFUSED_TO, body: 'refused body canary', waitSeconds: 10 })).operation;
    expect([good.status, bad.status]).toEqual(['SUCCEEDED', 'FAILED']);

    const bodies = await eventually(async () => {
      const got = receiver.received.filter((r) => r.path === '/hooks/ops');
      return got.length >= 2 ? got : undefined;
    });
    const events = bodies.map((r) => JSON.parse(r.body));
    expect(events.map((e) => e.type).sort()).toEqual(['operation.failed', 'operation.succeeded']);
    const succeeded = events.find((e) => e.type === 'operation.succeeded');
    const failed = events.find((e) => e.type === 'operation.failed');
    expect(succeeded.data).toMatchObject({
      id: good.id,
      capability: 'send_sms',
      status: 'SUCCEEDED',
      integrationId: twilio,
      providerReference: good.providerReference,
      error: null,
    });
    expect(good.providerReference).toMatch(/^SM/);
    expect(failed.data).toMatchObject({
      id: bad.id,
      capability: 'send_sms',
      status: 'FAILED',
      integrationId: twilio,
      providerReference: null,
      error: { code: 'PROVIDER_REJECTED' },
    });
    for (const { body } of bodies) {
      for (const secret of ['webhook body canary', 'refused body canary', '+15557000001', AUTH_TOKEN, basicAuth(SID, AUTH_TOKEN)]) {
        expect(body).not.toContain(secret);
      }
      expect(JSON.parse(body).data).not.toHaveProperty('input');
      expect(JSON.parse(body).data).not.toHaveProperty('result');
    }
  });
});

describe('logs', () => {
  it('never carry an input or a credential', async () => {
    const { token } = await tenant('logs');
    const body = 'log canary body 5f2c91';
    const to = '+15558000001';
    const res = await sendSms({ token }, { to, body, waitSeconds: 10 });
    expect(res.operation.status).toBe('SUCCEEDED');
    const refused = await sendSms({ token }, { to: REFUSED_TO, body: `${body} refused`, waitSeconds: 10 });
    expect(refused.operation.status).toBe('FAILED');
    const invalid = await sendSms({ token }, { to: '555-LOG', body: `${body}\u0001`, idempotencyKey: 'log key' });
    expect(invalid.__typename).toBe('ValidationError');
    expect(callsWithBody(body)).toHaveLength(1);
    const logs = server.logs.join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [body, to, '555-LOG', AUTH_TOKEN, basicAuth(SID, AUTH_TOKEN).slice(6)]) {
      expect(logs).not.toContain(secret);
    }
  });
});
