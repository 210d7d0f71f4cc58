/**
 * Operations over HTTP: sendSms through the routed Twilio integration against a loopback fake of
 * Twilio's Messages API that checks what the real API requires, failover to Plivo, and the
 * outcomes of each kind of provider answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, type Reply, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import { addRule, basicAuth, configureActive, type Gql, gqlAs } from '../helpers/integrations.ts';

const SID = `AC${'2'.repeat(32)}`;

let server: TestServer;
let twilioApi: FakeApi;
let plivoApi: FakeApi;
let token: string;
let admin: Gql;
let twilio: string;
let plivo: string;
/** What the fakes answer to a send, replaceable per test. */
let twilioSend: (req: Seen) => Reply;
let plivoSend: (req: Seen) => Reply;

const OPERATION = `id capability status usedFallback providerReference result input attemptCount
  integration { id } error { code message } attempts { attemptNumber outcome httpStatus error integration { id } }`;
const SEND_SMS = `mutation($input: SendSmsInput!) { sendSms(input: $input) { __typename
  ... on SendSmsPayload { operation { ${OPERATION} } }
  ... on Error { code message } ... on ValidationError { fieldErrors { path message } }
  ... on NoActiveProviderError { capability } } }`;

function twilioFake(req: Seen): Reply {
  if (req.method === 'GET' && req.path === `/2010-04-01/Accounts/${SID}.json`) {
    return req.headers.authorization === basicAuth(SID, 'twilio-token')
      ? { status: 200, body: { sid: SID } }
      : { status: 401, body: { code: 20003 } };
  }
  if (req.method === 'POST' && req.path === `/2010-04-01/Accounts/${SID}/Messages.json`) {
    if (req.headers.authorization !== basicAuth(SID, 'twilio-token'))
      return { status: 401, body: { code: 20003, message: 'Authenticate' } };
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded')
      return { status: 400, body: { message: 'wrong content type' } };
    const form = new URLSearchParams(req.body);
    const keys = [...form.keys()].sort();
    if (keys.join(',') !== 'Body,From,StatusCallback,To') return { status: 400, body: { message: `unexpected fields ${keys}` } };
    return twilioSend(req);
  }
  return { status: 404, body: { message: 'not found' } };
}

function plivoFake(req: Seen): Reply {
  if (req.method === 'GET' && req.path === '/v1/Account/MAPLIVOID/') {
    return req.headers.authorization === basicAuth('MAPLIVOID', 'plivo-token') ? { status: 200, body: {} } : { status: 401 };
  }
  if (req.method === 'POST' && req.path === '/v1/Account/MAPLIVOID/Message/') {
    if (req.headers.authorization !== basicAuth('MAPLIVOID', 'plivo-token')) return { status: 401, body: { error: 'auth failed' } };
    if (req.headers['content-type'] !== 'application/json') return { status: 400, body: { error: 'wrong content type' } };
    const body = JSON.parse(req.body);
    if (Object.keys(body).sort().join(',') !== 'dst,src,text,url') return { status: 400, body: { error: 'unexpected fields' } };
    return plivoSend(req);
  }
  return { status: 404, body: { error: 'not found' } };
}

async function sendSms(input: Record<string, unknown>) {
  const res = await server.gql(SEND_SMS, { input }, { token });
  expect(res.errors).toBeUndefined();
  return res.data.sendSms;
}

beforeAll(async () => {
  twilioApi = await startFakeApi(twilioFake);
  plivoApi = await startFakeApi(plivoFake);
  server = await startTestServer({
    TWILIO_API_BASE_URL: twilioApi.url,
    PLIVO_API_BASE_URL: plivoApi.url,
    OPERATION_RETRY_SCHEDULE: '200ms',
  });
  token = await server.token();
  admin = gqlAs(server, { token });
  ({ id: twilio } = await configureActive(admin, 'twilio', { account_sid: SID, auth_token: 'twilio-token', from_number: '+15550000001' }));
  ({ id: plivo } = await configureActive(admin, 'plivo', { auth_id: 'MAPLIVOID', auth_token: 'plivo-token', from_number: '+15550000002' }));
}, 60_000);

afterAll(async () => {
  await server?.close();
  await twilioApi?.close();
  await plivoApi?.close();
});

describe('sendSms', () => {
  it('refuses with NoActiveProviderError when no routing rule names an ACTIVE integration, storing nothing', async () => {
    const result = await sendSms({ to: '+15551230000', body: 'hello' });
    expect(result).toMatchObject({ __typename: 'NoActiveProviderError', code: 'NO_ACTIVE_PROVIDER', capability: 'send_sms' });
    const list = await server.gql(`{ operations(first: 5) { totalCount } }`, {}, { token });
    expect(list.data.operations.totalCount).toBe(0);
  });

  it('sends through Twilio with the stored credentials and the status callback, and waits for the end', async () => {
    await addRule(admin, { capability: 'send_sms', integrationId: twilio, fallbackIntegrationId: plivo });
    twilioSend = (req) => {
      const form = new URLSearchParams(req.body);
      return { status: 201, body: { sid: 'SM0001', status: 'queued', to: form.get('To'), body: form.get('Body') } };
    };
    const result = await sendSms({ to: '+15551230000', body: 'hello there', waitSeconds: 10 });
    expect(result.__typename).toBe('SendSmsPayload');
    const op = result.operation;
    expect(op).toMatchObject({
      capability: 'send_sms',
      status: 'SUCCEEDED',
      usedFallback: false,
      providerReference: 'SM0001',
      result: { messageId: 'SM0001', status: 'queued' },
      input: { to: '+15551230000', body: 'hello there' },
      integration: { id: twilio },
      error: null,
      attemptCount: 1,
    });
    expect(op.attempts).toEqual([{ attemptNumber: 1, outcome: 'SUCCEEDED', httpStatus: 201, error: null, integration: { id: twilio } }]);
    const sent = twilioApi.seen.filter((s) => s.method === 'POST');
    const form = new URLSearchParams(sent.at(-1)!.body);
    expect(form.get('To')).toBe('+15551230000');
    expect(form.get('From')).toBe('+15550000001');
    expect(form.get('Body')).toBe('hello there');
    expect(form.get('StatusCallback')).toMatch(new RegExp(`^${server.url}/hooks/twilio/[A-Za-z0-9_-]+$`));
  });

  it('fails over to the fallback at once on a 5xx, and marks the operation usedFallback', async () => {
    twilioSend = () => ({ status: 503, body: { message: 'Service unavailable' } });
    plivoSend = () => ({ status: 202, body: { api_id: 'api-1', message: 'message(s) queued', message_uuid: ['uuid-1'] } });
    const { operation } = await sendSms({ to: '+15551230001', body: 'via plivo', waitSeconds: 10 });
    expect(operation).toMatchObject({ status: 'SUCCEEDED', usedFallback: true, providerReference: 'uuid-1', integration: { id: plivo } });
    expect(operation.attempts.map((a: { outcome: string; httpStatus: number }) => [a.outcome, a.httpStatus])).toEqual([
      ['TRANSIENT_FAILURE', 503],
      ['SUCCEEDED', 202],
    ]);
    expect(operation.attempts[0].error).toBe('Twilio is unavailable (HTTP 503): Service unavailable');
  });

  it('fails with PROVIDER_REJECTED on another 4xx, without failover', async () => {
    twilioSend = () => ({ status: 400, body: { code: 21211, message: "The 'To' number +15551230002 is not a valid phone number." } });
    const plivoCalls = plivoApi.seen.length;
    const { operation } = await sendSms({ to: '+15551230002', body: 'bad', waitSeconds: 10 });
    expect(operation.status).toBe('FAILED');
    expect(operation.error).toEqual({
      code: 'PROVIDER_REJECTED',
      message: "Twilio rejected the request (HTTP 400): The 'To' number +15551230002 is not a valid phone number.",
    });
    expect(plivoApi.seen.length).toBe(plivoCalls);
  });

  it('retries the whole walk on the schedule when every candidate fails transiently, then fails PROVIDER_UNAVAILABLE', async () => {
    twilioSend = () => ({ status: 500, body: {} });
    plivoSend = () => ({ status: 502, body: {} });
    const { operation } = await sendSms({ to: '+15551230003', body: 'nobody home', waitSeconds: 15 });
    expect(operation.status).toBe('FAILED');
    expect(operation.error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(operation.attempts.map((a: { outcome: string }) => a.outcome)).toEqual([
      'TRANSIENT_FAILURE',
      'TRANSIENT_FAILURE',
      'TRANSIENT_FAILURE',
      'TRANSIENT_FAILURE',
    ]);
  });

  it('validates the input with field errors', async () => {
    const result = await sendSms({ to: '555-1234', body: 'x'.repeat(1601) });
    expect(result.__typename).toBe('ValidationError');
    expect(result.fieldErrors.map((e: { path: string[] }) => e.path.join('.'))).toEqual(['to', 'body']);
  });
});
