/**
 * The start-up key check: the service does not become ready with a keyring that cannot read what
 * is stored (it would look healthy, then fail every verification, delivery and callback). Every key
 * id sealing a live record must be in the keyring, and each key must open its canary (`KeyCanary`);
 * a key without one yet must first open one of its records' data keys. Messages name key ids,
 * never a key. Rules for canaries: docs/security-model.md ("A wrong encryption key fails closed").
 */
import { transactionInRowScope } from '../db/row-security.ts';
import type { KeyCanary, PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../log.ts';
import { type OperationPart, operationAad, sealedPart } from '../operations/sealed.ts';
import { sealedHeaders, webhookHeadersAad } from '../webhooks/headers.ts';
import { currentSecret, previousSecret, webhookSecretAad } from '../webhooks/secrets.ts';
import { credentialsAad, fromColumns } from './credentials.ts';
import { DecryptionError, open, ownBytes, seal, unwraps } from './envelope.ts';
import { type Kek, type Keyring, keyringFromKeys } from './keyring.ts';

/** The keyring cannot read what is stored: the service must not start with it. */
export class KeyCheckError extends Error {}

type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];
type Log = Pick<Logger, 'info'>;

const CANARY_PLAINTEXT = 'integrations control plane key canary';
/** Records sampled per table when a key without a canary must show it opens its records. */
const SAMPLE = 3;
export const OPERATION_PARTS: readonly OperationPart[] = ['input', 'result'];
const KEY_ID_COLUMN = { input: '"inputKeyId"', result: '"resultKeyId"' } as const;

const canaryAad = (keyId: string) => `key-canary|${keyId}`;
const quoted = (ids: Iterable<string>) => [...ids].map((id) => `"${id}"`).join(', ');

/** Reads rows of every tenant, read-only (the `key_check` policies of the key_canary migration). */
function readEveryTenant<T>(prisma: PrismaClient, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return transactionInRowScope<Tx, T>(prisma, { maintenance: 'key-check' }, fn);
}

/** The key ids that seal live records (soft-deleted ones are never read again). */
async function sealingKeyIds(tx: Tx): Promise<Set<string>> {
  const rows = await tx.$queryRaw<{ keyId: string }[]>`
    SELECT "secretKeyId" AS "keyId" FROM "Integration" WHERE "secretKeyId" IS NOT NULL AND "deletedAt" IS NULL
    UNION SELECT "secretKeyId" FROM "Webhook" WHERE "deletedAt" IS NULL
    UNION SELECT "previousSecretKeyId" FROM "Webhook" WHERE "previousSecretKeyId" IS NOT NULL AND "deletedAt" IS NULL
    UNION SELECT "headersKeyId" FROM "Webhook" WHERE "headersKeyId" IS NOT NULL AND "deletedAt" IS NULL`;
  const ids = new Set(rows.map((r) => r.keyId));
  for (const part of OPERATION_PARTS) for (const id of await operationKeyIds(tx, part)) ids.add(id);
  return ids;
}

/**
 * The distinct key ids sealing operations' `part`, by a loose index scan of its partial index (one
 * probe per distinct id): operations are many and their keys few, so this costs the same for ten
 * rows or ten million. Soft-deleted operations count too (the index holds them; failing closed).
 */
export async function operationKeyIds(tx: Tx, part: OperationPart): Promise<string[]> {
  const column = KEY_ID_COLUMN[part];
  const rows = await tx.$queryRawUnsafe<{ keyId: string }[]>(`
    WITH RECURSIVE ids("keyId") AS (
      (SELECT ${column} FROM "Operation" WHERE ${column} IS NOT NULL ORDER BY 1 LIMIT 1)
      UNION ALL
      SELECT (SELECT ${column} FROM "Operation" WHERE ${column} > ids."keyId" ORDER BY 1 LIMIT 1) FROM ids WHERE ids."keyId" IS NOT NULL
    )
    SELECT "keyId" FROM ids WHERE "keyId" IS NOT NULL`);
  return rows.map((r) => r.keyId);
}

/** Whether `ring` unwraps the data key of any of a few operations whose `part` is sealed under `keyId`. */
async function unwrapsSampledOperations(tx: Tx, ring: Keyring, keyId: string, part: OperationPart): Promise<boolean> {
  // no ordering: the partial index on the key id column finds a few at once
  const where = part === 'input' ? { inputKeyId: keyId } : { resultKeyId: keyId };
  const rows = await tx.operation.findMany({ where, take: SAMPLE });
  return rows.some((row) => {
    const sealed = sealedPart(row, part);
    return sealed !== null && unwraps(ring, sealed, operationAad(row.tenantId, row.id, part));
  });
}

/** Whether `ring` (one key) unwraps the data key of any of a few live records sealed under `keyId`. */
async function unwrapsSampledRecords(tx: Tx, ring: Keyring, keyId: string): Promise<boolean> {
  const integrations = await tx.integration.findMany({
    where: { secretKeyId: keyId, deletedAt: null },
    take: SAMPLE,
    orderBy: { id: 'asc' },
  });
  for (const row of integrations) {
    const sealed = fromColumns(row);
    if (sealed && unwraps(ring, sealed, credentialsAad(row.tenantId, row.id))) return true;
  }
  const webhooks = await tx.webhook.findMany({
    where: { OR: [{ secretKeyId: keyId }, { previousSecretKeyId: keyId }, { headersKeyId: keyId }], deletedAt: null },
    take: SAMPLE,
    orderBy: { id: 'asc' },
  });
  const opensWebhook = webhooks.some((row) => {
    const aad = webhookSecretAad(row.tenantId, row.id);
    const previous = previousSecret(row);
    const headers = sealedHeaders(row);
    return (
      (row.secretKeyId === keyId && unwraps(ring, currentSecret(row), aad)) ||
      (previous?.keyId === keyId && unwraps(ring, previous, aad)) ||
      (headers?.keyId === keyId && unwraps(ring, headers, webhookHeadersAad(row.tenantId, row.id)))
    );
  });
  if (opensWebhook) return true;
  for (const part of OPERATION_PARTS) if (await unwrapsSampledOperations(tx, ring, keyId, part)) return true;
  return false;
}

function opensCanary(ring: Keyring, canary: KeyCanary): boolean {
  try {
    const plaintext = open(ring, { ...canary }, canaryAad(canary.keyId));
    return plaintext.toString('utf8') === CANARY_PLAINTEXT;
  } catch (err) {
    if (err instanceof DecryptionError) return false;
    throw err;
  }
}

function describeKeyring(keyring: Keyring): string {
  return `${keyring.source} (key id${keyring.byId.size > 1 ? 's' : ''} ${quoted(keyring.byId.keys())})`;
}

function missingKeys(keyring: Keyring, missing: string[]): KeyCheckError {
  return new KeyCheckError(
    `${describeKeyring(keyring)} cannot read the stored credentials, webhook signing secrets and operation payloads: ` +
      `they are sealed under key id${missing.length > 1 ? 's' : ''} ${quoted(missing)}, which it does not hold. ` +
      'Start with the key that sealed them (during a rotation ENCRYPTION_KEYS holds the new key first and the old ones after it, ' +
      'docs/configuration.md → Rotating the encryption key); refusing to start',
  );
}

function wrongKey(keyring: Keyring, keyId: string): KeyCheckError {
  return new KeyCheckError(
    `${describeKeyring(keyring)}: the key with id "${keyId}" is not the key that sealed the stored records under that id ` +
      '(it does not open them). Start with the key that sealed them (a key id names one key for good: give another key another id); refusing to start',
  );
}

/** Stores `kek`'s canary unless another instance stored one first; either way it must open. */
async function makeCanary(prisma: PrismaClient, keyring: Keyring, kek: Kek): Promise<void> {
  const ring = keyringFromKeys([kek], keyring.source);
  const sealed = seal(ring, Buffer.from(CANARY_PLAINTEXT), canaryAad(kek.id));
  await prisma.keyCanary.createMany({
    data: [
      {
        keyId: kek.id,
        dataKey: ownBytes(sealed.dataKey),
        iv: ownBytes(sealed.iv),
        tag: ownBytes(sealed.tag),
        ciphertext: ownBytes(sealed.ciphertext),
      },
    ],
    skipDuplicates: true,
  });
  const stored = await prisma.keyCanary.findUnique({ where: { keyId: kek.id } });
  if (!stored || !opensCanary(ring, stored)) throw wrongKey(keyring, kek.id);
}

/**
 * Throws a KeyCheckError when `keyring` cannot read the stored records; makes, removes or
 * replaces canaries as the header says. Run before the service is ready, and before a rotation.
 */
export async function checkKeyring(prisma: PrismaClient, keyring: Keyring, log?: Log): Promise<void> {
  const sealing = await readEveryTenant(prisma, sealingKeyIds);
  const missing = [...sealing].filter((id) => !keyring.byId.has(id)).sort();
  if (missing.length) throw missingKeys(keyring, missing);

  const canaries = new Map((await prisma.keyCanary.findMany()).map((c) => [c.keyId, c]));
  for (const kek of keyring.byId.values()) {
    const ring = keyringFromKeys([kek], keyring.source);
    const seals = sealing.has(kek.id);
    const canary = canaries.get(kek.id);
    if (canary) {
      if (opensCanary(ring, canary)) continue;
      throw wrongKey(keyring, kek.id);
    } else if (seals) {
      if (!(await readEveryTenant(prisma, (tx) => unwrapsSampledRecords(tx, ring, kek.id)))) throw wrongKey(keyring, kek.id);
    } else if (kek !== keyring.current) {
      continue;
    }
    await makeCanary(prisma, keyring, kek);
  }

  for (const canary of canaries.values()) {
    if (keyring.byId.has(canary.keyId)) continue;
    // not in the keyring, and (checked above) sealing no live record
    await prisma.keyCanary.deleteMany({ where: { keyId: canary.keyId } });
    log?.info({ keyId: canary.keyId }, 'a key-encryption key no longer seals any stored record: its canary is removed');
  }
}
