import { createHash, sign as ecdsaSign, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sendgrid, sendgridPublicKey, sendgridSignatureValid } from '../../src/providers/sendgrid.ts';
import type { InboundRequest } from '../../src/providers/types.ts';

/** sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js. */
const OFFICIAL = {
  publicKey: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==',
  signature: 'MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=',
  timestamp: '1588788367',
  payload: '{"category":"example_payload","event":"test_event","message_id":"message_id"}',
};

function request(body: string, signature: string | undefined, timestamp: string | undefined): InboundRequest {
  return {
    method: 'POST',
    url: 'https://cp.example.com/hooks/sendgrid/tok',
    headers: {
      'content-type': 'application/json',
      'x-twilio-email-event-webhook-signature': signature,
      'x-twilio-email-event-webhook-timestamp': timestamp,
    },
    rawBody: Buffer.from(body),
  };
}

describe('SendGrid signature: the official vector', () => {
  const key = sendgridPublicKey(OFFICIAL.publicKey)!;

  it('verifies, and fails for any other payload, timestamp or key', () => {
    const { timestamp, payload, signature } = OFFICIAL;
    expect(sendgridSignatureValid(key, timestamp, Buffer.from(payload), signature)).toBe(true);
    expect(sendgridSignatureValid(key, timestamp, Buffer.from(payload.replace('test', 'tost')), signature)).toBe(false);
    expect(sendgridSignatureValid(key, '1588788368', Buffer.from(payload), signature)).toBe(false);
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(sendgridSignatureValid(otherKey, timestamp, Buffer.from(payload), signature)).toBe(false);
    expect(sendgridSignatureValid(key, timestamp, Buffer.from(payload), 'not a signature')).toBe(false);
  });

  it('through the provider: the signature passes at its own time, but a lone object is not an event array (400)', () => {
    const req = request(OFFICIAL.payload, OFFICIAL.signature, OFFICIAL.timestamp);
    const credentials = { webhook_verification_key: OFFICIAL.publicKey };
    const at = new Date(Number(OFFICIAL.timestamp) * 1000);
    expect(sendgrid.inbound!.verify(req, credentials, at)).toMatchObject({ ok: false, status: 400 });
    expect(sendgrid.inbound!.verify(req, credentials, new Date())).toMatchObject({ ok: false, status: 401 });
  });
});

describe('sendgrid inbound', () => {
  // Signed here with node:crypto directly, as SendGrid signs: ECDSA P-256, SHA-256, DER.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const KEY = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const NOW = new Date('2025-03-10T12:00:00Z');
  const T = String(NOW.getTime() / 1000);
  const EVENTS = [
    {
      email: 'a@example.com',
      timestamp: 1741608000,
      event: 'delivered',
      sg_event_id: 'ZGVsaXZlcmVk',
      sg_message_id: 'm1',
    },
    { email: 'b@example.com', timestamp: 1741608001, event: 'open', sg_event_id: 'b3Blbg', sg_message_id: 'm2' },
    { email: 'c@example.com', timestamp: 1741608002, event: 'bounce', sg_message_id: 'm3' },
  ];
  const BODY = JSON.stringify(EVENTS);
  const sign = (t: string, body: string, key = privateKey) =>
    ecdsaSign('sha256', Buffer.from(t + body), { key, dsaEncoding: 'der' }).toString('base64');
  const verify = (req: InboundRequest, credentials: Record<string, string> = { webhook_verification_key: KEY }) =>
    sendgrid.inbound!.verify(req, credentials, NOW);

  it('relays one event per array item: id sg_event_id (derived when absent), type event', () => {
    const derived = `${createHash('sha256').update(BODY).digest('hex')}:2`;
    expect(verify(request(BODY, sign(T, BODY), T))).toEqual({
      ok: true,
      events: [
        { id: 'ZGVsaXZlcmVk', type: 'delivered', payload: EVENTS[0] },
        { id: 'b3Blbg', type: 'open', payload: EVENTS[1] },
        { id: derived, type: 'bounce', payload: EVENTS[2] },
      ],
    });
  });

  it.each([
    ['a tampered body', () => request(BODY.replace('open', 'click'), sign(T, BODY), T)],
    ['another key', () => request(BODY, sign(T, BODY, other), T)],
    ['a changed timestamp header', () => request(BODY, sign(T, BODY), String(Number(T) + 1))],
    ['a missing signature', () => request(BODY, undefined, T)],
    ['a missing timestamp', () => request(BODY, sign(T, BODY), undefined)],
  ])('refuses %s with 401', (_, req) => {
    expect(verify(req())).toMatchObject({ ok: false, status: 401 });
  });

  it('allows 300 s of skew either way and refuses more', () => {
    for (const skew of [-300, 300]) {
      const t = String(Number(T) + skew);
      expect(verify(request(BODY, sign(t, BODY), t))).toMatchObject({ ok: true });
    }
    for (const skew of [-301, 301]) {
      const t = String(Number(T) + skew);
      expect(verify(request(BODY, sign(t, BODY), t))).toMatchObject({
        ok: false,
        status: 401,
        reason: expect.stringContaining('300 s'),
      });
    }
  });

  it('answers 400 to a signed body that is not an array of events', () => {
    for (const body of ['[{"event":', '{"event":"delivered"}', '[{"sg_event_id":"x"}]', '["delivered"]']) {
      expect(verify(request(body, sign(T, body), T))).toMatchObject({ ok: false, status: 400 });
    }
  });

  it('answers 401 when no verification key is configured, or it is not a public key', () => {
    const req = request(BODY, sign(T, BODY), T);
    expect(verify(req, {})).toEqual({
      ok: false,
      status: 401,
      reason: 'no webhook_verification_key configured for this integration',
    });
    expect(verify(req, { webhook_verification_key: 'bm90IGEga2V5' })).toMatchObject({ ok: false, status: 401 });
  });
});
