import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { portVariants, twilioSignature, verifyTwilioRequest } from '../../src/providers/inbound/twilio-signature.ts';
import { twilio } from '../../src/providers/twilio.ts';
import type { InboundRequest, ProviderDefinition } from '../../src/providers/types.ts';
import { whatsappTwilio } from '../../src/providers/whatsapp-twilio.ts';

const NOW = new Date('2025-03-10T12:00:00Z');
const FORM = 'application/x-www-form-urlencoded';

/** Twilio's published example (twilio.com/docs/usage/security; api-snippets). */
const VECTOR_PARAMS = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+14158675310',
  Digits: '1234',
  From: '+14158675310',
  To: '+18005551212',
};

// The algorithm written out independently of src/providers/inbound.
function sign(token: string, url: string, params: Record<string, string> = {}) {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], url);
  return createHmac('sha1', token).update(data).digest('base64');
}

function formRequest(url: string, params: Record<string, string>, signature: string | undefined): InboundRequest {
  return {
    method: 'POST',
    url,
    headers: { 'content-type': FORM, 'x-twilio-signature': signature },
    rawBody: Buffer.from(new URLSearchParams(params).toString()),
  };
}

function jsonRequest(url: string, body: string, signature: string | undefined): InboundRequest {
  return {
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', 'x-twilio-signature': signature },
    rawBody: Buffer.from(body),
  };
}

describe('Twilio signature: published vectors (token 12345)', () => {
  it.each([
    ['A (current docs)', 'https://mycompany.com/myapp.php?foo=1&bar=2', VECTOR_PARAMS, 'GvWf1cFY/Q7PnoempGyD5oXAezc='],
    ['B (docs walkthrough)', 'https://example.com/myapp.php?foo=1&bar=2', VECTOR_PARAMS, 'L/OH5YylLD5NRKLltdqwSvS0BnU='],
    [
      'C (api-snippets 2.x)',
      'https://mycompany.com/myapp.php?foo=1&bar=2',
      { ...VECTOR_PARAMS, Caller: '+14158675309', From: '+14158675309' },
      'RSOYDt4T1cUTdK1PDd93/VVr8B8=',
    ],
  ])('vector %s', (_, url, params, expected) => {
    expect(twilioSignature('12345', url, Object.entries(params))).toBe(expected);
    const verified = verifyTwilioRequest(formRequest(url, params, expected), '12345');
    expect(verified).toEqual({ ok: true, value: params });
  });

  it('vector A through the provider: the signature passes, but a voice callback is not a message (400)', () => {
    const req = formRequest('https://mycompany.com/myapp.php?foo=1&bar=2', VECTOR_PARAMS, 'GvWf1cFY/Q7PnoempGyD5oXAezc=');
    expect(twilio.inbound!.verify(req, { auth_token: '12345' }, NOW)).toMatchObject({ ok: false, status: 400 });
    expect(twilio.inbound!.verify(req, { auth_token: '54321' }, NOW)).toMatchObject({ ok: false, status: 401 });
  });

  it('JSON example: the URL carries the body hash and alone is signed', () => {
    const body = '{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}';
    const url = 'https://example.com/myapp?bodySHA256=5ccde7145dfb8f56479710896586cb9d5911809d83afbe34627818790db0aec9';
    expect(createHash('sha256').update(body).digest('hex')).toBe(new URL(url).searchParams.get('bodySHA256'));
    expect(twilioSignature('12345', url)).toBe('hPXmLwIy3Fgqv1i9KPmH/HhQ6zo=');
    expect(verifyTwilioRequest(jsonRequest(url, body, 'hPXmLwIy3Fgqv1i9KPmH/HhQ6zo='), '12345')).toEqual({
      ok: true,
      value: JSON.parse(body),
    });
    const tampered = body.replace('3030', '3031');
    expect(verifyTwilioRequest(jsonRequest(url, tampered, 'hPXmLwIy3Fgqv1i9KPmH/HhQ6zo='), '12345')).toMatchObject({
      ok: false,
      status: 401,
      reason: expect.stringContaining('bodySHA256'),
    });
  });
});

describe('Twilio signature: URL ports', () => {
  it('tries the URL as given, without its port and with the default port', () => {
    expect(portVariants('https://cp.example.com/hooks/twilio/t?x=1')).toEqual([
      'https://cp.example.com/hooks/twilio/t?x=1',
      'https://cp.example.com:443/hooks/twilio/t?x=1',
    ]);
    expect(portVariants('http://localhost:4000/h')).toEqual(['http://localhost:4000/h', 'http://localhost/h']);
  });
});

const TOKEN = '0123456789abcdef0123456789abcdef';
const URL_ = 'https://cp.example.com/hooks/twilio/tok_abc';

describe.each<[string, ProviderDefinition, string]>([
  ['twilio', twilio, '+14155550100'],
  ['whatsapp_twilio', whatsappTwilio, 'whatsapp:+14155550100'],
])('%s inbound', (_, provider, from) => {
  const verify = (req: InboundRequest, credentials: Record<string, string> = { auth_token: TOKEN }) =>
    provider.inbound!.verify(req, credentials, NOW);
  const status = {
    AccountSid: 'AC1',
    MessageSid: 'SM1',
    SmsSid: 'SM1',
    MessageStatus: 'delivered',
    SmsStatus: 'delivered',
    From: from,
    To: '+15550001111',
  };
  const incoming = {
    AccountSid: 'AC1',
    MessageSid: 'SM2',
    SmsSid: 'SM2',
    Body: 'Olá + 1 & 2',
    NumMedia: '0',
    From: from,
    To: '+15550001111',
  };

  it('turns a status callback into message.<status> with id <sid>:<status>', () => {
    expect(verify(formRequest(URL_, status, sign(TOKEN, URL_, status)))).toEqual({
      ok: true,
      events: [{ id: 'SM1:delivered', type: 'message.delivered', payload: status }],
    });
  });

  it('turns an incoming message into message.received with the MessageSid as id', () => {
    expect(verify(formRequest(URL_, incoming, sign(TOKEN, URL_, incoming)))).toEqual({
      ok: true,
      events: [{ id: 'SM2', type: 'message.received', payload: incoming }],
    });
  });

  it('accepts a JSON body signed through bodySHA256', () => {
    const body = JSON.stringify(status);
    const url = `${URL_}?bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
    expect(verify(jsonRequest(url, body, sign(TOKEN, url)))).toMatchObject({
      ok: true,
      events: [{ id: 'SM1:delivered' }],
    });
  });

  it('accepts a signature Twilio made over the URL with :443', () => {
    const signature = sign(TOKEN, URL_.replace('.com/', '.com:443/'), status);
    expect(verify(formRequest(URL_, status, signature))).toMatchObject({ ok: true });
  });

  it.each([
    ['a tampered body', { ...status, MessageStatus: 'failed' }, sign(TOKEN, URL_, status)],
    ['another token', status, sign('fedcba9876543210fedcba9876543210', URL_, status)],
    ['a signature for another URL', status, sign(TOKEN, `${URL_}x`, status)],
    ['a missing header', status, undefined],
  ])('refuses %s with 401', (_, params, signature) => {
    expect(verify(formRequest(URL_, params, signature))).toMatchObject({ ok: false, status: 401 });
  });

  it('refuses JSON whose URL has no bodySHA256 (its body is unsigned) or whose hash differs', () => {
    const body = JSON.stringify(status);
    expect(verify(jsonRequest(URL_, body, sign(TOKEN, URL_)))).toMatchObject({ ok: false, status: 401 });
    const url = `${URL_}?bodySHA256=${'0'.repeat(64)}`;
    expect(verify(jsonRequest(url, body, sign(TOKEN, url)))).toMatchObject({ ok: false, status: 401 });
  });

  it('answers 400 to a signed body that is not a message callback, bad JSON or another content type', () => {
    const bad = '{"MessageSid":';
    const url = `${URL_}?bodySHA256=${createHash('sha256').update(bad).digest('hex')}`;
    expect(verify(jsonRequest(url, bad, sign(TOKEN, url)))).toMatchObject({ ok: false, status: 400 });
    const voice = { CallSid: 'CA1', CallStatus: 'completed' };
    expect(verify(formRequest(URL_, voice, sign(TOKEN, URL_, voice)))).toMatchObject({ ok: false, status: 400 });
    const text: InboundRequest = {
      ...formRequest(URL_, status, sign(TOKEN, URL_)),
      headers: { 'content-type': 'text/plain', 'x-twilio-signature': 'x' },
    };
    expect(verify(text)).toMatchObject({ ok: false, status: 400 });
  });

  it('answers 401 when the integration has no auth_token', () => {
    expect(verify(formRequest(URL_, status, sign(TOKEN, URL_, status)), {})).toEqual({
      ok: false,
      status: 401,
      reason: 'no auth_token configured for this integration',
    });
  });
});
