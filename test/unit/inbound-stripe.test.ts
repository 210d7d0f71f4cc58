import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stripe } from '../../src/providers/stripe.ts';
import type { InboundRequest } from '../../src/providers/types.ts';

// Written out here, independently of src/providers/inbound/crypto.ts.
const SECRET = 'whsec_test_2f8a9c0e1b7d4c3a';
const NOW = new Date('2025-03-10T12:00:00Z');
const T = Math.floor(NOW.getTime() / 1000);
const EVENT = { id: 'evt_1Qx', object: 'event', type: 'payment_intent.succeeded', data: { object: { id: 'pi_1' } } };
const BODY = JSON.stringify(EVENT);

const v1 = (t: number, body: string, secret = SECRET) => createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');

function request(signature: string | undefined, body = BODY): InboundRequest {
  return {
    method: 'POST',
    url: 'https://cp.example.com/hooks/stripe/tok',
    headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature },
    rawBody: Buffer.from(body),
  };
}

const verify = (req: InboundRequest, credentials: Record<string, string> = { webhook_secret: SECRET }, now = NOW) =>
  stripe.inbound!.verify(req, credentials, now);

describe('stripe inbound', () => {
  it('accepts a valid signature and relays the event with its own id and type', () => {
    expect(verify(request(`t=${T},v1=${v1(T, BODY)}`))).toEqual({
      ok: true,
      events: [{ id: 'evt_1Qx', type: 'payment_intent.succeeded', payload: EVENT }],
    });
  });

  it('accepts when any of several v1 signatures matches, ignoring v0', () => {
    const header = `t=${T},v1=${v1(T, BODY, 'whsec_old')},v0=${'0'.repeat(64)},v1=${v1(T, BODY)}`;
    expect(verify(request(header))).toMatchObject({ ok: true });
  });

  it('signs the raw bytes: a re-serialised body with the same meaning fails', () => {
    const spaced = JSON.stringify(EVENT, null, 2);
    expect(verify(request(`t=${T},v1=${v1(T, BODY)}`, spaced))).toMatchObject({ ok: false, status: 401 });
  });

  it.each([
    ['a tampered body', `t=${T},v1=${v1(T, BODY)}`, BODY.replace('succeeded', 'canceled')],
    ['another secret', `t=${T},v1=${v1(T, BODY, 'whsec_other')}`, BODY],
    ['a signature over another timestamp', `t=${T + 1},v1=${v1(T, BODY)}`, BODY],
    ['no v1', `t=${T},v0=${v1(T, BODY)}`, BODY],
    ['no t', `v1=${v1(T, BODY)}`, BODY],
    ['garbage', 'nonsense', BODY],
  ])('refuses %s with 401', (_, header, body) => {
    expect(verify(request(header, body))).toMatchObject({ ok: false, status: 401 });
  });

  it('refuses a missing header with 401', () => {
    expect(verify(request(undefined))).toEqual({ ok: false, status: 401, reason: 'missing Stripe-Signature header' });
  });

  it('allows 300 s of skew either way and refuses more', () => {
    for (const skew of [-300, 300]) {
      expect(verify(request(`t=${T + skew},v1=${v1(T + skew, BODY)}`))).toMatchObject({ ok: true });
    }
    for (const skew of [-301, 301]) {
      const result = verify(request(`t=${T + skew},v1=${v1(T + skew, BODY)}`));
      expect(result).toMatchObject({ ok: false, status: 401, reason: expect.stringContaining('300 s') });
    }
  });

  it('answers 400 to a correctly signed body that is not a Stripe event', () => {
    for (const body of ['{not json', '[]', '{"object":"event"}']) {
      expect(verify(request(`t=${T},v1=${v1(T, body)}`, body))).toMatchObject({ ok: false, status: 400 });
    }
  });

  it('answers 401 when the integration has no webhook_secret, naming the field only', () => {
    expect(verify(request(`t=${T},v1=${v1(T, BODY)}`), {})).toEqual({
      ok: false,
      status: 401,
      reason: 'no webhook_secret configured for this integration',
    });
  });

  it('never puts the secret or the signature in a reason', () => {
    const signature = v1(T, BODY, 'whsec_other');
    const result = verify(request(`t=${T},v1=${signature}`));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).not.toMatch(new RegExp(`${SECRET}|${signature}`));
  });
});
