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

export function generateApiKey(): NewApiKey {
  const body = base62(BigInt(`0x${randomBytes(32).toString('hex')}`), BODY_LENGTH);
  const secret = `${PREFIX}${body}${checksum(body)}`;
  return { secret, prefix: secret.slice(0, PREFIX.length + 8), secretHash: hashApiKey(secret) };
}

/** True when the string has the key format and its checksum matches. */
export function isWellFormedApiKey(secret: string): boolean {
  if (secret.length !== PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH || !secret.startsWith(PREFIX)) return false;
  const body = secret.slice(PREFIX.length, PREFIX.length + BODY_LENGTH);
  if (![...body].every((c) => ALPHABET.includes(c))) return false;
  return checksum(body) === secret.slice(PREFIX.length + BODY_LENGTH);
}
