/**
 * The one path from request code to tenant-owned rows. `forTenant` returns a Prisma client
 * whose every top-level operation on a tenant-owned model is confined to one tenant: reads and
 * writes get `tenantId` in their `where`, creates get it in their `data`, and soft-deleted rows
 * are invisible unless a query names `deletedAt` itself. Another tenant's id therefore behaves
 * exactly like an id that does not exist.
 *
 * Nested relation reads (`include`) are not intercepted by Prisma query extensions; they follow
 * foreign keys from rows already confined here, and writes never link rows across tenants. They
 * do not filter soft-deleted rows: the schema shows such a row's `deletedAt`.
 */
import type { PrismaClient } from '../generated/prisma/client.ts';

const TENANT_MODELS = new Set(['Integration', 'Event', 'ApiKey', 'RoutingRule', 'Webhook', 'WebhookDelivery', 'DeliveryAttempt', 'AuditEntry']);

const WHERE_OPERATIONS = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'count',
  'aggregate',
  'groupBy',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'delete',
  'deleteMany',
  'upsert',
]);

type Args = { where?: Record<string, unknown>; data?: unknown; create?: Record<string, unknown> };

/** Creates carry the tenant; a caller naming another tenant is a bug, and refused. */
function stamp(data: unknown, tenantId: string) {
  const row = { ...(data as Record<string, unknown>) };
  if (row.tenantId !== undefined && row.tenantId !== tenantId) throw new Error('refused a write for another tenant');
  row.tenantId = tenantId;
  return row;
}

function confine(where: Record<string, unknown> | undefined, tenantId: string) {
  const scoped: Record<string, unknown> = { ...where, tenantId };
  if (!where || !('deletedAt' in where)) scoped.deletedAt = null;
  return scoped;
}

export function forTenant(prisma: PrismaClient, tenantId: string) {
  return prisma.$extends({
    name: 'tenant',
    query: {
      $allModels: {
        $allOperations({ model, operation, args, query }) {
          if (!TENANT_MODELS.has(model)) return query(args);
          const a = { ...(args as Args) };
          if (WHERE_OPERATIONS.has(operation)) a.where = confine(a.where, tenantId);
          if (operation === 'create') a.data = stamp(a.data, tenantId);
          if (operation === 'createMany' || operation === 'createManyAndReturn') {
            a.data = ([] as unknown[]).concat(a.data).map((d) => stamp(d, tenantId));
          }
          if (operation === 'upsert') a.create = stamp(a.create, tenantId);
          return query(a as typeof args);
        },
      },
    },
  });
}

export type TenantDb = ReturnType<typeof forTenant>;
/** The client handed to an interactive transaction's callback. */
export type TenantTx = Parameters<Parameters<TenantDb['$transaction']>[0]>[0];
