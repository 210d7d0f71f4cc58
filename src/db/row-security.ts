/**
 * The application half of PostgreSQL row-level security (policies: the `row_level_security`
 * migration): every transaction names its tenant in `app.tenant_id` (`set_config(…, true)`, local
 * to the transaction), and tenant-owned tables show only that tenant's rows. Lookups made before a
 * tenant is known name narrower settings of their own; a maintenance setting binds only the tables'
 * owner (owner.ts). docs/security-model.md ("Tenancy, twice").
 */
import type { Prisma, PrismaClient } from '../generated/prisma/client.ts';

type PrismaPromise<T> = Prisma.PrismaPromise<T>;

/** The role the embedded database runs as; on a PostgreSQL server, the role of DATABASE_URL. */
export const APP_ROLE = 'icp_app';

export interface RowSecuritySettings {
  /** Rows of this tenant. */
  tenantId?: string;
  /** The ApiKey row whose secretHash this is (authentication). */
  apiKeyHash?: string;
  /** The Integration row whose inboundToken this is (inbound callbacks). */
  inboundToken?: string;
  /**
   * Integration and Webhook rows of every tenant: read and written while re-wrapping data keys
   * (`rotate-keys`), read by the start-up key check (`key-check`).
   */
  maintenance?: 'rotate-keys' | 'key-check';
}

const SETTING_NAMES: Record<keyof RowSecuritySettings, string> = {
  tenantId: 'app.tenant_id',
  apiKeyHash: 'app.api_key_hash',
  inboundToken: 'app.inbound_token',
  maintenance: 'app.maintenance',
};

/** Anything that runs raw SQL: the client or an interactive transaction. */
export interface RawExecutor {
  $queryRawUnsafe(query: string, ...values: unknown[]): PromiseLike<unknown>;
}

/** `SELECT set_config($1, $2, true), …`: the settings, for the rest of the transaction. */
export function settingsStatement(settings: RowSecuritySettings): [string, ...string[]] {
  const pairs = Object.entries(settings).filter(([, value]) => typeof value === 'string') as [keyof RowSecuritySettings, string][];
  // names are parameters, never SQL text; still, only the settings the policies read
  if (!pairs.length || pairs.some(([name]) => !Object.hasOwn(SETTING_NAMES, name)))
    throw new TypeError('row-security settings: expected one or more known settings');
  const calls = pairs.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`);
  return [`SELECT ${calls.join(', ')}`, ...pairs.flatMap(([name, value]) => [SETTING_NAMES[name], value])];
}

/**
 * One operation in a transaction that first applies `settings`. (Prisma runs a batch of one
 * without a transaction; the settings statement makes it two.)
 */
export async function inRowScope<P extends PrismaPromise<unknown>>(
  prisma: PrismaClient,
  settings: RowSecuritySettings,
  operation: P,
): Promise<Awaited<P>> {
  const [, result] = await prisma.$transaction([prisma.$queryRawUnsafe(...settingsStatement(settings)), operation]);
  return result as Awaited<P>;
}

/** An interactive transaction that starts by applying `settings`. */
export function transactionInRowScope<Tx extends RawExecutor, T>(
  db: { $transaction<R>(fn: (tx: Tx) => Promise<R>): Promise<R> },
  settings: RowSecuritySettings,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  return db.$transaction(async (tx) => {
    await tx.$queryRawUnsafe(...settingsStatement(settings));
    return fn(tx);
  });
}
