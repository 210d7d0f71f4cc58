/**
 * Group commit for the workers' hot writes (delivery attempts, operation endings): items that
 * arrive while a recording transaction runs are written together by the next one, one transaction
 * per tenant. Two items of one key in a group: the first is written, the other gets `none` (a
 * duplicate job's run). A transaction that fails is retried item by item, so one bad row fails
 * only its own job.
 */
import { type TenantTx, tenantDb } from '../db/tenant.ts';
import type { Services } from '../services.ts';

/** The items by key, in the order each key first appears. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

export interface GroupCommitOptions<I, R> {
  tenantOf(item: I): string;
  /** The row an item writes: one per key per group. */
  keyOf(item: I): string;
  /** Writes one tenant's items (distinct keys) in its transaction; what each written key resolves to (absent: `none`). */
  write(tx: TenantTx, tenantId: string, items: I[]): Promise<ReadonlyMap<string, R>>;
  /** What an item resolves to when its row was not written by it. */
  none: R;
}

interface Pending<I, R> {
  item: I;
  resolve(result: R): void;
  reject(err: unknown): void;
}

/** The way to record one item: resolves once its group committed. */
export function groupCommit<I, R>(services: Services, options: GroupCommitOptions<I, R>): (item: I) => Promise<R> {
  const { tenantOf, keyOf, none } = options;
  const pending: Pending<I, R>[] = [];
  let writing: Promise<void> | undefined;

  async function write(tenantId: string, group: Pending<I, R>[]): Promise<void> {
    const unique = [...groupBy(group, (p) => keyOf(p.item)).values()].map((runs) => runs[0]!);
    try {
      const written = await services.queue.transaction(tenantDb(services.prisma, tenantId), (tx) =>
        options.write(
          tx,
          tenantId,
          unique.map((p) => p.item),
        ),
      );
      for (const p of group) p.resolve(unique.includes(p) ? (written.get(keyOf(p.item)) ?? none) : none);
    } catch (err) {
      if (unique.length === 1) {
        for (const p of group) p.reject(err);
        return;
      }
      for (const p of unique) await write(tenantId, [p]);
      for (const p of group) if (!unique.includes(p)) p.resolve(none);
    }
  }

  async function writeAll() {
    await new Promise((resolve) => setImmediate(resolve));
    while (pending.length) {
      const byTenant = groupBy(pending.splice(0), (p) => tenantOf(p.item));
      await Promise.all([...byTenant].map(([tenantId, group]) => write(tenantId, group)));
    }
  }

  /** One writer at a time: what arrives while it writes waits for its next round. */
  function schedule() {
    if (writing) return;
    writing = writeAll().finally(() => {
      writing = undefined;
      if (pending.length) schedule();
    });
  }

  return (item) =>
    new Promise<R>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      schedule();
    });
}
