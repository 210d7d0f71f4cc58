/**
 * Key rotation: re-wraps every data key still wrapped by an older KEK under the keyring's
 * current one. Records' ciphertexts are untouched and no plaintext is produced, so this is cheap
 * and safe to run on a live system; it works in batches, is resumable (it only picks rows whose
 * key id is not the current one) and reports progress. Once it reports nothing left, the older
 * KEKs can be dropped from ENCRYPTION_KEYS.
 */
import type { PrismaClient } from '../generated/prisma/client.ts';
import { credentialsAad, fromColumns } from './credentials.ts';
import { ownBytes, rewrap } from './envelope.ts';
import type { Keyring } from './keyring.ts';
import { currentSecret, previousSecret, webhookSecretAad } from '../webhooks/secrets.ts';

export interface RotationProgress {
  table: 'Integration' | 'Webhook';
  rewrapped: number;
  remaining: number;
}

const BATCH = 100;

export async function rotateKeys(
  prisma: PrismaClient,
  keyring: Keyring,
  onProgress: (p: RotationProgress) => void = () => {},
): Promise<{ integrations: number; webhooks: number }> {
  const current = keyring.current.id;
  const staleIntegrations = { secretKeyId: { not: current }, NOT: { secretKeyId: null } };
  const staleWebhooks = {
    OR: [{ secretKeyId: { not: current } }, { previousSecretKeyId: { not: current }, NOT: { previousSecretKeyId: null } }],
  };
  let integrations = 0;
  for (;;) {
    // Every tenant's rows: this is an operator's maintenance task, not request code.
    const rows = await prisma.integration.findMany({
      where: staleIntegrations,
      take: BATCH,
      orderBy: { id: 'asc' },
    });
    if (!rows.length) break;
    for (const row of rows) {
      const next = rewrap(keyring, fromColumns(row)!, credentialsAad(row.tenantId, row.id));
      // only if nothing re-sealed the row meanwhile (a credential change wraps under the current key anyway)
      await prisma.integration.updateMany({
        where: { id: row.id, secretKeyId: row.secretKeyId },
        data: { secretKeyId: next.keyId, secretDataKey: ownBytes(next.dataKey) },
      });
      integrations++;
    }
    onProgress({ table: 'Integration', rewrapped: integrations, remaining: await prisma.integration.count({ where: staleIntegrations }) });
  }

  let webhooks = 0;
  for (;;) {
    const rows = await prisma.webhook.findMany({
      where: staleWebhooks,
      take: BATCH,
      orderBy: { id: 'asc' },
    });
    if (!rows.length) break;
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
      await prisma.webhook.updateMany({ where: { id: row.id, secretKeyId: row.secretKeyId, previousSecretKeyId: row.previousSecretKeyId }, data });
      webhooks++;
    }
    onProgress({ table: 'Webhook', rewrapped: webhooks, remaining: await prisma.webhook.count({ where: staleWebhooks }) });
  }
  return { integrations, webhooks };
}
