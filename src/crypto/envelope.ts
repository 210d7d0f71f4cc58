/**
 * Envelope encryption. Each record gets a fresh 256-bit data key; the data key encrypts the
 * record (AES-256-GCM) and is itself encrypted ("wrapped") by the current key-encryption key.
 * Both layers authenticate the record's identity (`aad`, e.g. tenant and row id), so a
 * ciphertext copied onto another row, or another tenant's, fails to open. The KEK id is stored
 * so keys can be rotated: old KEKs keep unwrapping until every data key is re-wrapped.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './keyring.ts';

export interface Sealed {
  keyId: string;
  /** iv (12) | tag (16) | wrapped data key (32) */
  dataKey: Uint8Array;
  iv: Uint8Array;
  tag: Uint8Array;
  ciphertext: Uint8Array;
}

/**
 * Says nothing about the data, the key or the record: safe to log and to show. `keyId` is the
 * id of the key-encryption key the record names, when known (an id, never key material).
 */
export class DecryptionError extends Error {
  constructor(
    reason: string,
    public keyId?: string,
  ) {
    super(`could not decrypt: ${reason}`);
  }
}

/** A copy in an ArrayBuffer of its own, the form Prisma's Bytes columns take. */
export function ownBytes(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b);
}

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const DATA_KEY_BYTES = 32;

function encrypt(key: Uint8Array, plaintext: Uint8Array, aad: Buffer, iv: Buffer = randomBytes(IV_BYTES)) {
  const cipher = createCipheriv(ALGORITHM, key, iv);
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ciphertext };
}

function decrypt(key: Uint8Array, iv: Uint8Array, tag: Uint8Array, ciphertext: Uint8Array, aad: Buffer): Buffer {
  // A shortened tag would make forgery feasible: only full-length tags and IVs are accepted.
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new DecryptionError('malformed envelope');
  try {
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new DecryptionError('authentication failed');
  }
}

function wrapAad(aad: string, keyId: string) {
  return Buffer.from(`dk|${keyId}|${aad}`);
}

export function seal(keyring: Keyring, plaintext: Uint8Array, aad: string): Sealed {
  // the data key and both IVs from one draw of the CSPRNG (one call instead of three per record)
  const random = randomBytes(DATA_KEY_BYTES + 2 * IV_BYTES);
  const dataKey = random.subarray(0, DATA_KEY_BYTES);
  const kek = keyring.current;
  const body = encrypt(dataKey, plaintext, Buffer.from(aad), random.subarray(DATA_KEY_BYTES, DATA_KEY_BYTES + IV_BYTES));
  const wrapped = encrypt(kek.key, dataKey, wrapAad(aad, kek.id), random.subarray(DATA_KEY_BYTES + IV_BYTES));
  dataKey.fill(0);
  return {
    keyId: kek.id,
    dataKey: Buffer.concat([wrapped.iv, wrapped.tag, wrapped.ciphertext]),
    ...body,
  };
}

function unwrapDataKey(keyring: Keyring, sealed: Pick<Sealed, 'keyId' | 'dataKey'>, aad: string): Buffer {
  const kek = keyring.byId.get(sealed.keyId);
  if (!kek) throw new DecryptionError(`key "${sealed.keyId}" is not in the keyring`, sealed.keyId);
  const d = sealed.dataKey;
  try {
    return decrypt(
      kek.key,
      d.subarray(0, IV_BYTES),
      d.subarray(IV_BYTES, IV_BYTES + TAG_BYTES),
      d.subarray(IV_BYTES + TAG_BYTES),
      wrapAad(aad, sealed.keyId),
    );
  } catch (err) {
    if (err instanceof DecryptionError) err.keyId = sealed.keyId;
    throw err;
  }
}

export function open(keyring: Keyring, sealed: Sealed, aad: string): Buffer {
  const dataKey = unwrapDataKey(keyring, sealed, aad);
  try {
    return decrypt(dataKey, sealed.iv, sealed.tag, sealed.ciphertext, Buffer.from(aad));
  } catch (err) {
    if (err instanceof DecryptionError) err.keyId = sealed.keyId;
    throw err;
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Whether the keyring unwraps a record's data key: its key-encryption key is in the keyring and
 * is the one that wrapped it. The record itself is not decrypted.
 */
export function unwraps(keyring: Keyring, sealed: Pick<Sealed, 'keyId' | 'dataKey'>, aad: string): boolean {
  try {
    unwrapDataKey(keyring, sealed, aad).fill(0);
    return true;
  } catch (err) {
    if (err instanceof DecryptionError) return false;
    throw err;
  }
}

/**
 * Re-wraps a record's data key under the current KEK without touching the record's ciphertext
 * (key rotation: the plaintext is never decrypted).
 */
export function rewrap(keyring: Keyring, sealed: Sealed, aad: string): Sealed {
  if (sealed.keyId === keyring.current.id) return sealed;
  const dataKey = unwrapDataKey(keyring, sealed, aad);
  const kek = keyring.current;
  const wrapped = encrypt(kek.key, dataKey, wrapAad(aad, kek.id));
  dataKey.fill(0);
  return { ...sealed, keyId: kek.id, dataKey: Buffer.concat([wrapped.iv, wrapped.tag, wrapped.ciphertext]) };
}
