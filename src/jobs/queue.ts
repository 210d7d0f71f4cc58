/**
 * Durable background work on pg-boss, in the application's own database. Jobs are written
 * through the caller's transaction (`enqueue(tx, …)`), so a job exists exactly when the change
 * that caused it committed; pg-boss's row locking (SKIP LOCKED) hands each job to one worker
 * across any number of processes.
 */
import PgBoss from 'pg-boss';
import type { Logger } from '../log.ts';

export interface RawExecutor {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
}

/** pg-boss's `db` option bound to a Prisma transaction. */
export function transactionExecutor(tx: RawExecutor): PgBoss.Db {
  return { executeSql: async (text, values) => ({ rows: await tx.$queryRawUnsafe<unknown[]>(text, ...(values ?? [])) }) };
}

export interface QueueDefinition {
  name: string;
  retryLimit: number;
  retryDelaySeconds: number;
  retryBackoff: boolean;
  expireInSeconds: number;
}

export type JobHandler<T> = (job: PgBoss.JobWithMetadata<T>) => Promise<void>;

export class JobQueue {
  readonly boss: PgBoss;
  private readonly workerIds = new Map<string, string[]>();

  constructor(
    connection: PgBoss.DatabaseOptions,
    private readonly logger: Logger,
    private readonly pollingIntervalSeconds = 2,
  ) {
    this.boss = new PgBoss({ ...connection, schedule: false, supervise: true, migrate: true });
    this.boss.on('error', (err) => this.logger.error({ err }, 'job queue error'));
  }

  async start(queues: QueueDefinition[]): Promise<void> {
    await this.boss.start();
    for (const q of queues) {
      if (await this.boss.getQueue(q.name)) continue;
      await this.boss.createQueue(q.name, {
        name: q.name,
        retryLimit: q.retryLimit,
        retryDelay: q.retryDelaySeconds,
        retryBackoff: q.retryBackoff,
        expireInSeconds: q.expireInSeconds,
      });
    }
  }

  /** Writes a job inside the caller's transaction. */
  async enqueue(tx: RawExecutor, name: string, data: object, options: PgBoss.SendOptions = {}): Promise<void> {
    await this.boss.send(name, data, { ...options, db: transactionExecutor(tx) });
  }

  /** Starts `concurrency` pollers for a queue; each takes one job at a time. */
  async work<T extends object>(name: string, concurrency: number, handler: JobHandler<T>): Promise<void> {
    const ids: string[] = [];
    for (let i = 0; i < concurrency; i++) {
      ids.push(
        await this.boss.work<T>(
          name,
          { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: this.pollingIntervalSeconds },
          async ([job]) => {
            if (job) await handler(job);
          },
        ),
      );
    }
    this.workerIds.set(name, ids);
  }

  /** Wakes this process's idle workers of a queue (after a commit that enqueued work). */
  wake(name: string): void {
    for (const id of this.workerIds.get(name) ?? []) this.boss.notifyWorker(id);
  }

  async stop(): Promise<void> {
    await this.boss.stop({ graceful: true, wait: true, timeout: 10_000 });
  }
}
