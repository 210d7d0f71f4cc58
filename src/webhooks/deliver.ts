/**
 * The delivery worker: one attempt of one delivery per job, signed (Standard Webhooks, the same
 * `webhook-id` on every attempt) and sent to the address the SSRF guard checked; policy.ts decides
 * what follows and attempts.ts records it. Deliveries of jobs started together are read by one
 * statement per tenant. A signing secret that cannot be decrypted holds the job for later, with no
 * attempt made or counted (src/crypto/unreadable.ts).
 */
import DataLoader from 'dataloader';
import type PgBoss from 'pg-boss';
import { heldJobDelayMs, isDecryptionError, type SealedRecord } from '../crypto/unreadable.ts';
import { tenantDb } from '../db/tenant.ts';
import type { Event, PrismaClient, Webhook, WebhookDelivery } from '../generated/prisma/client.ts';
import { deliveryGlobalId } from '../ids.ts';
import { groupBy } from '../jobs/group-commit.ts';
import { type JobReporter, SILENT_REPORTER } from '../observability/jobs.ts';
import type { Services } from '../services.ts';
import { attemptRecorder } from './attempts.ts';
import { headersOpener, type StaticHeaders } from './headers.ts';
import { type AttemptResult, decideNext } from './policy.ts';
import { DELIVER_QUEUE, type DeliverJob, deliveryJob } from './queue.ts';
import { signingSecretsOpener } from './secrets.ts';
import { type SendResult, sendWebhook } from './sender.ts';
import { signDelivery } from './signing.ts';
import { checkWebhookUrl } from './ssrf.ts';

/** Jobs of the delivery queue one process runs at once (each holds a slot until its attempt is recorded). */
export const DELIVERY_CONCURRENCY = 64;

type LoadedDelivery = WebhookDelivery & { webhook: Webhook; event: Event };

type DeliveryKey = { tenantId: string; deliveryId: string };

/** The deliveries of the jobs started in one tick, with webhook and event: one read per tenant. */
function deliveryLoader(prisma: PrismaClient) {
  return new DataLoader<DeliveryKey, LoadedDelivery | null, string>(
    async (keys) => {
      const found = new Map<string, LoadedDelivery | Error>();
      await Promise.all(
        [...groupBy(keys, (k) => k.tenantId)].map(async ([tenantId, ofTenant]) => {
          const ids = ofTenant.map((k) => k.deliveryId);
          try {
            const rows = await tenantDb(prisma, tenantId).webhookDelivery.findMany({
              where: { id: { in: ids } },
              include: { webhook: true, event: true },
            });
            for (const row of rows) found.set(`${tenantId}:${row.id}`, row);
          } catch (err) {
            // this tenant's jobs fail (and are retried); the others go on
            for (const id of ids) found.set(`${tenantId}:${id}`, err instanceof Error ? err : new Error(String(err)));
          }
        }),
      );
      return keys.map((k) => found.get(`${k.tenantId}:${k.deliveryId}`) ?? null);
    },
    { cache: false },
  );
}

/** A delivery job; `held` counts the times it was put back because the signing secret did not open. */
type HeldDeliverJob = DeliverJob & { held?: number };

/** Queues the same attempt again for later (never given up), in place of this job; the delivery is untouched. */
async function holdForLater(services: Services, delivery: LoadedDelivery, data: HeldDeliverJob): Promise<void> {
  const held = data.held ?? 0;
  const job = deliveryJob(delivery, delivery.webhook.timeoutMs, new Date(Date.now() + heldJobDelayMs(held)));
  await services.queue.transaction(tenantDb(services.prisma, delivery.tenantId), (tx) =>
    services.queue.enqueueMany(tx, DELIVER_QUEUE, [{ ...job, data: { ...job.data, held: held + 1 } }]),
  );
}

export function deliveryWorker(services: Services, report: JobReporter = SILENT_REPORTER) {
  const { config, keyring } = services;
  const loader = deliveryLoader(services.prisma);
  const recordAttempt = attemptRecorder(services);
  const signingSecrets = signingSecretsOpener(keyring);
  const staticHeaders = headersOpener(keyring);
  return async (job: PgBoss.JobWithMetadata<HeldDeliverJob>) => {
    const { tenantId, deliveryId } = job.data;
    const delivery = await loader.load({ tenantId, deliveryId });
    if (delivery?.status !== 'PENDING') return;
    if (job.data.attempt !== undefined && job.data.attempt !== delivery.attemptCount) return; // a duplicate job
    const { webhook, event } = delivery;
    // Paused: held until resumeWebhook queues it again. Deleted or disabled: never sent.
    if (webhook.status === 'PAUSED' && !webhook.deletedAt) return report.delivery('paused');
    if (webhook.status === 'DISABLED' || webhook.deletedAt) {
      await tenantDb(services.prisma, tenantId).webhookDelivery.update({
        where: { id: deliveryId },
        data: { status: 'FAILED', nextAttemptAt: null, version: { increment: 1 } },
      });
      return report.delivery('cancelled');
    }

    const now = new Date();
    let secrets: string[];
    let custom: StaticHeaders;
    let opening: SealedRecord = 'webhook_signing_secret';
    try {
      secrets = signingSecrets(webhook, now);
      opening = 'webhook_headers';
      custom = staticHeaders(webhook);
    } catch (err) {
      if (!isDecryptionError(err)) throw err;
      // no attempt, no failure in the webhook's health, no pause, no event: held as it is
      services.decryptionFailed(opening, err, { webhookId: webhook.id, deliveryId, work: 'delivery', held: (job.data.held ?? 0) + 1 });
      await holdForLater(services, delivery, job.data);
      return report.delivery('held');
    }
    const failed = (error: string): SendResult => ({
      startedAt: now,
      durationMs: 0,
      status: null,
      error,
      responseBody: null,
      retryAfter: null,
    });
    const body = JSON.stringify({ type: event.type, timestamp: event.occurredAt.toISOString(), data: event.payload });
    const target = await checkWebhookUrl(webhook.url, config.webhooks.allowHosts);
    // An attempt that cannot be made is still a failed attempt: it follows the schedule and ends.
    const sent: SendResult = !target.ok
      ? failed(`refused: ${target.reason}`)
      : await sendWebhook({
          url: target.url,
          address: target.addresses[0]!,
          headers: {
            ...custom,
            'content-type': 'application/json',
            // webhook-id is the delivery's API id, so receivers can look the delivery up
            ...signDelivery({ msgId: deliveryGlobalId(delivery.id), timestamp: now, body, secrets }),
          },
          body,
          timeoutMs: webhook.timeoutMs,
        });
    const result: AttemptResult = { status: sent.status, error: sent.error, retryAfter: sent.retryAfter };

    const attemptNumber = delivery.attemptCount + 1;
    const next = decideNext({
      result,
      attemptsMade: attemptNumber,
      maxAttempts: webhook.maxAttempts,
      schedule: config.webhooks.retrySchedule,
      now: new Date(),
    });
    const nextAttemptAt = next.kind === 'retry' ? new Date(Date.now() + next.delayMs) : null;
    const recorded = await recordAttempt({ tenantId, delivery, attemptNumber, sent, next, nextAttemptAt });
    if (!recorded) return;
    report.delivery(next.kind, sent.status);
    services.pubsub.publish('webhook:delivery', tenantId, { deliveryId, webhookId: webhook.id });
  };
}
