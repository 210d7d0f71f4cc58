/**
 * The primitives every inbound signature check is built from.
 *
 * Policy: a received signature is compared with `timingSafeEqual`, so how long a comparison
 * takes tells a forger nothing about how many of its bytes were right. Unequal lengths return
 * false before comparing: that reveals only the length, which each scheme makes public anyway.
 * HMAC keys are the secret strings as the provider shows them (UTF-8), never decoded, as
 * Stripe, Twilio, DocuSign and Clicksign all specify.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type HmacDigest = 'sha1' | 'sha256';

/** Constant-time equality (strings as UTF-8 bytes); false when the lengths differ. */
export function safeEqual(a: Buffer | string, b: Buffer | string): boolean {
  const x = typeof a === 'string' ? Buffer.from(a) : a;
  const y = typeof b === 'string' ? Buffer.from(b) : b;
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * True when any candidate equals `expected`. Every candidate is compared, so the time taken
 * does not say which one (if any) matched.
 */
export function matchesAny(expected: string, candidates: Iterable<string>): boolean {
  let matched = false;
  for (const candidate of candidates) {
    if (safeEqual(expected, candidate)) matched = true;
  }
  return matched;
}

/** HMAC of the parts, concatenated byte for byte, keyed with `key` as given. */
export function hmac(digest: HmacDigest, key: string, ...parts: (Buffer | string)[]): Buffer {
  const mac = createHmac(digest, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** Lower-case hex SHA-256; also the last-resort id of a callback, so a resend is a duplicate. */
export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
