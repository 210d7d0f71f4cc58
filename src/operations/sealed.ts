/**
 * An operation's input and result at rest: each a JSON document in an envelope of its own
 * (src/crypto/envelope.ts), bound to the operation's tenant, id and part, so neither can be
 * moved to another operation or read as the other part. Only the worker (to call the provider)
 * and the operation's own reads open them; they are never logged.
 */
import { open, ownBytes, type Sealed, seal } from '../crypto/envelope.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Operation } from '../generated/prisma/client.ts';

export type OperationPart = 'input' | 'result';

export function operationAad(tenantId: string, operationId: string, part: OperationPart) {
  return `operation-${part}|${tenantId}|${operationId}`;
}

type PartColumns<P extends OperationPart> = {
  [K in `${P}KeyId` | `${P}DataKey` | `${P}Iv` | `${P}Tag` | `${P}Ciphertext`]: K extends `${P}KeyId`
    ? string | null
    : Uint8Array<ArrayBuffer> | null;
};

/** The columns that store `value` sealed as the operation's `part`. */
export function sealPart<P extends OperationPart>(
  keyring: Keyring,
  part: P,
  tenantId: string,
  operationId: string,
  value: Record<string, unknown>,
): PartColumns<P> {
  const s = seal(keyring, Buffer.from(JSON.stringify(value)), operationAad(tenantId, operationId, part));
  return {
    [`${part}KeyId`]: s.keyId,
    [`${part}DataKey`]: ownBytes(s.dataKey),
    [`${part}Iv`]: ownBytes(s.iv),
    [`${part}Tag`]: ownBytes(s.tag),
    [`${part}Ciphertext`]: ownBytes(s.ciphertext),
  } as PartColumns<P>;
}

/** The columns that remove a part (retention). */
export function clearedPart<P extends OperationPart>(part: P): PartColumns<P> {
  return {
    [`${part}KeyId`]: null,
    [`${part}DataKey`]: null,
    [`${part}Iv`]: null,
    [`${part}Tag`]: null,
    [`${part}Ciphertext`]: null,
  } as PartColumns<P>;
}

/** The envelope of a part, or null when there is none (no result yet, or purged). */
export function sealedPart(row: Operation, part: OperationPart): Sealed | null {
  const keyId = row[`${part}KeyId`];
  const dataKey = row[`${part}DataKey`];
  const iv = row[`${part}Iv`];
  const tag = row[`${part}Tag`];
  const ciphertext = row[`${part}Ciphertext`];
  return keyId && dataKey && iv && tag && ciphertext ? { keyId, dataKey, iv, tag, ciphertext } : null;
}

/** Opens a part; null when there is none. Throws DecryptionError when it does not open. */
export function openPart(keyring: Keyring, row: Operation, part: OperationPart): Record<string, unknown> | null {
  const sealed = sealedPart(row, part);
  if (!sealed) return null;
  return JSON.parse(open(keyring, sealed, operationAad(row.tenantId, row.id, part)).toString('utf8')) as Record<string, unknown>;
}
