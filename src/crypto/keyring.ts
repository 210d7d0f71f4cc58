/**
 * Key-encryption keys (KEKs). `ENCRYPTION_KEYS=id:base64,…` is a keyring whose first key wraps
 * new data keys and all of which unwrap; `ENCRYPTION_KEY=base64` is a one-key ring. On the
 * embedded default with neither set, a key is generated once into DATA_DIR (mode 0600).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { readOrCreateSecretFile } from './local-secret.ts';

export interface Kek {
  id: string;
  key: Buffer;
}

export interface Keyring {
  /** The key that wraps new data keys. */
  current: Kek;
  byId: ReadonlyMap<string, Kek>;
  /** Where the keys came from (`ENCRYPTION_KEYS`, `ENCRYPTION_KEY` or the key file), for messages. */
  source: string;
}

export class KeyringError extends Error {}

/** A key-encryption key's length, and a key id's form (the configuration's checks say the same: src/config-values.ts). */
export const KEY_BYTES = 32;
export const KEY_ID = /^[A-Za-z0-9_.-]{1,32}$/;

function decodeKey(base64: string, where: string): Buffer {
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new KeyringError(`${where}: a key must be ${KEY_BYTES} bytes of base64 (got ${key.length} bytes)`);
  }
  return key;
}

/** A stable id for a key given without one: the first 8 hex digits of its SHA-256. */
function fingerprintId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

export function keyringFromKeys(keys: Kek[], source = 'the keyring'): Keyring {
  const [current] = keys;
  if (!current) throw new KeyringError('the keyring is empty');
  const byId = new Map<string, Kek>();
  for (const k of keys) {
    if (byId.has(k.id)) throw new KeyringError(`ENCRYPTION_KEYS: key id "${k.id}" appears twice`);
    byId.set(k.id, k);
  }
  return { current, byId, source };
}

/** `ENCRYPTION_KEYS` wins over `ENCRYPTION_KEY`; returns undefined when neither is set. */
export function parseKeyring(env: { ENCRYPTION_KEYS?: string; ENCRYPTION_KEY?: string }): Keyring | undefined {
  if (env.ENCRYPTION_KEYS?.trim()) {
    const keys = env.ENCRYPTION_KEYS.split(',').map((entry, i) => {
      const at = entry.indexOf(':');
      if (at <= 0) throw new KeyringError(`ENCRYPTION_KEYS entry ${i + 1}: expected id:base64`);
      const id = entry.slice(0, at).trim();
      if (!KEY_ID.test(id)) {
        throw new KeyringError(`ENCRYPTION_KEYS entry ${i + 1}: key id must be 1-32 of [A-Za-z0-9_.-]`);
      }
      return { id, key: decodeKey(entry.slice(at + 1), `ENCRYPTION_KEYS entry ${i + 1}`) };
    });
    return keyringFromKeys(keys, 'ENCRYPTION_KEYS');
  }
  if (env.ENCRYPTION_KEY?.trim()) {
    const key = decodeKey(env.ENCRYPTION_KEY, 'ENCRYPTION_KEY');
    return keyringFromKeys([{ id: fingerprintId(key), key }], 'ENCRYPTION_KEY');
  }
  return undefined;
}

/**
 * The embedded default's key: read from DATA_DIR/encryption.key, or generated there once.
 * `onCreate` is told so the operator can be warned to back the file up.
 */
export async function loadOrCreateLocalKeyring(dataDir: string, onCreate: (file: string) => void): Promise<Keyring> {
  const base64 = await readOrCreateSecretFile(dataDir, 'encryption.key', KEY_BYTES, onCreate);
  const file = path.join(dataDir, 'encryption.key');
  const key = decodeKey(base64, file);
  return keyringFromKeys([{ id: fingerprintId(key), key }], file);
}
