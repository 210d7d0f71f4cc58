/**
 * How many rows of each kind one tenant may hold. Every list a response can return is bounded
 * (src/graphql-hardening/list-bounds.ts); lists that are not paged are bounded by these caps.
 * A create past a cap is a CONFLICT naming the cap.
 */
import { ConflictError } from '../errors.ts';

export const TENANT_CAPS = {
  /** Live routing rules (a dozen capabilities, a few rules each, is the real need). */
  routingRules: 100,
  /** API keys not revoked. */
  apiKeys: 100,
  /** Each change fans out to every matching webhook of the tenant: the count is bounded. */
  webhooks: 100,
} as const;

type CappedKind = keyof typeof TENANT_CAPS;

const NOUNS: Record<CappedKind, string> = { routingRules: 'routing rules', apiKeys: 'unrevoked API keys', webhooks: 'webhooks' };

interface LockingTx {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

/**
 * Refuses a create that would take the tenant past its cap of `kind`. Inside the creating
 * transaction: a transaction-scoped advisory lock on (kind, tenant) makes concurrent creates count
 * one after the other, so two cannot both take the last place. (PGlite runs one transaction at a
 * time; the lock is free there.)
 */
export async function assertUnderCap(tx: LockingTx, tenantId: string, kind: CappedKind, count: () => Promise<number>): Promise<void> {
  await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock(hashtext($1))', `cap:${kind}:${tenantId}`);
  if ((await count()) >= TENANT_CAPS[kind]) {
    throw new ConflictError(`a tenant can have at most ${TENANT_CAPS[kind]} ${NOUNS[kind]}: delete (or revoke) one first`);
  }
}
