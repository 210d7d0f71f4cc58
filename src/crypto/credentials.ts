/**
 * Stored form of an integration's credentials: non-sensitive values in clear (they are
 * returned to clients), sensitive values sealed together in one envelope bound to the
 * integration's tenant and id. This module and the provider call are the only places that see
 * sensitive values in plaintext.
 */
import type { CredentialField, Credentials, CredentialValue } from '../providers/types.ts';
import { open, ownBytes, type Sealed, seal } from './envelope.ts';
import type { Keyring } from './keyring.ts';

export interface StoredCredentials {
  config: Record<string, CredentialValue>;
  secretKeys: string[];
  sealed: Sealed | null;
}

/** The integration's encrypted columns, as Prisma returns them. */
export interface SealedColumns {
  secretKeyId: string | null;
  secretDataKey: Uint8Array<ArrayBuffer> | null;
  secretIv: Uint8Array<ArrayBuffer> | null;
  secretTag: Uint8Array<ArrayBuffer> | null;
  secretCiphertext: Uint8Array<ArrayBuffer> | null;
}

export function credentialsAad(tenantId: string, integrationId: string) {
  return `integration-credentials|${tenantId}|${integrationId}`;
}

const bytes = (b: Uint8Array | undefined) => (b ? ownBytes(b) : null);

export function toColumns(sealed: Sealed | null): SealedColumns {
  return {
    secretKeyId: sealed?.keyId ?? null,
    secretDataKey: bytes(sealed?.dataKey),
    secretIv: bytes(sealed?.iv),
    secretTag: bytes(sealed?.tag),
    secretCiphertext: bytes(sealed?.ciphertext),
  };
}

export function fromColumns(row: SealedColumns): Sealed | null {
  const { secretKeyId, secretDataKey, secretIv, secretTag, secretCiphertext } = row;
  if (!secretKeyId || !secretDataKey || !secretIv || !secretTag || !secretCiphertext) return null;
  return { keyId: secretKeyId, dataKey: secretDataKey, iv: secretIv, tag: secretTag, ciphertext: secretCiphertext };
}

function openSecrets(keyring: Keyring, row: SealedColumns, aad: string): Record<string, CredentialValue> {
  const sealed = fromColumns(row);
  return sealed ? (JSON.parse(open(keyring, sealed, aad).toString('utf8')) as Record<string, CredentialValue>) : {};
}

function store(
  keyring: Keyring,
  schema: readonly CredentialField[],
  values: Record<string, CredentialValue>,
  aad: string,
): StoredCredentials {
  const config: Record<string, CredentialValue> = {};
  const secrets: Record<string, CredentialValue> = {};
  for (const field of schema) {
    const value = values[field.key];
    if (value === undefined) continue;
    (field.sensitive ? secrets : config)[field.key] = value;
  }
  const secretKeys = Object.keys(secrets).sort();
  const sealed = secretKeys.length ? seal(keyring, Buffer.from(JSON.stringify(secrets)), aad) : null;
  return { config, secretKeys, sealed };
}

/** Stores a complete, validated set of credentials. */
export function storeCredentials(
  keyring: Keyring,
  schema: readonly CredentialField[],
  values: Record<string, CredentialValue | null>,
  aad: string,
): StoredCredentials {
  const present = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null)) as Record<string, CredentialValue>;
  return store(keyring, schema, present, aad);
}

/**
 * Applies a validated patch (a key set to null is removed) to stored credentials. Secrets are
 * opened only when the patch touches a sensitive field; the result is sealed under a new data key.
 */
export function patchCredentials(
  keyring: Keyring,
  schema: readonly CredentialField[],
  current: { config: Record<string, CredentialValue>; secretKeys: string[] } & SealedColumns,
  patch: Record<string, CredentialValue | null>,
  aad: string,
): StoredCredentials & { changedKeys: string[] } {
  const sensitive = new Set(schema.filter((f) => f.sensitive).map((f) => f.key));
  const touchesSecrets = Object.keys(patch).some((k) => sensitive.has(k));
  const merged: Record<string, CredentialValue> = {
    ...current.config,
    ...(touchesSecrets ? openSecrets(keyring, current, aad) : {}),
  };
  const changedKeys: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      if (key in merged) changedKeys.push(key);
      delete merged[key];
    } else {
      if (merged[key] !== value) changedKeys.push(key);
      merged[key] = value;
    }
  }
  if (!touchesSecrets) {
    const stored = store(
      keyring,
      schema.filter((f) => !f.sensitive),
      merged,
      aad,
    );
    return { config: stored.config, secretKeys: current.secretKeys, sealed: fromColumns(current), changedKeys };
  }
  return { ...store(keyring, schema, merged, aad), changedKeys };
}

/** Every credential in plaintext, for the provider call only. */
export function revealCredentials(
  keyring: Keyring,
  row: { config: Record<string, CredentialValue> } & SealedColumns,
  aad: string,
): Credentials {
  return { ...row.config, ...openSecrets(keyring, row, aad) };
}

/**
 * The sealed secrets with `extra` values set beside them (values the service keeps for the
 * integration, such as a provider session), under a new data key; null when nothing is sealed.
 */
export function resealSecretsWith(
  keyring: Keyring,
  row: SealedColumns,
  extra: Record<string, CredentialValue>,
  aad: string,
): SealedColumns | null {
  if (!fromColumns(row)) return null;
  const secrets = { ...openSecrets(keyring, row, aad), ...extra };
  return toColumns(seal(keyring, Buffer.from(JSON.stringify(secrets)), aad));
}
