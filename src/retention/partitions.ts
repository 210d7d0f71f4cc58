/**
 * Time partitions of history on PostgreSQL servers (migration history_partitions): makes the
 * days ahead, and drops whole the partitions whose rows have all expired, before the batched
 * purge (purge.ts) deletes what the legacy and default partitions hold. Each call below is one
 * short transaction as the tables' owner (SECURITY DEFINER), and a drop is one partition (with its
 * attempts), so a table's lock is held for a moment. docs/scaling.md ("Partitioning by time").
 */
import type { PrismaClient } from '../generated/prisma/client.ts';
import { type RetentionWindows, windowSeconds } from './windows.ts';

/** Days of partitions kept made ahead: a run that fails has a week to succeed before rows need them. */
export const PARTITION_DAYS_AHEAD = 7;

/** In this order: a day's deliveries (with their attempts) leave before the events they carry. */
export const PARTITION_FAMILIES = [
  { family: 'deliveries', window: 'dataMs' },
  { family: 'events', window: 'dataMs' },
  { family: 'operations', window: 'dataMs' },
  { family: 'audit', window: 'auditMs' },
] as const;

export interface PartitionResult {
  /** Partitions made ahead. */
  created: number;
  /** Partitions that could not be made this time, with why (their table was busy: tried next run). */
  failed: string[];
  /** Partitions dropped, attempts' partitions not named (they go with their parent's). */
  dropped: string[];
  /** Expired partitions kept: a row in them has not expired, or rows elsewhere refer to them. */
  kept: string[];
  /** Another instance was purging: this run stopped and left the rest to it. */
  yielded: boolean;
}

/** One run: the partitions ahead, then every expired partition of each family, oldest first. */
export async function maintainPartitions(
  prisma: PrismaClient,
  windows: RetentionWindows,
  keepGoing: () => boolean = () => true,
): Promise<PartitionResult> {
  const result: PartitionResult = { created: 0, failed: [], dropped: [], kept: [], yielded: false };
  // one partition a call (a transaction of its own): each holds its table's lock for a moment only
  const tried: string[] = [];
  while (keepGoing()) {
    const [row] = await prisma.$queryRaw<{ done: string | null }[]>`
      SELECT icp_create_history_partition(${PARTITION_DAYS_AHEAD}::int, ${tried}::text[]) AS done`;
    const done = row?.done;
    if (!done) break;
    const [what, name] = done.split(/[ :]/, 2) as [string, string];
    tried.push(name);
    if (what === 'made') result.created++;
    else result.failed.push(done.slice('failed '.length));
  }
  for (const { family, window } of PARTITION_FAMILIES) {
    const seconds = windowSeconds(windows, window);
    let after = '';
    while (keepGoing()) {
      const [row] = await prisma.$queryRaw<{ done: string | null }[]>`
        SELECT icp_drop_expired_partition(${family}::text, ${seconds}::bigint, ${after}::text) AS done`;
      const done = row?.done;
      if (!done) break;
      if (done === 'busy') return { ...result, yielded: true };
      const [what, name] = done.split(' ') as [string, string];
      (what === 'dropped' ? result.dropped : result.kept).push(name);
      after = name;
    }
  }
  return result;
}
