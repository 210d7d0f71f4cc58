/**
 * Retention of operation payloads (OPERATION_RETENTION_DAYS): the input and result of operations
 * that ended longer ago are removed, the records stay (status, attempts, references, purgedAt).
 * Worker processes run it at start and every few minutes, across tenants, through one SQL function
 * that runs as the tables' owner (migration operation_retention): the service's role never gets
 * to read every tenant's rows. docs/configuration.md (OPERATION_RETENTION_DAYS).
 */
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../log.ts';

/** Operations cleared per statement (one short transaction each). */
export const PURGE_BATCH = 500;
const PURGE_INTERVAL_MS = 5 * 60_000;

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

export interface RetentionRunner {
  /** Stops the timer and waits for a run in progress to finish its batch. */
  stop(): Promise<void>;
}

/** Runs the purge now and every few minutes (one run at a time) until stopped. */
export function startOperationRetention(
  prisma: PrismaClient,
  retentionDays: number,
  logger: Pick<Logger, 'info' | 'error'>,
): RetentionRunner {
  let stopped = false;
  let running: Promise<void> | undefined;

  function run() {
    if (running || stopped) return;
    running = purgeOperationPayloads(prisma, retentionDays, PURGE_BATCH, () => !stopped)
      .then((purged) => {
        if (purged) logger.info({ operations: purged, retentionDays }, 'removed the input and result of operations past retention');
      })
      .catch((err: unknown) => logger.error({ err }, 'operation retention failed; it runs again later'))
      .finally(() => {
        running = undefined;
      });
  }

  run();
  // nothing waits on it: the process may exit between runs
  const timer = setInterval(run, PURGE_INTERVAL_MS).unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
