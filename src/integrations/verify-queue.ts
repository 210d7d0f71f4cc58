/**
 * The verification queue: its name, its job shape and settings. The use cases (service.ts) queue
 * a job when the lifecycle asks for a check; the worker (verify-worker.ts) runs it.
 */
import type { Config } from '../config.ts';
import type { QueueDefinition } from '../jobs/queue.ts';

export const VERIFY_QUEUE = 'integration-verify';

export interface VerifyJob {
  tenantId: string;
  integrationId: string;
  /** The credentials revision to check; a later revision supersedes the job. */
  revision: number;
}

/** Transient failures (network, 5xx, 429) are retried by the queue, VERIFY_RETRY_LIMIT times with backoff. */
export function verifyQueue(verification: Config['verification']): QueueDefinition {
  return {
    name: VERIFY_QUEUE,
    retryLimit: verification.retryLimit,
    retryDelaySeconds: verification.retryDelaySeconds,
    retryBackoff: true,
    expireInSeconds: Math.ceil(verification.timeoutMs / 1000) * 4 + 60,
  };
}
