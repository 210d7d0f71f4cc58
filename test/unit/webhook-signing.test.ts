import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyringFromKeys } from '../../src/crypto/keyring.ts';
import type { Webhook } from '../../src/generated/prisma/client.ts';
import { sealSecret, signingSecrets, signingSecretsOpener } from '../../src/webhooks/secrets.ts';
import { generateSigningSecret, isSigningSecret, secretFingerprint, signDelivery } from '../../src/webhooks/signing.ts';
import { verifyStandardWebhook } from '../helpers/standard-webhooks.ts';

const NOW = new Date('2025-03-10T12:00:00.750Z');
const BODY = JSON.stringify({ type: 'integration.created', timestamp: NOW.toISOString(), data: { id: 'int_1' } });

function sign(secrets: string[], body = BODY, timestamp = NOW) {
  return signDelivery({ msgId: 'msg_2xYz', timestamp, body, secrets });
}

describe('generateSigningSecret', () => {
  it('is whsec_ + base64 of 32 random bytes, different each time', () => {
    const secrets = Array.from({ length: 20 }, generateSigningSecret);
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
      expect(isSigningSecret(secret)).toBe(true);
    }
    expect(new Set(secrets).size).toBe(secrets.length);
  });
});

describe('isSigningSecret', () => {
  const key = (bytes: number) => `whsec_${Buffer.alloc(bytes, 7).toString('base64')}`;

  it('accepts 24..64-byte keys', () => {
    expect([key(24), key(32), key(64)].map(isSigningSecret)).toEqual([true, true, true]);
  });

  it.each([
    ['too short', key(23)],
    ['too long', key(65)],
    ['no prefix', Buffer.alloc(32, 7).toString('base64')],
    ['wrong prefix', `whsek_${Buffer.alloc(32, 7).toString('base64')}`],
    ['bad base64', `whsec_!!!!${'A'.repeat(40)}`],
    ['bad padding', key(32).slice(0, -1)],
    ['empty key', 'whsec_'],
    ['not a string', 42],
  ])('refuses %s', (_, value) => {
    expect(isSigningSecret(value)).toBe(false);
  });
});

describe('secretFingerprint', () => {
  it('is stable, differs per secret and does not reveal the secret', () => {
    const a = generateSigningSecret();
    const b = generateSigningSecret();
    expect(secretFingerprint(a)).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(secretFingerprint(a)).toBe(secretFingerprint(a));
    expect(secretFingerprint(a)).not.toBe(secretFingerprint(b));
    const key = a.slice('whsec_'.length);
    expect(secretFingerprint(a)).not.toContain(key.slice(0, 8));
    expect(secretFingerprint(a)).not.toContain(Buffer.from(key, 'base64').toString('hex').slice(0, 8));
  });
});

describe('signDelivery', () => {
  const secret = generateSigningSecret();
  const other = generateSigningSecret();

  it('sets id, unix-seconds timestamp and one v1 signature', () => {
    const headers = sign([secret]);
    expect(headers['webhook-id']).toBe('msg_2xYz');
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(NOW.getTime() / 1000)));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('verifies with the independent receiver-side implementation', () => {
    const result = verifyStandardWebhook({ secret, headers: sign([secret]), body: BODY, now: NOW });
    expect(result).toEqual({ ok: true, id: 'msg_2xYz', timestamp: Math.floor(NOW.getTime() / 1000) });
  });

  it('during a rotation signs with both secrets, new first; each verifies on its own', () => {
    const headers = sign([secret, other]);
    const parts = headers['webhook-signature'].split(' ');
    expect(parts).toHaveLength(2);
    expect(parts[0]).toBe(sign([secret])['webhook-signature']);
    expect(parts[1]).toBe(sign([other])['webhook-signature']);
    for (const s of [secret, other]) {
      expect(verifyStandardWebhook({ secret: s, headers, body: BODY, now: NOW }).ok).toBe(true);
    }
  });

  it('a one-byte body change fails', () => {
    const tampered = BODY.replace('int_1', 'int_2');
    expect(tampered).toHaveLength(BODY.length);
    expect(verifyStandardWebhook({ secret, headers: sign([secret]), body: tampered, now: NOW })).toEqual({
      ok: false,
      reason: 'no matching v1 signature',
    });
  });

  it('a wrong secret fails', () => {
    expect(verifyStandardWebhook({ secret: other, headers: sign([secret]), body: BODY, now: NOW }).ok).toBe(false);
  });

  it('a timestamp more than 300 s away fails, either direction; 300 s passes', () => {
    const at = (offsetSeconds: number) => new Date(NOW.getTime() + offsetSeconds * 1000);
    const verifyAt = (signedAt: Date) => verifyStandardWebhook({ secret, headers: sign([secret], BODY, signedAt), body: BODY, now: NOW });
    expect(verifyAt(at(-300)).ok).toBe(true);
    expect(verifyAt(at(300)).ok).toBe(true);
    expect(verifyAt(at(-301))).toEqual({ ok: false, reason: 'timestamp outside tolerance' });
    expect(verifyAt(at(301))).toEqual({ ok: false, reason: 'timestamp outside tolerance' });
  });

  it('refuses no secrets and a malformed secret, without echoing it', () => {
    expect(() => sign([])).toThrow('no signing secret');
    const bad = 'sk_live_not_a_webhook_secret';
    expect(() => sign([secret, bad])).toThrow('not a whsec_ signing secret');
    const message = (() => {
      try {
        sign([bad]);
      } catch (err) {
        return (err as Error).message;
      }
      return 'did not throw';
    })();
    expect(message).toContain('signDelivery');
    expect(message).not.toContain(bad);
  });
});

describe('the receiver-side verifier (test helper)', () => {
  const secret = generateSigningSecret();
  const headers = sign([secret]);
  const signature = headers['webhook-signature'];
  const verify = (h: Record<string, string | string[] | undefined>) => verifyStandardWebhook({ secret, headers: h, body: BODY, now: NOW });

  it('reads header names case-insensitively and takes a one-element array', () => {
    const upper = {
      'Webhook-Id': headers['webhook-id'],
      'WEBHOOK-TIMESTAMP': [headers['webhook-timestamp']],
      'webhook-Signature': signature,
    };
    expect(verify(upper).ok).toBe(true);
  });

  it('skips other versions and only accepts v1', () => {
    expect(verify({ ...headers, 'webhook-signature': `v1a,${'A'.repeat(86)}== ${signature}` }).ok).toBe(true);
    expect(verify({ ...headers, 'webhook-signature': signature.replace('v1,', 'v2,') })).toEqual({
      ok: false,
      reason: 'no matching v1 signature',
    });
  });

  it('refuses missing, repeated and malformed headers', () => {
    expect(verify({ ...headers, 'webhook-id': undefined })).toEqual({ ok: false, reason: 'missing header' });
    expect(verify({ ...headers, 'webhook-signature': [signature, signature] })).toEqual({ ok: false, reason: 'repeated header' });
    expect(verify({ ...headers, 'webhook-timestamp': `${headers['webhook-timestamp']}.0` })).toEqual({
      ok: false,
      reason: 'invalid timestamp',
    });
  });
});

describe('known answers', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const msgId = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const timestamp = new Date(1614265330 * 1000);
  const body = '{"test": 2432232314}';

  it('matches an HMAC computed here with node:crypto', () => {
    const key = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64');
    const mac = createHmac('sha256', key).update('msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}').digest('base64');
    expect(signDelivery({ msgId, timestamp, body, secrets: [secret] })['webhook-signature']).toBe(`v1,${mac}`);
  });

  it('matches the published Standard Webhooks / Svix example vector', () => {
    expect(signDelivery({ msgId, timestamp, body, secrets: [secret] })).toEqual({
      'webhook-id': msgId,
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });
});

describe('signingSecretsOpener (the delivery worker’s kept secrets)', () => {
  const keyring = keyringFromKeys([{ id: 'k1', key: Buffer.alloc(32, 3) }]);
  const row = (tenantId: string, id: string, current: string, previous?: { secret: string; expiresAt: Date }) => {
    const sealed = sealSecret(keyring, tenantId, id, current);
    const prev = previous ? sealSecret(keyring, tenantId, id, previous.secret) : undefined;
    return {
      tenantId,
      id,
      ...sealed,
      previousSecretKeyId: prev?.secretKeyId ?? null,
      previousSecretDataKey: prev?.secretDataKey ?? null,
      previousSecretIv: prev?.secretIv ?? null,
      previousSecretTag: prev?.secretTag ?? null,
      previousSecretCiphertext: prev?.secretCiphertext ?? null,
      previousSecretExpiresAt: previous?.expiresAt ?? null,
    } as unknown as Webhook;
  };

  it('gives what signingSecrets gives, a rotated secret at once, and the previous one only during its grace', () => {
    const secretsOf = signingSecretsOpener(keyring);
    const [a, b, c] = [generateSigningSecret(), generateSigningSecret(), generateSigningSecret()];
    const first = row('t1', 'w1', a);
    expect(secretsOf(first, NOW)).toEqual([a]);
    expect(secretsOf(first, NOW)).toEqual(signingSecrets(keyring, first, NOW));
    // rotated: a new sealed secret, the old one kept for an hour
    const rotated = row('t1', 'w1', b, { secret: a, expiresAt: new Date(NOW.getTime() + 3600_000) });
    expect(secretsOf(rotated, NOW)).toEqual([b, a]);
    expect(secretsOf(rotated, new Date(NOW.getTime() + 3601_000))).toEqual([b]);
    // another webhook (even of the same tenant) never gets this one's secret
    expect(secretsOf(row('t1', 'w2', c), NOW)).toEqual([c]);
  });

  it('refuses a sealed secret moved to another webhook, as opening it directly does', () => {
    const secretsOf = signingSecretsOpener(keyring);
    const original = row('t1', 'w1', generateSigningSecret());
    secretsOf(original, NOW);
    const moved = { ...original, id: 'w2' } as Webhook;
    expect(() => secretsOf(moved, NOW)).toThrow();
  });
});
