/**
 * The retention purge: deletes what DATA_RETENTION and AUDIT_RETENTION expired (the rules of
 * src/retention/windows.ts), children before parents, at most `batch` rows per statement (one
 * short transaction each), and clears operation payloads past OPERATION_RETENTION_DAYS. Each
 * batch runs through icp_purge_expired, which runs as the tables' owner and takes an advisory
 * lock, so one instance purges at a time (migration data_retention). docs/configuration.md.
 */
import type { Config } from '../config.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../log.ts';
import { purgeOperationPayloads } from '../operations/retention.ts';
import { maintainPartitions, type PartitionResult } from './partitions.ts';
import { type RetentionWindows, windowSeconds } from './windows.ts';

/** Rows deleted per statement. */
export const PURGE_BATCH = 1000;

/** In this order: no row is deleted while a row that references it remains. */
export const PURGE_STEPS = [
  { table: 'DeliveryAttempt', window: 'dataMs' },
  { table: 'WebhookDelivery', window: 'dataMs' },
  { table: 'Event', window: 'dataMs' },
  { table: 'OperationAttempt', window: 'dataMs' },
  { table: 'Operation', window: 'dataMs' },
  { table: 'AuditEntry', window: 'auditMs' },
  // expired longer than the window ago: its token authenticates nothing (migration connect_session_retention)
  { table: 'ConnectSession', window: 'dataMs' },
] as const;

export type PurgedTable = (typeof PURGE_STEPS)[number]['table'];

export interface PurgeResult {
  /** Rows deleted per table. */
  deleted: Record<PurgedTable, number>;
  /** Operations whose input and result were cleared (OPERATION_RETENTION_DAYS). */
  payloadsCleared: number;
  /** Another instance was purging: this run stopped and left the rest to it. */
  yielded: boolean;
  /** What became of the time partitions (PostgreSQL servers; null on the embedded database). */
  partitions: PartitionResult | null;
}

const emptyCounts = () => Object.fromEntries(PURGE_STEPS.map((s) => [s.table, 0])) as Record<PurgedTable, number>;

/** One full pass: every step until a batch comes back short. `keepGoing` is asked between batches. */
export async function purgeExpired(
  prisma: PrismaClient,
  windows: RetentionWindows,
  batch = PURGE_BATCH,
  keepGoing: () => boolean = () => true,
): Promise<Omit<PurgeResult, 'partitions'>> {
  const deleted = emptyCounts();
  for (const step of PURGE_STEPS) {
    const seconds = windowSeconds(windows, step.window);
    for (;;) {
      const [row] = await prisma.$queryRaw<{ n: number }[]>`
        SELECT icp_purge_expired(${step.table}::text, ${seconds}::bigint, ${batch}::int) AS n`;
      const n = row?.n ?? 0;
      if (n < 0) return { deleted, payloadsCleared: 0, yielded: true };
      deleted[step.table] += n;
      if (n < batch) break;
      if (!keepGoing()) return { deleted, payloadsCleared: 0, yielded: false };
    }
  }
  return { deleted, payloadsCleared: 0, yielded: false };
}

export interface DataRetention {
  /** Runs a full purge now (after a run in progress), and what it did. */
  purgeOnce(): Promise<PurgeResult>;
  /** Stops the timer and waits for a run in progress to finish its batch. */
  stop(): Promise<void>;
}

/**
 * Purges at start, then every RETENTION_PURGE_INTERVAL_SECONDS (±20% jitter, so instances do
 * not line up), one run at a time in this process, until stopped.
 */
export function startDataRetention(
  prisma: PrismaClient,
  config: Pick<Config, 'retention' | 'operations'>,
  logger: Pick<Logger, 'info' | 'warn' | 'error'>,
  options: { partitions: boolean },
): DataRetention {
  let stopped = false;
  let running: Promise<PurgeResult | undefined> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const keepGoing = () => !stopped;

  async function pass(): Promise<PurgeResult> {
    // partitions first: what they drop whole is not deleted row by row
    const partitions = options.partitions ? await maintainPartitions(prisma, config.retention, keepGoing) : null;
    if (partitions?.created || partitions?.dropped.length)
      logger.info({ created: partitions.created, dropped: partitions.dropped, kept: partitions.kept }, 'retention maintained partitions');
    if (partitions?.failed.length) logger.warn({ failed: partitions.failed }, 'partitions not made this time; the next run tries again');
    if (partitions?.yielded) return { deleted: emptyCounts(), payloadsCleared: 0, yielded: true, partitions };
    const result = { ...(await purgeExpired(prisma, config.retention, PURGE_BATCH, keepGoing)), partitions };
    if (!result.yielded && !stopped) {
      result.payloadsCleared = await purgeOperationPayloads(prisma, config.operations.retentionDays, undefined, keepGoing);
    }
    const total = Object.values(result.deleted).reduce((a, b) => a + b, 0);
    if (total || result.payloadsCleared)
      logger.info({ ...result.deleted, payloadsCleared: result.payloadsCleared }, 'retention removed expired history');
    return result;
  }

  function run(): Promise<PurgeResult | undefined> {
    const previous = running ?? Promise.resolve(undefined);
    const next: Promise<PurgeResult | undefined> = previous
      .catch(() => undefined)
      .then(() => (stopped ? undefined : pass()))
      .finally(() => {
        if (running === next) running = undefined;
      });
    running = next;
    return next;
  }

  function schedule() {
    if (stopped) return;
    const delay = config.retention.purgeIntervalMs * (0.8 + Math.random() * 0.4);
    // nothing waits on it: the process may exit between runs
    timer = setTimeout(() => {
      if (!running) run().catch((err: unknown) => logger.error({ err }, 'retention purge failed; it runs again later'));
      schedule();
    }, delay).unref();
  }

  run().catch((err: unknown) => logger.error({ err }, 'retention purge failed; it runs again later'));
  schedule();
  return {
    async purgeOnce() {
      const result = await run();
      if (!result) throw new Error('retention is stopped');
      return result;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
