/**
 * Retention of operation payloads (OPERATION_RETENTION_DAYS): the input and result of operations
 * that ended longer ago are removed, the records stay (status, attempts, references, purgedAt).
 * Worker processes run it with the retention purge (src/retention/purge.ts), across tenants, through one SQL function
 * that runs as the tables' owner (migration operation_retention): the service's role never gets
 * to read every tenant's rows. docs/configuration.md (OPERATION_RETENTION_DAYS).
 */
import type { PrismaClient } from '../generated/prisma/client.ts';

/** Operations cleared per statement (one short transaction each). */
export const PURGE_BATCH = 500;

/**
 * Clears the payloads of every operation that ended more than `retentionDays` ago, a batch at a
 * time until a batch comes back short; how many it cleared. `keepGoing` is asked between batches.
 */
export async function purgeOperationPayloads(
  prisma: PrismaClient,
  retentionDays: number,
  batch = PURGE_BATCH,
  keepGoing: () => boolean = () => true,
): Promise<number> {
  let total = 0;
  for (;;) {
    const [row] = await prisma.$queryRaw<{ purged: number }[]>`
      SELECT icp_purge_operation_payloads(${retentionDays}::int, ${batch}::int) AS purged`;
    const purged = row?.purged ?? 0;
    total += purged;
    if (purged < batch || !keepGoing()) return total;
  }
}
