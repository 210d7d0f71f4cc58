/**
 * Outbound delivery signatures, per Standard Webhooks (standardwebhooks.com, CONTRACT.md "Events
 * and webhook deliveries"): `webhook-signature` is `v1,<base64 HMAC-SHA256 of id.timestamp.body>`,
 * one per active secret, space-separated. The HMAC comes from the maintained `standardwebhooks`
 * library so our signatures match what receivers verify with the same library.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

const PREFIX = 'whsec_';
/** Svix accepts 24..64-byte keys; we generate 32, i.e. 256 bits, the strength of HMAC-SHA256. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const GENERATED_KEY_BYTES = 32;

export type SignatureHeaders = Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>;

export function generateSigningSecret(): string {
  return PREFIX + randomBytes(GENERATED_KEY_BYTES).toString('base64');
}

/** `whsec_` + canonical base64 of a 24..64-byte key. */
export function isSigningSecret(value: unknown): value is string {
  if (typeof value !== 'string' || !value.startsWith(PREFIX)) return false;
  const encoded = value.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return false;
  const key = Buffer.from(encoded, 'base64');
  // Buffer decoding is lenient; re-encoding catches bad padding and stray bits.
  return key.toString('base64') === encoded && key.length >= MIN_KEY_BYTES && key.length <= MAX_KEY_BYTES;
}

/**
 * Safe to show and log: identifies which secret is active (e.g. during a rotation) without
 * revealing it; 64 bits of SHA-256 over a 256-bit random secret cannot be inverted.
 */
export function secretFingerprint(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 16)}`;
}

/**
 * Headers for one delivery attempt. `secrets` lists the active secrets, newest first: during a
 * rotation's grace period the old one signs too, so receivers still holding it keep verifying.
 * `msgId` must be the same on every retry so receivers can deduplicate.
 */
export function signDelivery(args: { msgId: string; timestamp: Date; body: string; secrets: string[] }): SignatureHeaders {
  const { msgId, timestamp, body, secrets } = args;
  if (secrets.length === 0) throw new Error('signDelivery: no signing secret');
  if (Number.isNaN(timestamp.getTime())) throw new Error('signDelivery: invalid timestamp');
  // Never echo a secret in the error: it would end up in logs.
  if (!secrets.every(isSigningSecret)) throw new Error('signDelivery: a secret is not a whsec_ signing secret');
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(msgId, timestamp, body)).join(' '),
  };
}
