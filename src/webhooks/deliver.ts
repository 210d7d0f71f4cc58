/**
 * The delivery worker: one attempt of one delivery per job. The attempt is signed (Standard
 * Webhooks, same `webhook-id` on every attempt), sent to the address the SSRF guard checked,
 * and recorded; policy.ts decides what follows (retry on the schedule, give up, disable on 410)
 * and whether the webhook's run of failures pauses it. The outcome, the next job and any
 * `webhook.paused` / `webhook.disabled` event are written in one transaction.
 */
import type PgBoss from 'pg-boss';
import type { Services } from '../context.ts';
import { lockForUpdate } from '../db/lock.ts';
import { forTenant } from '../db/tenant.ts';
import { DELIVER_QUEUE, deliveryJob, type DeliverJob } from '../events/outbox.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { decideNext, shouldPause, type AttemptResult } from './policy.ts';
import { signingSecrets } from './secrets.ts';
import { deliveryGlobalId, webhookGlobalId } from './service.ts';
import { sendWebhook, type SendResult } from './sender.ts';
import { signDelivery } from './signing.ts';
import { checkWebhookUrl } from './ssrf.ts';

const SYSTEM_ACTOR = 'system:webhooks';

export function deliveryWorker(services: Services) {
  const { config, keyring } = services;
  return async (job: PgBoss.JobWithMetadata<DeliverJob>) => {
    const { tenantId, deliveryId } = job.data;
    const db = forTenant(services.prisma, tenantId);
    const delivery = await db.webhookDelivery.findUnique({ where: { id: deliveryId }, include: { webhook: true, event: true } });
    if (!delivery || delivery.status !== 'PENDING') return;
    const { webhook, event } = delivery;
    // Paused: held until resumeWebhook queues it again. Deleted or disabled: never sent.
    if (webhook.status === 'PAUSED' && !webhook.deletedAt) return;
    if (webhook.status === 'DISABLED' || webhook.deletedAt) {
      await db.webhookDelivery.update({ where: { id: deliveryId }, data: { status: 'FAILED', nextAttemptAt: null, version: { increment: 1 } } });
      return;
    }

    const now = new Date();
    const body = JSON.stringify({ type: event.type, timestamp: event.occurredAt.toISOString(), data: event.payload });
    const headers: Record<string, string> = {
      ...(webhook.headers as Record<string, string>),
      'content-type': 'application/json',
      // webhook-id is the delivery's API id, so receivers can look the delivery up
      ...signDelivery({ msgId: deliveryGlobalId(delivery.id), timestamp: now, body, secrets: signingSecrets(keyring, webhook, now) }),
    };
    const target = await checkWebhookUrl(webhook.url, config.webhooks.allowHosts);
    const sent: SendResult = target.ok
      ? await sendWebhook({ url: target.url, address: target.addresses[0]!, headers, body, timeoutMs: webhook.timeoutMs })
      : { startedAt: now, durationMs: 0, status: null, error: `refused: ${target.reason}`, responseBody: null, retryAfter: null };
    const result: AttemptResult = { status: sent.status, error: sent.error, retryAfter: sent.retryAfter };

    const outcome = await services.queue.transaction(db, async (tx) => {
      await lockForUpdate(tx, 'Webhook', tenantId, webhook.id);
      const current = await tx.webhookDelivery.findUnique({ where: { id: deliveryId } });
      if (!current || current.status !== 'PENDING') return null; // a duplicate run got here first
      const hook = await tx.webhook.findUniqueOrThrow({ where: { id: webhook.id, deletedAt: undefined } });
      const attemptNumber = current.attemptCount + 1;
      const next = decideNext({
        result,
        attemptsMade: attemptNumber,
        maxAttempts: hook.maxAttempts,
        schedule: config.webhooks.retrySchedule,
        now: new Date(),
      });
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
      const nextAttemptAt = next.kind === 'retry' ? new Date(Date.now() + next.delayMs) : null;
      const updated = await tx.webhookDelivery.update({
        where: { id: deliveryId },
        data: {
          attemptCount: attemptNumber,
          status: next.kind === 'succeeded' ? 'SUCCEEDED' : next.kind === 'retry' ? 'PENDING' : 'FAILED',
          nextAttemptAt,
          version: { increment: 1 },
          updatedBy: SYSTEM_ACTOR,
        },
      });
      if (nextAttemptAt) {
        await services.queue.enqueueMany(tx, DELIVER_QUEUE, [deliveryJob(tenantId, deliveryId, hook.timeoutMs, nextAttemptAt)]);
      }

      const succeeded = next.kind === 'succeeded';
      const failures = succeeded ? 0 : hook.consecutiveFailures + 1;
      const data: Prisma.WebhookUpdateInput = {
        consecutiveFailures: failures,
        lastDeliveryAt: new Date(),
        lastDeliveryStatus: sent.status === null ? 'ERROR' : String(sent.status),
      };
      let change: 'webhook.paused' | 'webhook.disabled' | null = null;
      if (hook.status === 'ACTIVE' && next.kind === 'gone') {
        Object.assign(data, { status: 'DISABLED', disabledAt: new Date(), version: { increment: 1 } });
        change = 'webhook.disabled';
      } else if (hook.status === 'ACTIVE' && !succeeded && shouldPause(failures, config.webhooks.pauseAfterFailures)) {
        Object.assign(data, { status: 'PAUSED', pausedAt: new Date(), version: { increment: 1 } });
        change = 'webhook.paused';
      }
      await tx.webhook.update({ where: { id: hook.id }, data });
      if (change) {
        await services.outbox.record(tx, { tenantId, actorId: SYSTEM_ACTOR, appId: hook.appId }, {
          type: change,
          subjectId: hook.id,
          data: {
            webhookId: webhookGlobalId(hook.id),
            name: hook.name,
            consecutiveFailures: failures,
            lastResponseStatus: sent.status,
          },
        });
      }
      return updated;
    });
    if (outcome) services.pubsub.publish('webhook:delivery', tenantId, { deliveryId, webhookId: webhook.id });
  };
}
