/**
 * What the background workers say about each job they finish: the outcome is counted in the
 * metrics and set on the job's span. Workers take a JobReporter; without one they report
 * nothing (scripts and tests that call a worker directly).
 */
import type { Metrics } from './metrics.ts';
import type { Tracing } from './tracing.ts';

/**
 * A delivery job's end: an attempt's result as policy.ts decided it (`succeeded`, `retry`,
 * `failed` after the last attempt, `gone` on 410), or why nothing was sent: the webhook is
 * `paused` (held until resumed) or was disabled or deleted (`cancelled`), or its signing secret
 * could not be decrypted (`held`: queued again for later, src/crypto/unreadable.ts).
 */
export type DeliveryOutcome = 'succeeded' | 'retry' | 'failed' | 'gone' | 'paused' | 'cancelled' | 'held';

/**
 * A verification's end: the integration became `active` or went to `error`, a transient
 * failure will be retried (`retry`), the integration changed meanwhile and the result was
 * dropped (`superseded`), or its credentials could not be decrypted and the job was queued again
 * for later, the integration untouched (`held`).
 */
export type VerificationOutcome = 'active' | 'error' | 'retry' | 'superseded' | 'held';

export interface JobReporter {
  delivery(outcome: DeliveryOutcome, responseStatus?: number | null): void;
  verification(provider: string, outcome: VerificationOutcome): void;
  /** One provider call of an operation and its outcome (src/operations/call.ts). */
  providerCall(provider: string, outcome: string): void;
}

export const SILENT_REPORTER: JobReporter = { delivery() {}, verification() {}, providerCall() {} };

export function jobReporter(metrics: Metrics, tracing: Tracing): JobReporter {
  return {
    delivery(outcome, responseStatus) {
      metrics.deliveries.inc({ outcome });
      tracing.annotateJob({
        'icp.delivery.outcome': outcome,
        ...(typeof responseStatus === 'number' ? { 'http.response.status_code': responseStatus } : {}),
      });
    },
    verification(provider, outcome) {
      metrics.verifications.inc({ provider, outcome });
      tracing.annotateJob({ 'icp.provider': provider, 'icp.verification.outcome': outcome });
    },
    providerCall(provider, outcome) {
      metrics.providerCalls.inc({ provider, outcome });
      tracing.annotateJob({ 'icp.provider': provider, 'icp.operation.attempt.outcome': outcome });
    },
  };
}
