/**
 * Row locks for read-modify-write transactions: `FOR UPDATE` before reading a row makes concurrent
 * changes to it wait for each other instead of failing a version check the caller never asked for
 * (free on PGlite, where transactions run one at a time). One constant statement per table: a
 * table name is never spliced into SQL, and any other name is refused at run time.
 */
import type { TenantTx } from './tenant.ts';

const LOCK_STATEMENTS = {
  Integration: 'SELECT 1 FROM "Integration" WHERE "id" = $1 AND "tenantId" = $2 FOR UPDATE',
  RoutingRule: 'SELECT 1 FROM "RoutingRule" WHERE "id" = $1 AND "tenantId" = $2 FOR UPDATE',
  Webhook: 'SELECT 1 FROM "Webhook" WHERE "id" = $1 AND "tenantId" = $2 FOR UPDATE',
  WebhookDelivery: 'SELECT 1 FROM "WebhookDelivery" WHERE "id" = $1 AND "tenantId" = $2 FOR UPDATE',
  Operation: 'SELECT 1 FROM "Operation" WHERE "id" = $1 AND "tenantId" = $2 FOR UPDATE',
} as const;

export type LockableTable = keyof typeof LOCK_STATEMENTS;

export async function lockForUpdate(tx: Pick<TenantTx, '$executeRawUnsafe'>, table: LockableTable, tenantId: string, id: string) {
  if (!Object.hasOwn(LOCK_STATEMENTS, table)) throw new TypeError(`lockForUpdate: "${String(table)}" is not a table it locks`);
  await tx.$executeRawUnsafe(LOCK_STATEMENTS[table], id, tenantId);
}
