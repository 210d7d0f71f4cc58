import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { plivo, plivoV3Signature } from '../../src/providers/plivo.ts';
import type { InboundRequest } from '../../src/providers/types.ts';

const NOW = new Date('2025-03-10T12:00:00Z');

/** plivo-go utils_test.go, TestValidateSignatureV3Pass1..4 (token, nonce and params shared). */
const SDK_TOKEN = 'Y2Q2ZDgxZmY5YWRiOTI5YmQ1Njg0MTAxZWIyOTc4';
const SDK_NONCE = '31627761595286130198';
const SDK_PARAMS = {
  Direction: 'outbound',
  From: '19792014278',
  ALegUUID: '3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36',
  CallStatus: 'in-progress',
  BillRate: '0.002',
  ParentAuthID: 'MANWVLYTK4ZWU1YTY4QA',
  To: 'sip:PlivoSignature382029104058171078704104@phone-qa.voice.plivodev.com',
  ALegRequestUUID: '3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36',
  CallUUID: '3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36',
  RequestUUID: '3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36',
  'SIP-H-To': '<sip:PlivoSignature382029104058171078704104@52.9.11.55;transport=udp>;tag=1',
  SessionStart: '2020-04-08 11:34:33.238707',
  Event: 'StartApp',
};
const SDK_URL = 'https://plivobin.non-prod.plivops.com/api/v1/validate_signature03.xml';

describe('Plivo V3 signature: plivo-go published vectors', () => {
  it.each([
    ['POST with a query', 'POST', `${SDK_URL}/?a=b&c=d`, 'k7Pusd4OxCIjR5IfA9iedDNu/h/gbdYqdzG/MiYtd1c='],
    ['GET with a query', 'GET', `${SDK_URL}/?a=b&c=d`, 'UBq8jAtd32wR8EK9VgxbBn4n5rpI/l1H9iN4WfSEHFQ='],
    ['POST without a query', 'POST', SDK_URL, 'iAjE5QqI37mbkYe4w3jTMudqEzbDufdqi7sYwTu64e0='],
    ['GET without a query', 'GET', SDK_URL, 'i/MQsaQSAd6fiKhOh2qeeeLHZ9faldADSb3/7+Akfbc='],
  ])('%s', (_, method, url, expected) => {
    expect(plivoV3Signature(SDK_TOKEN, method, url, SDK_NONCE, Object.entries(SDK_PARAMS))).toBe(expected);
  });

  it('a POST vector through the provider: the signature passes, but a voice callback is not a message (400)', () => {
    const req = request(SDK_URL, SDK_PARAMS, {
      'x-plivo-signature-v3': 'iAjE5QqI37mbkYe4w3jTMudqEzbDufdqi7sYwTu64e0=',
      'x-plivo-signature-v3-nonce': SDK_NONCE,
    });
    expect(plivo.inbound!.verify(req, { auth_token: SDK_TOKEN }, NOW)).toMatchObject({ ok: false, status: 400 });
    expect(plivo.inbound!.verify(req, { auth_token: 'another' }, NOW)).toMatchObject({ ok: false, status: 401 });
  });
});

function request(url: string, params: Record<string, string>, headers: Record<string, string | undefined>): InboundRequest {
  return {
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    rawBody: Buffer.from(new URLSearchParams(params).toString()),
  };
}

// A POST to a URL without a query, written out independently of src/providers.
function sign(token: string, url: string, nonce: string, params: Record<string, string>) {
  const pairs = Object.keys(params)
    .sort()
    .map((key) => key + params[key])
    .join('');
  return createHmac('sha256', token).update(`${url}?${pairs}.${nonce}`).digest('base64');
}

const TOKEN = 'ZDA1NjJhYmQ0ZjNiNzk4ZGM2NGZh';
const URL_ = 'https://cp.example.com/hooks/plivo/tok_abc';
const NONCE = '05429567804466091622';
const STATUS = {
  MessageUUID: 'db3ce55a-7f1d-11e1-8ea7-1231380bc196',
  Status: 'delivered',
  From: '14155550100',
  To: '14155550111',
  Units: '1',
};
const INCOMING = {
  MessageUUID: '5a1c1a0c-7f1d-11e1-8ea7-1231380bc196',
  Text: 'Oi + tudo bem?',
  Type: 'sms',
  From: '14155550111',
  To: '14155550100',
};

const signed = (params: Record<string, string>, signature = sign(TOKEN, URL_, NONCE, params)) =>
  request(URL_, params, { 'x-plivo-signature-v3': signature, 'x-plivo-signature-v3-nonce': NONCE });
const verify = (req: InboundRequest, credentials: Record<string, string> = { auth_token: TOKEN }) =>
  plivo.inbound!.verify(req, credentials, NOW);

describe('plivo inbound', () => {
  it('turns a status callback into message.<status> with id <uuid>:<status>', () => {
    expect(verify(signed(STATUS))).toEqual({
      ok: true,
      events: [{ id: `${STATUS.MessageUUID}:delivered`, type: 'message.delivered', payload: STATUS }],
    });
  });

  it('turns an incoming message into message.received with the MessageUUID as id', () => {
    expect(verify(signed(INCOMING))).toEqual({
      ok: true,
      events: [{ id: INCOMING.MessageUUID, type: 'message.received', payload: INCOMING }],
    });
  });

  it('accepts any of several comma-separated signatures, and the Ma-V3 header', () => {
    const good = sign(TOKEN, URL_, NONCE, STATUS);
    const other = sign('rotated-token', URL_, NONCE, STATUS);
    expect(verify(signed(STATUS, `${other}, ${good}`))).toMatchObject({ ok: true });
    const ma = request(URL_, STATUS, {
      'x-plivo-signature-v3': other,
      'x-plivo-signature-ma-v3': good,
      'x-plivo-signature-v3-nonce': NONCE,
    });
    expect(verify(ma)).toMatchObject({ ok: true });
  });

  it.each([
    ['a tampered body', signed({ ...STATUS, Status: 'failed' }, sign(TOKEN, URL_, NONCE, STATUS))],
    ['another token', signed(STATUS, sign('another-token', URL_, NONCE, STATUS))],
    [
      'another nonce',
      request(URL_, STATUS, {
        'x-plivo-signature-v3': sign(TOKEN, URL_, NONCE, STATUS),
        'x-plivo-signature-v3-nonce': '1',
      }),
    ],
    ['a missing signature', request(URL_, STATUS, { 'x-plivo-signature-v3-nonce': NONCE })],
    ['a missing nonce', request(URL_, STATUS, { 'x-plivo-signature-v3': sign(TOKEN, URL_, NONCE, STATUS) })],
  ])('refuses %s with 401', (_, req) => {
    expect(verify(req)).toMatchObject({ ok: false, status: 401 });
  });

  it('answers 400 to a JSON body or a signed form that is not a message callback', () => {
    const json: InboundRequest = {
      ...signed(STATUS),
      headers: { ...signed(STATUS).headers, 'content-type': 'application/json' },
    };
    expect(verify(json)).toMatchObject({ ok: false, status: 400 });
    expect(verify(signed({ CallUUID: 'c1', CallStatus: 'completed' }))).toMatchObject({ ok: false, status: 400 });
  });

  it('answers 401 when the integration has no auth_token', () => {
    expect(verify(signed(STATUS), {})).toEqual({
      ok: false,
      status: 401,
      reason: 'no auth_token configured for this integration',
    });
  });
});
