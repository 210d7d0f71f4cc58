/**
 * API key format: `icp_` + 40 base62 random characters (~238 bits) + 6 base62 characters of a
 * CRC32 of them. The checksum lets malformed or mistyped keys (and secret scanners' false
 * positives) be rejected without a database lookup. Only the SHA-256 of a key is stored: keys
 * are high-entropy, so a fast hash is safe and lets the lookup be one unique-index probe.
 */
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

const PREFIX = 'icp_';
const BODY_LENGTH = 40;
const CHECKSUM_LENGTH = 6;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(value: bigint, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out;
}

function checksum(body: string): string {
  return base62(BigInt(crc32(body)), CHECKSUM_LENGTH);
}

export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export interface NewApiKey {
  secret: string;
  /** Shown in listings to tell keys apart; not enough to use the key. */
  prefix: string;
  secretHash: string;
}

/** A secret of this format under another prefix (connect session tokens use `icp_cs_`). */
export function generateSecret(prefix: string): string {
  const body = base62(BigInt(`0x${randomBytes(32).toString('hex')}`), BODY_LENGTH);
  return `${prefix}${body}${checksum(body)}`;
}

export function generateApiKey(): NewApiKey {
  const secret = generateSecret(PREFIX);
  return { secret, prefix: secret.slice(0, PREFIX.length + 8), secretHash: hashApiKey(secret) };
}

/** True when the string has the format under `prefix` and its checksum matches. */
export function isWellFormedSecret(secret: string, prefix: string): boolean {
  if (secret.length !== prefix.length + BODY_LENGTH + CHECKSUM_LENGTH || !secret.startsWith(prefix)) return false;
  const body = secret.slice(prefix.length, prefix.length + BODY_LENGTH);
  if (![...body].every((c) => ALPHABET.includes(c))) return false;
  return checksum(body) === secret.slice(prefix.length + BODY_LENGTH);
}

/** True when the string has the key format and its checksum matches. */
export function isWellFormedApiKey(secret: string): boolean {
  return isWellFormedSecret(secret, PREFIX);
}
