/**
 * Every queue of the service and its worker, in one list: the definitions the queue creates at
 * start-up, and the workers a WORKER=true process runs. Each queue lives with its domain
 * (src/integrations/verify-queue.ts, src/webhooks/queue.ts, src/operations/queue.ts).
 */
import type { Config } from '../config.ts';
import { VERIFY_QUEUE, verifyQueue } from '../integrations/verify-queue.ts';
import { verifyIntegrationWorker } from '../integrations/verify-worker.ts';
import { jobReporter } from '../observability/jobs.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Tracing } from '../observability/tracing.ts';
import { LARGE_OPERATION_QUEUE, OPERATION_QUEUE, operationQueues } from '../operations/queue.ts';
import { LARGE_OPERATION_CONCURRENCY, OPERATION_CONCURRENCY, operationWorker } from '../operations/worker.ts';
import type { Services } from '../services.ts';
import { DELIVERY_CONCURRENCY, deliveryWorker } from '../webhooks/deliver.ts';
import { DELIVER_QUEUE, deliverQueue } from '../webhooks/queue.ts';
import { MAX_TIMEOUT_MS } from '../webhooks/service.ts';
import type { QueueDefinition } from './queue.ts';

/** The queue names, for the queue-depth metrics. */
export const QUEUE_NAMES = [VERIFY_QUEUE, DELIVER_QUEUE, OPERATION_QUEUE, LARGE_OPERATION_QUEUE];

export function queueDefinitions(config: Config): QueueDefinition[] {
  return [verifyQueue(config.verification), deliverQueue(MAX_TIMEOUT_MS), ...operationQueues(config.operations)];
}

/** Starts this process's workers, each job traced and its outcome counted. */
export async function startWorkers(services: Services, metrics: Metrics, tracing: Tracing): Promise<void> {
  const { queue } = services;
  const report = jobReporter(metrics, tracing);
  await queue.work(VERIFY_QUEUE, 2, tracing.traceJob(VERIFY_QUEUE, verifyIntegrationWorker(services, report)));
  queue.consume(DELIVER_QUEUE, DELIVERY_CONCURRENCY, tracing.traceJob(DELIVER_QUEUE, deliveryWorker(services, report)));
  // one worker, two queues: the same walk, fewer of those that carry a document
  const operations = operationWorker(services, report);
  queue.consume(OPERATION_QUEUE, OPERATION_CONCURRENCY, tracing.traceJob(OPERATION_QUEUE, operations));
  queue.consume(LARGE_OPERATION_QUEUE, LARGE_OPERATION_CONCURRENCY, tracing.traceJob(LARGE_OPERATION_QUEUE, operations));
}
