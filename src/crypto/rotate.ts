/**
 * Key rotation: re-wraps every data key still wrapped by an older KEK under the keyring's current
 * one, in resumable batches; ciphertexts are untouched and no plaintext is produced. It first runs
 * the start-up key check with its own keyring (key-check.ts), so a different key under the current
 * id never re-wraps records under a key the service cannot use, and the new key gets its canary.
 * Steps for operators: docs/configuration.md ("Rotating the encryption key").
 */
import { transactionInRowScope } from '../db/row-security.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { type OperationPart, operationAad, sealedPart } from '../operations/sealed.ts';
import { sealedHeaders, sealPlaintextHeaders, webhookHeadersAad } from '../webhooks/headers.ts';
import { currentSecret, previousSecret, webhookSecretAad } from '../webhooks/secrets.ts';
import { credentialsAad, fromColumns } from './credentials.ts';
import { ownBytes, rewrap } from './envelope.ts';
import { checkKeyring, OPERATION_PARTS, operationKeyIds } from './key-check.ts';
import type { Keyring } from './keyring.ts';

export interface RotationProgress {
  table: 'Integration' | 'Webhook' | 'Operation';
  rewrapped: number;
  remaining: number;
}

const BATCH = 100;

type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/**
 * Re-wraps one batch of integration keys; how many it re-wrapped (0: none left). Only rows
 * nothing re-sealed meanwhile change (a credential change wraps under the current key anyway).
 */
async function rewrapIntegrations(tx: Tx, keyring: Keyring, stale: object): Promise<number> {
  const rows = await tx.integration.findMany({ where: stale, take: BATCH, orderBy: { id: 'asc' } });
  for (const row of rows) {
    const next = rewrap(keyring, fromColumns(row)!, credentialsAad(row.tenantId, row.id));
    await tx.integration.updateMany({
      where: { id: row.id, secretKeyId: row.secretKeyId },
      data: { secretKeyId: next.keyId, secretDataKey: ownBytes(next.dataKey) },
    });
  }
  return rows.length;
}

/** Re-wraps one batch of webhook data keys: the current secret's, the previous one's and the static headers'. */
async function rewrapWebhooks(tx: Tx, keyring: Keyring, stale: object): Promise<number> {
  const current = keyring.current.id;
  const rows = await tx.webhook.findMany({ where: stale, take: BATCH, orderBy: { id: 'asc' } });
  for (const row of rows) {
    const aad = webhookSecretAad(row.tenantId, row.id);
    const data: Record<string, unknown> = {};
    if (row.secretKeyId !== current) {
      const next = rewrap(keyring, currentSecret(row), aad);
      Object.assign(data, { secretKeyId: next.keyId, secretDataKey: ownBytes(next.dataKey) });
    }
    const previous = previousSecret(row);
    if (previous && previous.keyId !== current) {
      const next = rewrap(keyring, previous, aad);
      Object.assign(data, { previousSecretKeyId: next.keyId, previousSecretDataKey: ownBytes(next.dataKey) });
    }
    const headers = sealedHeaders(row);
    if (headers && headers.keyId !== current) {
      const next = rewrap(keyring, headers, webhookHeadersAad(row.tenantId, row.id));
      Object.assign(data, { headersKeyId: next.keyId, headersDataKey: ownBytes(next.dataKey) });
    }
    await tx.webhook.updateMany({
      where: { id: row.id, secretKeyId: row.secretKeyId, previousSecretKeyId: row.previousSecretKeyId, headersKeyId: row.headersKeyId },
      data,
    });
  }
  return rows.length;
}

/** Each operation part and key id, other than the current one, that seals some operation. */
async function staleOperationKeys(tx: Tx, current: string): Promise<[OperationPart, string][]> {
  const stale: [OperationPart, string][] = [];
  for (const part of OPERATION_PARTS) {
    for (const keyId of await operationKeyIds(tx, part)) if (keyId !== current) stale.push([part, keyId]);
  }
  return stale;
}

const keyIdWhere = (part: OperationPart, keyId: string) => (part === 'input' ? { inputKeyId: keyId } : { resultKeyId: keyId });

/**
 * Re-wraps a batch of operations whose `part` is sealed under `keyId` (both their parts, when both
 * are stale); how many it took (0: none left). Found through the key id's partial index, unordered.
 */
async function rewrapOperations(tx: Tx, keyring: Keyring, part: OperationPart, keyId: string): Promise<number> {
  const current = keyring.current.id;
  const rows = await tx.operation.findMany({ where: keyIdWhere(part, keyId), take: BATCH });
  for (const row of rows) {
    // the batch would come back for ever
    if (!sealedPart(row, part)) throw new Error(`operation ${row.id}: its ${part} key id is set but not the rest of its envelope`);
    const data: Record<string, unknown> = {};
    for (const p of OPERATION_PARTS) {
      const sealed = sealedPart(row, p);
      if (!sealed || sealed.keyId === current) continue;
      const next = rewrap(keyring, sealed, operationAad(row.tenantId, row.id, p));
      Object.assign(data, { [`${p}KeyId`]: next.keyId, [`${p}DataKey`]: ownBytes(next.dataKey) });
    }
    await tx.operation.updateMany({ where: { id: row.id, inputKeyId: row.inputKeyId, resultKeyId: row.resultKeyId }, data });
  }
  return rows.length;
}

export async function rotateKeys(
  prisma: PrismaClient,
  keyring: Keyring,
  onProgress: (p: RotationProgress) => void = () => {},
): Promise<{ integrations: number; webhooks: number; operations: number }> {
  await checkKeyring(prisma, keyring);
  const current = keyring.current.id;
  const staleIntegrations = { secretKeyId: { not: current }, NOT: { secretKeyId: null } };
  const staleWebhooks = {
    OR: [
      { secretKeyId: { not: current } },
      { previousSecretKeyId: { not: current }, NOT: { previousSecretKeyId: null } },
      { headersKeyId: { not: current }, NOT: { headersKeyId: null } },
    ],
  };
  // Every tenant's rows: an operator's maintenance task, which row-level security allows by
  // name; one transaction per batch.
  const inBatch = <T>(fn: (tx: Tx) => Promise<T>) => transactionInRowScope<Tx, T>(prisma, { maintenance: 'rotate-keys' }, fn);

  /** Batches of one table until none is left; how many rows it re-wrapped. */
  async function rewrapAll(table: RotationProgress['table'], rewrapBatch: (tx: Tx) => Promise<number>, stale: (tx: Tx) => Promise<number>) {
    let rewrapped = 0;
    for (;;) {
      const [count, remaining] = await inBatch(async (tx) => [await rewrapBatch(tx), await stale(tx)]);
      if (!count) return rewrapped;
      rewrapped += count;
      onProgress({ table, rewrapped, remaining });
    }
  }

  const integrations = await rewrapAll(
    'Integration',
    (tx) => rewrapIntegrations(tx, keyring, staleIntegrations),
    (tx) => tx.integration.count({ where: staleIntegrations }),
  );
  // header values older rows still hold in clear are sealed (under the current key) first
  await sealPlaintextHeaders(prisma, keyring);
  const webhooks = await rewrapAll(
    'Webhook',
    (tx) => rewrapWebhooks(tx, keyring, staleWebhooks),
    (tx) => tx.webhook.count({ where: staleWebhooks }),
  );

  /**
   * Operations are many and their key ids few: each stale key id's rows are taken through its
   * index, and what remains is counted once, then counted down (not counted again per batch).
   */
  async function rewrapAllOperations(): Promise<number> {
    const stale = await inBatch((tx) => staleOperationKeys(tx, current));
    if (!stale.length) return 0;
    let remaining = await inBatch((tx) => tx.operation.count({ where: { OR: stale.map(([part, keyId]) => keyIdWhere(part, keyId)) } }));
    let rewrapped = 0;
    for (const [part, keyId] of stale) {
      for (;;) {
        const count = await inBatch((tx) => rewrapOperations(tx, keyring, part, keyId));
        if (!count) break;
        rewrapped += count;
        remaining = Math.max(0, remaining - count);
        onProgress({ table: 'Operation', rewrapped, remaining });
      }
    }
    return rewrapped;
  }

  const operations = await rewrapAllOperations();
  return { integrations, webhooks, operations };
}
