/**
 * A receiver's view of a delivery: Standard Webhooks verification written straight from the spec
 * (github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md) with
 * node:crypto only. Deliberately independent of `standardwebhooks` and of src/, so a test that
 * signs with the server and verifies here checks two implementations against each other.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

type Headers = Record<string, string | string[] | undefined>;

export type Verification = { ok: true; id: string; timestamp: number } | { ok: false; reason: string };

/** Header names are case-insensitive; a repeated header is ambiguous and rejected. */
function header(headers: Headers, name: string): string | undefined | null {
  const entries = Object.entries(headers).filter(([key]) => key.toLowerCase() === name);
  const values = entries.flatMap(([, value]) => (value === undefined ? [] : Array.isArray(value) ? value : [value]));
  if (values.length > 1) return null;
  return values[0];
}

export function verifyStandardWebhook(args: {
  secret: string;
  headers: Headers;
  body: string;
  toleranceSeconds?: number;
  now?: Date;
}): Verification {
  const { secret, headers, body, toleranceSeconds = 300, now = new Date() } = args;
  const id = header(headers, 'webhook-id');
  const stamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (id === null || stamp === null || signatures === null) return { ok: false, reason: 'repeated header' };
  if (!id || !stamp || !signatures) return { ok: false, reason: 'missing header' };
  if (!/^\d+$/.test(stamp)) return { ok: false, reason: 'invalid timestamp' };
  const timestamp = Number(stamp);
  // Both directions: an old timestamp is a replay, a future one a clock problem or a forgery.
  if (Math.abs(Math.floor(now.getTime() / 1000) - timestamp) > toleranceSeconds) {
    return { ok: false, reason: 'timestamp outside tolerance' };
  }
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0 || key.toString('base64') !== encoded) return { ok: false, reason: 'invalid secret' };
  const expected = Buffer.from(createHmac('sha256', key).update(`${id}.${stamp}.${body}`).digest('base64'));
  for (const entry of signatures.split(' ')) {
    // Other versions (e.g. v1a, asymmetric) may sit beside v1; a v1 verifier skips them.
    if (!entry.startsWith('v1,')) continue;
    const candidate = Buffer.from(entry.slice('v1,'.length));
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) {
      return { ok: true, id, timestamp };
    }
  }
  return { ok: false, reason: 'no matching v1 signature' };
}
