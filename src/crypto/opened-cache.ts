/**
 * Envelopes the delivery worker opens on every attempt (signing secrets, static headers), each
 * opened once and kept: unwrapping two envelope layers per attempt is a measurable share of a
 * delivery's CPU. Entries are keyed by the record's context and GCM tag, which every new seal
 * changes (creation, rotation, an edit), so a change shows at once. A key-encryption key withdrawn
 * from ENCRYPTION_KEYS therefore stops serving only once what it opened has expired here.
 */
import { LRUCache } from 'lru-cache';
import { open, type Sealed } from './envelope.ts';
import type { Keyring } from './keyring.ts';

/** How long an opened envelope is kept. */
export const OPENED_TTL_MS = 5 * 60_000;

/** `open` then `decode`, remembered for OPENED_TTL_MS (at most 2,000 envelopes). Throws DecryptionError. */
export function cachedOpener<T extends {}>(keyring: Keyring, decode: (plaintext: Buffer) => T): (sealed: Sealed, context: string) => T {
  const opened = new LRUCache<string, T>({ max: 2000, ttl: OPENED_TTL_MS });
  return (sealed, context) => {
    const key = `${context}|${Buffer.from(sealed.tag).toString('base64')}`;
    let value = opened.get(key);
    if (value === undefined) {
      value = decode(open(keyring, sealed, context));
      opened.set(key, value);
    }
    return value;
  };
}
