/**
 * Webhook signing secrets at rest: envelope-encrypted like credentials (src/crypto), bound to
 * the webhook's tenant and id. During a rotation's grace period the previous secret is kept,
 * encrypted the same way, and signs too.
 */
import { open, seal, type Sealed } from '../crypto/envelope.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Webhook } from '../generated/prisma/client.ts';

export function webhookSecretAad(tenantId: string, webhookId: string) {
  return `webhook-signing-secret|${tenantId}|${webhookId}`;
}

const bytes = (b: Uint8Array) => new Uint8Array(b);

export function sealSecret(keyring: Keyring, tenantId: string, webhookId: string, secret: string) {
  const s = seal(keyring, Buffer.from(secret), webhookSecretAad(tenantId, webhookId));
  return {
    secretKeyId: s.keyId,
    secretDataKey: bytes(s.dataKey),
    secretIv: bytes(s.iv),
    secretTag: bytes(s.tag),
    secretCiphertext: bytes(s.ciphertext),
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

/** The secrets that sign now: the current one, then the previous one while its grace lasts. */
export function signingSecrets(keyring: Keyring, row: Webhook, now: Date): string[] {
  const context = webhookSecretAad(row.tenantId, row.id);
  const current: Sealed = {
    keyId: row.secretKeyId,
    dataKey: row.secretDataKey,
    iv: row.secretIv,
    tag: row.secretTag,
    ciphertext: row.secretCiphertext,
  };
  const secrets = [open(keyring, current, context).toString('utf8')];
  const p = row;
  if (
    p.previousSecretExpiresAt && p.previousSecretExpiresAt > now && p.previousSecretKeyId &&
    p.previousSecretDataKey && p.previousSecretIv && p.previousSecretTag && p.previousSecretCiphertext
  ) {
    const previous: Sealed = {
      keyId: p.previousSecretKeyId,
      dataKey: p.previousSecretDataKey,
      iv: p.previousSecretIv,
      tag: p.previousSecretTag,
      ciphertext: p.previousSecretCiphertext,
    };
    secrets.push(open(keyring, previous, context).toString('utf8'));
  }
  return secrets;
}
