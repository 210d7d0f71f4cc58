/**
 * Webhook signing secrets at rest: envelope-encrypted like credentials (src/crypto), bound to
 * the webhook's tenant and id. During a rotation's grace period the previous secret is kept,
 * encrypted the same way, and signs too.
 */
import { open, ownBytes, type Sealed, seal } from '../crypto/envelope.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { cachedOpener } from '../crypto/opened-cache.ts';
import type { Webhook } from '../generated/prisma/client.ts';

export function webhookSecretAad(tenantId: string, webhookId: string) {
  return `webhook-signing-secret|${tenantId}|${webhookId}`;
}

export function sealSecret(keyring: Keyring, tenantId: string, webhookId: string, secret: string) {
  const s = seal(keyring, Buffer.from(secret), webhookSecretAad(tenantId, webhookId));
  return {
    secretKeyId: s.keyId,
    secretDataKey: ownBytes(s.dataKey),
    secretIv: ownBytes(s.iv),
    secretTag: ownBytes(s.tag),
    secretCiphertext: ownBytes(s.ciphertext),
  };
}

/** The current secret's columns moved to the previous-secret columns (rotation), or cleared. */
export function currentAsPrevious(row: Webhook, expiresAt: Date | null) {
  const keep = expiresAt !== null;
  return {
    previousSecretKeyId: keep ? row.secretKeyId : null,
    previousSecretDataKey: keep ? row.secretDataKey : null,
    previousSecretIv: keep ? row.secretIv : null,
    previousSecretTag: keep ? row.secretTag : null,
    previousSecretCiphertext: keep ? row.secretCiphertext : null,
    previousSecretExpiresAt: expiresAt,
  };
}

/** The current signing secret's envelope. */
export function currentSecret(row: Webhook): Sealed {
  return { keyId: row.secretKeyId, dataKey: row.secretDataKey, iv: row.secretIv, tag: row.secretTag, ciphertext: row.secretCiphertext };
}

/** The previous signing secret's envelope, if one is kept (whether or not its grace has ended). */
export function previousSecret(row: Webhook): Sealed | null {
  const { previousSecretKeyId: keyId, previousSecretDataKey: dataKey, previousSecretIv: iv } = row;
  const { previousSecretTag: tag, previousSecretCiphertext: ciphertext } = row;
  return keyId && dataKey && iv && tag && ciphertext ? { keyId, dataKey, iv, tag, ciphertext } : null;
}

type OpenSecret = (sealed: Sealed, context: string) => string;

/** The secrets that sign now: the current one, then the previous one while its grace lasts. */
export function signingSecrets(
  keyring: Keyring,
  row: Webhook,
  now: Date,
  openSecret: OpenSecret = (sealed, context) => open(keyring, sealed, context).toString('utf8'),
): string[] {
  const context = webhookSecretAad(row.tenantId, row.id);
  const secrets = [openSecret(currentSecret(row), context)];
  const previous = row.previousSecretExpiresAt && row.previousSecretExpiresAt > now ? previousSecret(row) : null;
  if (previous) secrets.push(openSecret(previous, context));
  return secrets;
}

/** `signingSecrets` for the delivery worker: each sealed secret opened once and kept (src/crypto/opened-cache.ts). */
export function signingSecretsOpener(keyring: Keyring): (row: Webhook, now: Date) => string[] {
  const openSecret: OpenSecret = cachedOpener(keyring, (plaintext) => plaintext.toString('utf8'));
  return (row, now) => signingSecrets(keyring, row, now, openSecret);
}
