/**
 * A pg-boss consumer for high-volume queues (webhook deliveries, operations): up to `concurrency`
 * jobs run at once, each on its own; free slots are filled by one `fetch`, and jobs that finished
 * together are completed (or failed back) by one statement, so a job that hangs holds only its own
 * slot. A job whose remaining work is only recording may release its slot early (`releaseSlot`):
 * the next jobs start while it records, and it is completed only when it returns. Semantics are
 * pg-boss's: a job whose process died returns to the queue when it expires.
 * docs/design-notes.md ("Deliveries run on their own").
 */
import type PgBoss from 'pg-boss';
import type { Logger } from '../log.ts';

export interface JobControl {
  /**
   * Frees the job's slot for another job while this one finishes (it stays held, and is completed
   * or failed back only when the handler returns). At most `concurrency` released jobs are held.
   */
  releaseSlot(): void;
}

export type JobHandler<T> = (job: PgBoss.JobWithMetadata<T>, control: JobControl) => Promise<void>;

export class JobConsumer<T extends object> {
  /** Every job taken and not yet finished, released or not. */
  private readonly running = new Set<string>();
  private readonly released = new Set<string>();
  private readonly completed: string[] = [];
  private readonly failed: { id: string; message: string }[] = [];
  private settling: Promise<void> | undefined;
  private stopped = false;
  /** Wakes the fetch loop: a slot was freed, work was queued, or the consumer is stopping. */
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private idle: (() => void) | undefined;

  constructor(
    private readonly boss: PgBoss,
    private readonly name: string,
    private readonly concurrency: number,
    private readonly handler: JobHandler<T>,
    private readonly pollingIntervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** New jobs may be waiting: fetch now rather than at the end of the polling interval. */
  wake(): void {
    this.wakeUp?.();
  }

  /**
   * Stops fetching and waits up to `timeoutMs` for the running jobs; those still running then
   * are failed back to the queue (as pg-boss's own shutdown does) so they are retried at once.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    if (this.running.size) {
      const allDone = new Promise<void>((resolve) => (this.idle = resolve));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([allDone, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    }
    for (const id of this.running) this.failed.push({ id, message: 'shut down while active' });
    this.running.clear();
    this.released.clear();
    while (this.settling || this.completed.length || this.failed.length) await this.settle();
  }

  /** Slots a fetch may fill: those not held by a job, while released jobs are within their own bound. */
  private free(): number {
    const holding = this.running.size - this.released.size;
    return Math.min(this.concurrency - holding, 2 * this.concurrency - this.running.size);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const free = this.free();
      if (free > 0) {
        let jobs: PgBoss.JobWithMetadata<T>[] = [];
        try {
          jobs = await this.boss.fetch<T>(this.name, { batchSize: free, includeMetadata: true });
        } catch (err) {
          this.logger.warn({ err, queue: this.name }, 'could not fetch jobs');
        }
        if (this.stopped) {
          // fetched while stopping: handed straight back
          for (const job of jobs) this.failed.push({ id: job.id, message: 'shut down while active' });
          break;
        }
        for (const job of jobs) this.runJob(job);
        // a full batch: more may be waiting, fetch again as soon as a slot is free
        if (jobs.length === free) {
          if (this.free() <= 0) await this.sleep(undefined);
          continue;
        }
      }
      await this.sleep(this.free() <= 0 ? undefined : this.pollingIntervalMs);
    }
  }

  /** Until woken (a slot freed, `wake()`, `stop()`), or `ms` when given. */
  private sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        // slots freed in the same moment are filled by one fetch
        setImmediate(done);
      };
    });
  }

  private runJob(job: PgBoss.JobWithMetadata<T>): void {
    this.running.add(job.id);
    const control: JobControl = {
      releaseSlot: () => {
        if (!this.running.has(job.id) || this.released.has(job.id)) return;
        this.released.add(job.id);
        this.wake();
      },
    };
    this.handler(job, control).then(
      () => this.finish(job.id, undefined),
      (err: unknown) => {
        this.logger.error({ err, queue: this.name, jobId: job.id }, 'job failed; the queue retries it');
        this.finish(job.id, err instanceof Error ? err.message : String(err));
      },
    );
  }

  private finish(id: string, error: string | undefined): void {
    // a job still running when stop() gave up was failed back already
    this.released.delete(id);
    if (!this.running.delete(id)) return;
    if (error === undefined) this.completed.push(id);
    else this.failed.push({ id, message: error });
    void this.settle();
    if (!this.running.size) this.idle?.();
    this.wake();
  }

  /** Completes and fails what finished, one statement each, one round at a time. */
  private settle(): Promise<void> {
    this.settling ??= this.settleAll().finally(() => {
      this.settling = undefined;
      if (this.completed.length || this.failed.length) void this.settle();
    });
    return this.settling;
  }

  private async settleAll(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (this.completed.length || this.failed.length) {
      const completed = this.completed.splice(0);
      const failed = this.failed.splice(0);
      try {
        if (completed.length) await this.boss.complete(this.name, completed);
        // one message per statement: the failures grouped by it
        const byMessage = new Map<string, string[]>();
        for (const f of failed) byMessage.set(f.message, [...(byMessage.get(f.message) ?? []), f.id]);
        // pg-boss takes output data with an array of ids too; its types say so only for one id
        const fail = this.boss.fail.bind(this.boss) as (name: string, ids: string[], data: object) => Promise<void>;
        for (const [message, ids] of byMessage) await fail(this.name, ids, { message });
      } catch (err) {
        // left active: the queue's maintenance returns them when they expire
        this.logger.warn({ err, queue: this.name, jobs: completed.length + failed.length }, 'could not settle jobs');
      }
    }
  }
}
