/**
 * Durable background work on pg-boss, in the application's own database. Jobs are written
 * through the caller's transaction (`enqueue(tx, …)`), so a job exists exactly when the change
 * that caused it committed; pg-boss's row locking (SKIP LOCKED) hands each job to one worker
 * across any number of processes.
 */
import PgBoss from 'pg-boss';
import type { RawTransactions, RawTx } from '../db/raw-transaction.ts';
import { tenantTransaction } from '../db/tenant.ts';
import type { Logger } from '../log.ts';
import { JobConsumer, type JobHandler } from './consumer.ts';

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

export interface QueuedJob {
  data: object;
  startAfter?: Date;
  /** How long a worker may hold the job before it counts as crashed and runs again. */
  expireInSeconds?: number;
}

export type { JobHandler };

export class JobQueue {
  readonly boss: PgBoss;
  private readonly workerIds = new Map<string, string[]>();
  private readonly consumers = new Map<string, JobConsumer<object>>();
  /** Queues each open transaction enqueued to, so their workers are woken after the commit. */
  private readonly touched = new WeakMap<object, Set<string>>();

  constructor(
    connection: PgBoss.DatabaseOptions,
    private readonly logger: Logger,
    private readonly pollingIntervalSeconds = 2,
    maintenanceIntervalSeconds = 30,
  ) {
    // Maintenance also returns the jobs of a crashed worker to the queue once they expire.
    this.boss = new PgBoss({ ...connection, schedule: false, supervise: true, migrate: true, maintenanceIntervalSeconds });
    this.boss.on('error', (err) => this.logger.error({ err }, 'job queue error'));
  }

  async start(queues: QueueDefinition[]): Promise<void> {
    await this.boss.start();
    for (const q of queues) {
      const options = {
        name: q.name,
        retryLimit: q.retryLimit,
        retryDelay: q.retryDelaySeconds,
        retryBackoff: q.retryBackoff,
        expireInSeconds: q.expireInSeconds,
      };
      // settings follow the configuration on every start, not only the first
      if (await this.boss.getQueue(q.name)) await this.boss.updateQueue(q.name, options);
      else await this.boss.createQueue(q.name, options);
    }
  }

  /**
   * Runs `fn` in a transaction of `db`; after the commit, wakes this process's workers of every
   * queue the transaction enqueued to (waking them earlier would find the jobs invisible).
   */
  transaction<Tx extends RawExecutor, T>(
    db: { $transaction<R>(fn: (tx: Tx) => Promise<R>): Promise<R> },
    fn: (tx: Tx) => Promise<T>,
  ): Promise<T> {
    return this.waking((inner) => tenantTransaction<Tx, T>(db, inner), fn);
  }

  /** As `transaction`, in a raw one of `tenantId` (src/db/raw-transaction.ts). */
  rawTransaction<T>(transactions: RawTransactions, tenantId: string, fn: (tx: RawTx) => Promise<T>): Promise<T> {
    return this.waking((inner) => transactions.run(tenantId, inner), fn);
  }

  private async waking<Tx extends object, T>(run: (fn: (tx: Tx) => Promise<T>) => Promise<T>, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const touched = new Set<string>();
    const result = await run((tx) => {
      this.touched.set(tx, touched);
      return fn(tx);
    });
    for (const name of touched) this.wake(name);
    return result;
  }

  /** Writes a job inside the caller's transaction. */
  async enqueue(tx: RawExecutor, name: string, data: object, options: PgBoss.SendOptions = {}): Promise<void> {
    this.touched.get(tx)?.add(name);
    await this.boss.send(name, data, { ...options, db: transactionExecutor(tx) });
  }

  /** Writes several jobs of one queue inside the caller's transaction, in one statement. */
  async enqueueMany(tx: RawExecutor, name: string, jobs: QueuedJob[]): Promise<void> {
    if (!jobs.length) return;
    this.touched.get(tx)?.add(name);
    await this.boss.insert(
      jobs.map((j) => ({ name, data: j.data, startAfter: j.startAfter, expireInSeconds: j.expireInSeconds })),
      { db: transactionExecutor(tx) },
    );
  }

  /** Starts `concurrency` pollers for a queue; each takes one job at a time. */
  async work<T extends object>(name: string, concurrency: number, handler: JobHandler<T>): Promise<void> {
    const ids: string[] = [];
    for (let i = 0; i < concurrency; i++) {
      let id = '';
      id = await this.boss.work<T>(
        name,
        { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: this.pollingIntervalSeconds },
        async ([job]) => {
          if (!job) return;
          // pg-boss 10 sleeps a polling interval even after a fetch that found work; waking
          // the poller makes it fetch again at once while the queue has jobs.
          try {
            // one job per poller: its slot is its own, there is none to release early
            await handler(job, { releaseSlot() {} });
          } finally {
            if (id) this.boss.notifyWorker(id);
          }
        },
      );
      ids.push(id);
    }
    this.workerIds.set(name, ids);
  }

  /**
   * Runs up to `concurrency` jobs of a high-volume queue at once, fetching and completing them in
   * batches (src/jobs/consumer.ts); each job still succeeds or fails on its own.
   */
  consume<T extends object>(name: string, concurrency: number, handler: JobHandler<T>): JobConsumer<T> {
    const consumer = new JobConsumer<T>(this.boss, name, concurrency, handler, this.pollingIntervalSeconds * 1000, this.logger);
    this.consumers.set(name, consumer as unknown as JobConsumer<object>);
    consumer.start();
    return consumer;
  }

  /** Wakes this process's idle workers of a queue (after a commit that enqueued work). */
  wake(name: string): void {
    for (const id of this.workerIds.get(name) ?? []) this.boss.notifyWorker(id);
    this.consumers.get(name)?.wake();
  }

  /**
   * Stops taking jobs and waits up to `timeoutMs` for the running ones; any still running then are
   * failed back to the queue (pg-boss's shutdown), so another worker retries them at once
   * instead of after their expiry.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all([...this.consumers.values()].map((c) => c.stop(timeoutMs)));
    this.consumers.clear();
    timeoutMs = Math.max(1000, deadline - Date.now());
    await this.boss.stop({ graceful: true, wait: true, timeout: timeoutMs });
  }
}
