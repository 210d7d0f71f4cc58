/**
 * Row locks for read-modify-write transactions. Taking `FOR UPDATE` before reading a row makes
 * concurrent changes to it (a request and the verification worker, two requests) wait for each
 * other instead of failing a version check the caller never asked for. On PGlite, where
 * transactions already run one at a time, the lock is free.
 */
import type { TenantTx } from './tenant.ts';

type LockableTable = 'Integration' | 'RoutingRule' | 'Webhook' | 'WebhookDelivery';

export async function lockForUpdate(tx: Pick<TenantTx, '$executeRawUnsafe'>, table: LockableTable, tenantId: string, id: string) {
  await tx.$executeRawUnsafe(`SELECT 1 FROM "${table}" WHERE "id" = $1 AND "tenantId" = $2 FOR UPDATE`, id, tenantId);
}
