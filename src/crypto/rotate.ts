/**
 * Key rotation: re-wraps every data key still wrapped by an older KEK under the keyring's
 * current one. Records' ciphertexts are untouched and no plaintext is produced, so this is cheap
 * and safe to run on a live system; it works in batches, is resumable (it only picks rows whose
 * key id is not the current one) and reports progress. Once it reports nothing left, the older
 * KEKs can be dropped from ENCRYPTION_KEYS.
 *
 * It first runs the start-up key check with its own keyring (key-check.ts): a rotation with a key
 * that is not the one the service seals with, under the same id, would re-wrap every record under
 * a key the service cannot use. The check also makes the new key's canary, so the new key alone
 * starts the service once the old ones are dropped (their canaries are removed then).
 */
import { transactionInRowScope } from '../db/row-security.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { sealedHeaders, sealPlaintextHeaders, webhookHeadersAad } from '../webhooks/headers.ts';
import { currentSecret, previousSecret, webhookSecretAad } from '../webhooks/secrets.ts';
import { credentialsAad, fromColumns } from './credentials.ts';
import { ownBytes, rewrap } from './envelope.ts';
import { checkKeyring } from './key-check.ts';
import type { Keyring } from './keyring.ts';

export interface RotationProgress {
  table: 'Integration' | 'Webhook';
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

export async function rotateKeys(
  prisma: PrismaClient,
  keyring: Keyring,
  onProgress: (p: RotationProgress) => void = () => {},
): Promise<{ integrations: number; webhooks: number }> {
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
  return { integrations, webhooks };
}
