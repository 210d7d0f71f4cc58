/**
 * The operation queue: its name, its job shape and settings. requestOperation queues a job in the
 * transaction that stores the operation; the worker (worker.ts) walks its candidates; a walk in
 * which every candidate failed transiently queues the next walk on OPERATION_RETRY_SCHEDULE.
 */
import type { Config } from '../config.ts';
import type { QueueDefinition, QueuedJob } from '../jobs/queue.ts';
import { PROVIDERS } from '../providers/catalog.ts';

export const OPERATION_QUEUE = 'operation-run';
/**
 * Operations whose input may weigh megabytes (a document to sign): a queue of their own, run fewer
 * at once (LARGE_OPERATION_CONCURRENCY), so a process never holds hundreds of documents.
 */
export const LARGE_OPERATION_QUEUE = 'operation-run-large';
const LARGE_INPUT_CAPABILITIES: ReadonlySet<string> = new Set(['request_signature']);

/** The queue an operation of this capability runs on. */
export function operationQueueOf(capability: string): string {
  return LARGE_INPUT_CAPABILITIES.has(capability) ? LARGE_OPERATION_QUEUE : OPERATION_QUEUE;
}

export interface OperationJob {
  tenantId: string;
  operationId: string;
  /** The walk this job runs; a job for another walk than the operation's is a duplicate and dropped. */
  walk: number;
  /** Times it was put back because credentials or input did not decrypt (src/crypto/unreadable.ts). */
  held?: number;
  /** The only candidate, for a follow-up of what this integration made (capabilities.ts FOLLOW_UPS). */
  integrationId?: string;
}

/**
 * The most candidates a walk can have: one integration per provider of the tenant, so the number
 * of providers that run the capability with the most of them.
 */
const MAX_CANDIDATES = Math.max(
  1,
  ...PROVIDERS.flatMap((p) => p.capabilities).map((c) => PROVIDERS.filter((p) => p.operations?.[c]).length),
);

/**
 * How long one walk can take: every candidate at the provider-call timeout, and 30 s for its
 * statements. A worker that died mid-walk releases the job after this, and the walk runs again (at
 * least once toward the provider).
 */
export function walkExpirySeconds(timeoutMs: number): number {
  return Math.ceil(timeoutMs / 1000) * MAX_CANDIDATES + 30;
}

export function operationJob(job: OperationJob, timeoutMs: number, startAfter?: Date): QueuedJob {
  return { data: job, startAfter, expireInSeconds: walkExpirySeconds(timeoutMs) };
}

/** Provider failures are retried by the worker on its schedule; the queue's retries cover a worker that threw or died. */
export function operationQueues(operations: Config['operations']): QueueDefinition[] {
  return [OPERATION_QUEUE, LARGE_OPERATION_QUEUE].map((name) => ({
    name,
    retryLimit: 20,
    retryDelaySeconds: 1,
    retryBackoff: true,
    expireInSeconds: walkExpirySeconds(operations.timeoutMs),
  }));
}
