/**
 * The delivery worker: one attempt of one delivery per job. The attempt is signed (Standard
 * Webhooks, same `webhook-id` on every attempt), sent to the address the SSRF guard checked,
 * and recorded; policy.ts decides what follows (retry on the schedule, give up, disable on 410)
 * and whether the webhook's run of failures pauses it. The outcome, the next job and any
 * `webhook.paused` / `webhook.disabled` event are written in one transaction.
 */
import type PgBoss from 'pg-boss';
import type { Services } from '../context.ts';
import { forTenant, type TenantTx } from '../db/tenant.ts';
import { DELIVER_QUEUE, deliveryJob, type DeliverJob } from '../events/outbox.ts';
import { SILENT_REPORTER, type JobReporter } from '../observability/jobs.ts';
import { decideNext, shouldPause, type AttemptResult, type NextStep } from './policy.ts';
import { signingSecrets } from './secrets.ts';
import { deliveryGlobalId, webhookGlobalId } from './service.ts';
import { sendWebhook, type SendResult } from './sender.ts';
import { signDelivery } from './signing.ts';
import { checkWebhookUrl } from './ssrf.ts';

const SYSTEM_ACTOR = 'system:webhooks';

/**
 * Counts the attempt into the webhook's health (an atomic increment or reset) and applies the
 * policy: `410 Gone` disables an ACTIVE webhook, a run of WEBHOOK_PAUSE_AFTER_FAILURES failures
 * pauses it; either writes its event in the same transaction.
 */
async function recordHealth(services: Services, tx: TenantTx, webhookId: string, outcome: NextStep['kind'], status: number | null) {
  const succeeded = outcome === 'succeeded';
  const hook = await tx.webhook.update({
    where: { id: webhookId, deletedAt: undefined },
    data: {
      consecutiveFailures: succeeded ? 0 : { increment: 1 },
      lastDeliveryAt: new Date(),
      lastDeliveryStatus: status === null ? 'ERROR' : String(status),
    },
  });
  if (succeeded || hook.deletedAt || hook.status === 'DISABLED') return;
  const change =
    outcome === 'gone'
      ? ({ type: 'webhook.disabled', data: { status: 'DISABLED', disabledAt: new Date() } } as const)
      : hook.status === 'ACTIVE' && shouldPause(hook.consecutiveFailures, services.config.webhooks.pauseAfterFailures)
        ? ({ type: 'webhook.paused', data: { status: 'PAUSED', pausedAt: new Date() } } as const)
        : null;
  if (!change) return;
  await tx.webhook.update({ where: { id: webhookId }, data: { ...change.data, version: { increment: 1 } } });
  await services.outbox.record(tx, { tenantId: hook.tenantId, actorId: SYSTEM_ACTOR, appId: hook.appId }, {
    type: change.type,
    subjectId: hook.id,
    data: { webhookId: webhookGlobalId(hook.id), name: hook.name, consecutiveFailures: hook.consecutiveFailures, lastResponseStatus: status },
  });
}

export function deliveryWorker(services: Services, report: JobReporter = SILENT_REPORTER) {
  const { config, keyring } = services;
  return async (job: PgBoss.JobWithMetadata<DeliverJob>) => {
    const { tenantId, deliveryId } = job.data;
    const db = forTenant(services.prisma, tenantId);
    const delivery = await db.webhookDelivery.findUnique({ where: { id: deliveryId }, include: { webhook: true, event: true } });
    if (!delivery || delivery.status !== 'PENDING') return;
    if (job.data.attempt !== undefined && job.data.attempt !== delivery.attemptCount) return; // a duplicate job
    const { webhook, event } = delivery;
    // Paused: held until resumeWebhook queues it again. Deleted or disabled: never sent.
    if (webhook.status === 'PAUSED' && !webhook.deletedAt) return report.delivery('paused');
    if (webhook.status === 'DISABLED' || webhook.deletedAt) {
      await db.webhookDelivery.update({ where: { id: deliveryId }, data: { status: 'FAILED', nextAttemptAt: null, version: { increment: 1 } } });
      return report.delivery('cancelled');
    }

    const now = new Date();
    const failed = (error: string): SendResult => ({ startedAt: now, durationMs: 0, status: null, error, responseBody: null, retryAfter: null });
    const body = JSON.stringify({ type: event.type, timestamp: event.occurredAt.toISOString(), data: event.payload });
    let secrets: string[] | null = null;
    try {
      secrets = signingSecrets(keyring, webhook, now);
    } catch (err) {
      services.logger.error({ webhookId: webhook.id, error: (err as Error).message }, 'webhook signing secret could not be decrypted');
    }
    const target = await checkWebhookUrl(webhook.url, config.webhooks.allowHosts);
    // An attempt that cannot be made is still a failed attempt: it follows the schedule and ends.
    const sent: SendResult = !secrets
      ? failed('the signing secret could not be decrypted (is its key still in ENCRYPTION_KEYS?)')
      : !target.ok
        ? failed(`refused: ${target.reason}`)
        : await sendWebhook({
            url: target.url,
            address: target.addresses[0]!,
            headers: {
              ...(webhook.headers as Record<string, string>),
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
    const recorded = await services.queue.transaction(db, async (tx) => {
      // The guard and the write are one statement: only the run that moves the delivery from
      // this attempt count records it (a duplicate job that got here second writes nothing).
      const claimed = await tx.webhookDelivery.updateMany({
        where: { id: deliveryId, status: 'PENDING', attemptCount: delivery.attemptCount },
        data: {
          attemptCount: attemptNumber,
          status: next.kind === 'succeeded' ? 'SUCCEEDED' : next.kind === 'retry' ? 'PENDING' : 'FAILED',
          nextAttemptAt,
          version: { increment: 1 },
          updatedBy: SYSTEM_ACTOR,
        },
      });
      if (claimed.count !== 1) return false;
      await tx.deliveryAttempt.create({
        data: {
          tenantId,
          deliveryId,
          attemptNumber,
          startedAt: sent.startedAt,
          durationMs: Math.round(sent.durationMs),
          responseStatus: sent.status,
          error: sent.error,
          responseBody: sent.responseBody,
          createdBy: SYSTEM_ACTOR,
        },
      });
      if (nextAttemptAt) {
        const retry = { tenantId, id: deliveryId, attemptCount: attemptNumber };
        await services.queue.enqueueMany(tx, DELIVER_QUEUE, [deliveryJob(retry, webhook.timeoutMs, nextAttemptAt)]);
      }
      // The webhook's health last: the row lock this update takes is held only until the commit.
      await recordHealth(services, tx, webhook.id, next.kind, sent.status);
      return true;
    });
    if (!recorded) return;
    report.delivery(next.kind, sent.status);
    services.pubsub.publish('webhook:delivery', tenantId, { deliveryId, webhookId: webhook.id });
  };
}
