/**
 * How an integration appears outside the database: in GraphQL and in event payloads. Sensitive
 * credential values never appear; they are present as keys with the value null.
 */
import type { Integration, Prisma } from '../generated/prisma/client.ts';
import { integrationGlobalId } from '../ids.ts';
import { findProvider } from '../providers/catalog.ts';
import type { CredentialValue } from '../providers/types.ts';

/**
 * The sealed credential columns (src/crypto/credentials.ts), as a Prisma `omit`: nothing shown
 * reads them, so GraphQL reads leave them out (whether a secret is set is `secretKeys`). The
 * paths that open or re-seal them (operations, verification, key rotation) read them on their own.
 */
export const SEALED_COLUMNS = {
  secretKeyId: true,
  secretDataKey: true,
  secretIv: true,
  secretTag: true,
  secretCiphertext: true,
} as const satisfies Prisma.IntegrationOmit;

/** An integration as GraphQL reads it: every column but the sealed ones. */
export type ShownIntegration = Omit<Integration, keyof typeof SEALED_COLUMNS>;

export function publicCredentials(row: Pick<Integration, 'provider' | 'config'>): Record<string, CredentialValue | null> {
  const out: Record<string, CredentialValue | null> = { ...(row.config as Record<string, CredentialValue>) };
  for (const field of findProvider(row.provider)?.credentialSchema ?? []) {
    if (field.sensitive) out[field.key] = null;
  }
  return out;
}

export function credentialFields(row: Pick<Integration, 'provider' | 'config' | 'secretKeys'>) {
  const config = row.config as Record<string, CredentialValue>;
  return (findProvider(row.provider)?.credentialSchema ?? []).map((field) => ({
    key: field.key,
    sensitive: field.sensitive,
    isSet: field.sensitive ? row.secretKeys.includes(field.key) : config[field.key] !== undefined,
    value: field.sensitive ? null : (config[field.key] ?? null),
  }));
}

/** Where the provider posts its callbacks for this integration (`/hooks/<provider>/<token>`). */
export function inboundWebhookUrl(publicUrl: string, row: Pick<Integration, 'provider' | 'inboundToken'>): string {
  return `${publicUrl}/hooks/${row.provider}/${row.inboundToken}`;
}

/**
 * The `data` of integration.* events. A change foresees it from the row it locked before its UPDATE
 * (`expectedRow` in service.ts) and fails when the row written gives other data: a field added here
 * must be foreseen there.
 */
export function integrationEventData(row: Integration): Prisma.InputJsonObject {
  return {
    id: integrationGlobalId(row.id),
    provider: row.provider,
    status: row.status,
    enabledCapabilities: row.enabledCapabilities,
    metadata: row.metadata as Prisma.InputJsonObject,
    lastError: row.lastError,
    version: row.version,
  };
}
