/**
 * An integration's credentials for the operation worker's calls: the sealed secrets opened once per
 * OPENED_TTL_MS and kept (src/crypto/opened-cache.ts), keyed by the envelope's context and tag, so
 * a rotation or an edit (a new seal) is seen at once. Opening two envelope layers per call is a
 * measurable share of an operation's CPU. Throws DecryptionError when they do not open.
 */
import { credentialsAad, fromColumns } from '../crypto/credentials.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { cachedOpener } from '../crypto/opened-cache.ts';
import type { Integration } from '../generated/prisma/client.ts';
import type { Credentials, CredentialValue } from '../providers/types.ts';

export function credentialsOpener(keyring: Keyring): (integration: Integration) => Credentials {
  const openSecrets = cachedOpener(keyring, (plaintext) => JSON.parse(plaintext.toString('utf8')) as Record<string, CredentialValue>);
  return (integration) => {
    const config = integration.config as Record<string, CredentialValue>;
    const sealed = fromColumns(integration);
    // a copy: the adapter's call never shares objects with the cache
    return sealed ? { ...config, ...openSecrets(sealed, credentialsAad(integration.tenantId, integration.id)) } : { ...config };
  };
}
