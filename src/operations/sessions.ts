/**
 * Sessions of providers whose API takes short-lived tokens (ProviderDefinition.session: DocuSign,
 * Acrobat Sign). A call uses the integration's session while it has more than SESSION_MARGIN_MS
 * left, else a new one is obtained (one request at a time per integration in a process) and stored
 * sealed with the integration's secrets, bound to its credentials revision, so other processes and
 * restarts reuse it and a credentials change drops it. docs/architecture.md ("Sessions").
 */
import { LRUCache } from 'lru-cache';
import { credentialsAad, resealSecretsWith } from '../crypto/credentials.ts';
import { lockForUpdate } from '../db/lock.ts';
import { type TenantTx, tenantDb, tenantTransaction } from '../db/tenant.ts';
import type { Integration } from '../generated/prisma/client.ts';
import type { Credentials, ProviderDefinition, ProviderSession, SessionResult } from '../providers/types.ts';
import type { Services } from '../services.ts';

/** Where the session is kept among the sealed secrets (not a credential field: never shown or validated). */
export const SESSION_KEY = '$session';
/** A session with less than this left is renewed before a call (a call may take OPERATION_TIMEOUT_MS). */
export const SESSION_MARGIN_MS = 5 * 60_000;

interface StoredSession extends ProviderSession {
  /** The credentials revision it was obtained with. */
  revision: number;
}

/** The session stored with these credentials for this revision, when it is well-formed. */
export function storedSession(credentials: Credentials, revision: number): ProviderSession | null {
  const text = credentials[SESSION_KEY];
  if (typeof text !== 'string') return null;
  try {
    const s = JSON.parse(text) as Partial<StoredSession>;
    if (s.revision !== revision || typeof s.accessToken !== 'string' || typeof s.expiresAt !== 'number') return null;
    return { accessToken: s.accessToken, expiresAt: s.expiresAt, ...(typeof s.apiBase === 'string' ? { apiBase: s.apiBase } : {}) };
  } catch {
    return null;
  }
}

/** The credentials a provider sees: without the stored session. */
export function withoutSession(credentials: Credentials): Credentials {
  if (!(SESSION_KEY in credentials)) return credentials;
  const { [SESSION_KEY]: _, ...rest } = credentials;
  return rest;
}

export interface SessionKeeper {
  /**
   * A usable session for the integration: its stored one, or a new one when none is left or
   * `renew` (the provider refused the current one). Never throws.
   */
  get(integration: Integration, provider: ProviderDefinition, credentials: Credentials, renew?: boolean): Promise<SessionResult>;
}

export function sessionKeeper(services: Services): SessionKeeper {
  const { config, keyring, logger } = services;
  /** Sessions obtained in this process, newer than what the row the walk read holds. */
  const obtained = new LRUCache<string, ProviderSession>({ max: 2000 });
  const obtaining = new Map<string, Promise<SessionResult>>();

  /** Seals the session with the integration's secrets, unless its credentials changed meanwhile. */
  async function store(integration: Integration, session: ProviderSession) {
    const db = tenantDb(services.prisma, integration.tenantId);
    await tenantTransaction<TenantTx, void>(db, async (tx) => {
      await lockForUpdate(tx, 'Integration', integration.tenantId, integration.id);
      const row = await tx.integration.findUnique({ where: { id: integration.id } });
      if (!row || row.deletedAt || row.credentialsRevision !== integration.credentialsRevision) return;
      const stored: StoredSession = { ...session, revision: row.credentialsRevision };
      const sealed = resealSecretsWith(keyring, row, { [SESSION_KEY]: JSON.stringify(stored) }, credentialsAad(row.tenantId, row.id));
      // not a change a client made: neither `version` nor `updatedAt` moves
      if (sealed) await tx.integration.update({ where: { id: row.id }, data: { ...sealed, updatedAt: row.updatedAt } });
    });
  }

  async function obtain(integration: Integration, provider: ProviderDefinition, credentials: Credentials, key: string) {
    const result = await provider.session!.obtain(withoutSession(credentials), {
      origin: (fallback) => config.providerOrigins[provider.name] ?? fallback,
      signal: AbortSignal.timeout(config.operations.timeoutMs),
    });
    if (result.ok) {
      obtained.set(key, result.session);
      await store(integration, result.session).catch((err: unknown) =>
        // the session still serves this process; the next process obtains its own
        logger.warn({ err, integrationId: integration.id }, 'could not store a provider session'),
      );
    }
    return result;
  }

  return {
    get(integration, provider, credentials, renew = false) {
      const key = `${integration.id}:${integration.credentialsRevision}`;
      if (!renew) {
        const known = [obtained.get(key), storedSession(credentials, integration.credentialsRevision)]
          .filter((s): s is ProviderSession => !!s)
          .sort((a, b) => b.expiresAt - a.expiresAt)[0];
        if (known && known.expiresAt - Date.now() > SESSION_MARGIN_MS) return Promise.resolve({ ok: true, session: known });
      } else {
        obtained.delete(key);
      }
      let pending = obtaining.get(key);
      if (!pending) {
        pending = obtain(integration, provider, credentials, key).finally(() => obtaining.delete(key));
        obtaining.set(key, pending);
      }
      return pending;
    },
  };
}
