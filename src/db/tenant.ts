/**
 * The one path from request code to tenant-owned rows: `forTenant` returns a Prisma client whose
 * every top-level operation on a tenant-owned model is confined to one tenant (and hides
 * soft-deleted rows unless a query names `deletedAt`), run in a transaction that names the tenant
 * for row-level security (row-security.ts). Nested relation reads follow foreign keys from rows
 * already confined. Why it is built so: docs/architecture.md, docs/design-notes.md.
 */
import { LRUCache } from 'lru-cache';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { retainedWhere, withRetained } from '../retention/windows.ts';
import { inRowScope, type RawExecutor, transactionInRowScope } from './row-security.ts';

const TENANT_MODELS = new Set([
  'Integration',
  'Event',
  'ApiKey',
  'RoutingRule',
  'Webhook',
  'WebhookDelivery',
  'DeliveryAttempt',
  'AuditEntry',
  'Operation',
  'OperationAttempt',
]);

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

/**
 * Prisma passes the call's internal parameters to query extensions; `transaction` is set when the
 * call belongs to an interactive or batch transaction, which already carries the tenant.
 */
function inTransaction(params: unknown): boolean {
  return Boolean((params as { __internalParams?: { transaction?: unknown } }).__internalParams?.transaction);
}

const READ_OPERATIONS = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'count',
  'aggregate',
  'groupBy',
]);

interface PendingRead {
  model: string;
  operation: string;
  args: unknown;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

type Delegate = Record<string, (args: unknown) => Promise<unknown>>;

/**
 * Reads of one tick, run together in one transaction that names the tenant once. Inside an
 * interactive transaction Prisma still merges `findUnique`s of the same shape into one statement,
 * which is how Pothos loads the relations of a page without N+1; a batch transaction per read
 * would lose that.
 */
function readBatcher(prisma: PrismaClient, tenantId: string) {
  let pending: PendingRead[] | undefined;
  async function flush() {
    const batch = pending!;
    pending = undefined;
    try {
      await transactionInRowScope(prisma, { tenantId }, (tx) =>
        Promise.all(
          batch.map(async (read) => {
            const delegate = (tx as unknown as Record<string, Delegate>)[read.model[0]!.toLowerCase() + read.model.slice(1)]!;
            try {
              read.resolve(await delegate[read.operation]!(read.args));
            } catch (err) {
              read.reject(err);
            }
          }),
        ),
      );
    } catch (err) {
      // the transaction itself failed: whatever is not settled yet fails with it
      for (const read of batch) read.reject(err);
    }
  }
  return (model: string, operation: string, args: unknown) =>
    new Promise((resolve, reject) => {
      if (!pending) {
        pending = [];
        process.nextTick(() => void flush());
      }
      pending.push({ model, operation, args, resolve, reject });
    });
}

const tenants = new WeakMap<object, string>();

export function forTenant(prisma: PrismaClient, tenantId: string) {
  const read = readBatcher(prisma, tenantId);
  const db = prisma.$extends({
    name: 'tenant',
    query: {
      $allModels: {
        $allOperations(params) {
          const { model, operation, args, query } = params;
          if (!TENANT_MODELS.has(model)) return query(args);
          const a = { ...(args as Args) };
          if (WHERE_OPERATIONS.has(operation)) a.where = confine(a.where, tenantId);
          // rows past DATA_RETENTION / AUDIT_RETENTION are gone for every read (src/retention/windows.ts)
          if (READ_OPERATIONS.has(operation)) a.where = withRetained(a.where, retainedWhere(prisma, model));
          if (operation === 'create') a.data = stamp(a.data, tenantId);
          if (operation === 'createMany' || operation === 'createManyAndReturn') {
            a.data = ([] as unknown[]).concat(a.data).map((d) => stamp(d, tenantId));
          }
          if (operation === 'upsert') a.create = stamp(a.create, tenantId);
          if (inTransaction(params)) return query(a as typeof args);
          if (READ_OPERATIONS.has(operation)) return read(model, operation, a);
          return inRowScope(prisma, { tenantId }, query(a as typeof args));
        },
      },
    },
  });
  tenants.set(db, tenantId);
  return db;
}

const recent = new WeakMap<PrismaClient, LRUCache<string, TenantDb>>();

/**
 * `forTenant`, kept for the tenants seen lately (at most 1,000 per client): a client extension is
 * built once per tenant instead of once per request, which is a measurable share of a small
 * request's CPU. The client holds no request state: reads of one tick share one transaction, which
 * concurrent requests of one tenant may then share too.
 */
export function tenantDb(prisma: PrismaClient, tenantId: string): TenantDb {
  let byTenant = recent.get(prisma);
  if (!byTenant) recent.set(prisma, (byTenant = new LRUCache({ max: 1000 })));
  let db = byTenant.get(tenantId);
  if (!db) byTenant.set(tenantId, (db = forTenant(prisma, tenantId)));
  return db;
}

/**
 * `db.$transaction(fn)` with the tenant named at its start. Any other client (the unscoped one,
 * in migrations and maintenance) runs as is.
 */
export function tenantTransaction<Tx extends RawExecutor, T>(
  db: { $transaction<R>(fn: (tx: Tx) => Promise<R>): Promise<R> },
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  const tenantId = tenants.get(db);
  return tenantId === undefined ? db.$transaction(fn) : transactionInRowScope(db, { tenantId }, fn);
}

export type TenantDb = ReturnType<typeof forTenant>;
/** The client handed to an interactive transaction's callback. */
export type TenantTx = Parameters<Parameters<TenantDb['$transaction']>[0]>[0];
