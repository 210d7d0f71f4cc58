/**
 * The delivery queue: its name, its job shape and settings. The outbox queues one job per
 * delivery in the transaction that records the event; the worker (deliver.ts) runs them.
 */
import type { QueueDefinition, QueuedJob } from '../jobs/queue.ts';

export const DELIVER_QUEUE = 'webhook-deliver';

export interface DeliverJob {
  tenantId: string;
  deliveryId: string;
  /**
   * The delivery's attemptCount when the job was queued. A job whose attempt was already made
   * (a resumed webhook re-queues what a retry job also holds; an expired job runs again) is
   * dropped, so duplicates never run a delivery ahead of its schedule.
   */
  attempt?: number;
}

/**
 * A delivery job. Its expiry follows the webhook's timeout: a worker that died mid-attempt
 * releases the delivery soon after the attempt could have ended, and it is attempted again
 * (at least once, with the same webhook-id).
 */
export function deliveryJob(
  delivery: { tenantId: string; id: string; attemptCount: number },
  timeoutMs: number,
  startAfter?: Date,
): QueuedJob {
  const data: DeliverJob = { tenantId: delivery.tenantId, deliveryId: delivery.id, attempt: delivery.attemptCount };
  return { data, startAfter, expireInSeconds: Math.ceil(timeoutMs / 1000) + 15 };
}

/**
 * HTTP failures are retried on WEBHOOK_RETRY_SCHEDULE by the worker itself; the queue's own
 * retries only cover a worker that crashed or threw mid-attempt.
 */
export function deliverQueue(maxTimeoutMs: number): QueueDefinition {
  return {
    name: DELIVER_QUEUE,
    retryLimit: 20,
    retryDelaySeconds: 1,
    retryBackoff: true,
    expireInSeconds: Math.ceil(maxTimeoutMs / 1000) + 30,
  };
}
