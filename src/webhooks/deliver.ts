/**
 * The delivery worker: one attempt of one delivery per job. The attempt is signed (Standard
 * Webhooks, same `webhook-id` on every attempt), sent to the address the SSRF guard checked,
 * and recorded; policy.ts decides what follows (retry on the schedule, give up, disable on 410)
 * and whether the webhook's run of failures pauses it. The outcome, the next job and any
 * `webhook.paused` / `webhook.disabled` event are written in one transaction. A signing secret
 * that cannot be decrypted is the operator's problem, not the receiver's: no attempt is made or
 * counted, and the job is queued again for later (src/crypto/unreadable.ts).
 *
 * Each job runs on its own (a hanging receiver holds only its own job), but the database work of
 * jobs running at the same time is shared: the deliveries of jobs started together are read by
 * one statement per tenant (`deliveryLoader`), and attempts that ended together are recorded in
 * one transaction per tenant with one statement per kind of write (`AttemptRecorder`), while the
 * previous such transaction commits.
 */
import DataLoader from 'dataloader';
import type PgBoss from 'pg-boss';
import { v7 as uuidv7 } from 'uuid';
import type { Services } from '../context.ts';
import { heldJobDelayMs, isDecryptionError, type SealedRecord } from '../crypto/unreadable.ts';
import { insertManyStatement } from '../db/insert-many.ts';
import { tenantDb, type TenantTx } from '../db/tenant.ts';
import { DELIVER_QUEUE, deliveryJob, type DeliverJob } from '../events/outbox.ts';
import type { Event, PrismaClient, Webhook, WebhookDelivery } from '../generated/prisma/client.ts';
import { SILENT_REPORTER, type JobReporter } from '../observability/jobs.ts';
import { consecutiveFailuresChange, decideNext, shouldPause, type AttemptResult, type NextStep } from './policy.ts';
import { headersOpener, type StaticHeaders } from './headers.ts';
import { signingSecretsOpener } from './secrets.ts';
import { deliveryGlobalId, webhookGlobalId } from './service.ts';
import { sendWebhook, type SendResult } from './sender.ts';
import { signDelivery } from './signing.ts';
import { checkWebhookUrl } from './ssrf.ts';

const SYSTEM_ACTOR = 'system:webhooks';

/** Jobs of the delivery queue one process runs at once (each holds a slot until its attempt is recorded). */
export const DELIVERY_CONCURRENCY = 64;

type LoadedDelivery = WebhookDelivery & { webhook: Webhook; event: Event };

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}
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
            const rows = await tenantDb(prisma, tenantId).webhookDelivery.findMany({ where: { id: { in: ids } }, include: { webhook: true, event: true } });
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

/** An attempt that was made, waiting to be recorded. */
interface Attempt {
  tenantId: string;
  delivery: LoadedDelivery;
  attemptNumber: number;
  sent: SendResult;
  next: NextStep;
  nextAttemptAt: Date | null;
  /** true when this run recorded it; false when a duplicate job had recorded that attempt first. */
  settle: { resolve(recorded: boolean): void; reject(err: unknown): void };
}

/**
 * The attempt's outcome, guarded: only the run that moves a delivery from the attempt count it
 * read to the next records it (a duplicate job that got here second writes nothing).
 */
const CLAIM_ATTEMPTS = `
UPDATE "WebhookDelivery" AS d
SET "attemptCount" = v.attempts, "status" = v.status::"DeliveryStatus", "nextAttemptAt" = v.next,
    "version" = d."version" + 1, "updatedBy" = $3, "updatedAt" = $4::timestamp(3)
FROM jsonb_to_recordset($2::jsonb) AS v(id text, previous int, attempts int, status text, next timestamp(3))
WHERE d."id" = v.id AND d."tenantId" = $1 AND d."deletedAt" IS NULL
  AND d."status" = 'PENDING' AND d."attemptCount" = v.previous
RETURNING d."id"`;

const deliveryStatus = (next: NextStep) => (next.kind === 'succeeded' ? 'SUCCEEDED' : next.kind === 'retry' ? 'PENDING' : 'FAILED');

/**
 * Group commit of attempts: those that end while a recording transaction runs are written by the
 * next one, together (per tenant). A transaction that fails is retried attempt by attempt, so one
 * bad row fails only its own job.
 */
class AttemptRecorder {
  private pending: Attempt[] = [];
  private writing: Promise<void> | undefined;

  constructor(private readonly services: Services) {}

  record(attempt: Omit<Attempt, 'settle'>): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ ...attempt, settle: { resolve, reject } });
      this.schedule();
    });
  }

  private schedule() {
    this.writing ??= this.writeAll().finally(() => {
      this.writing = undefined;
      if (this.pending.length) this.schedule();
    });
  }

  private async writeAll() {
    await new Promise((resolve) => setImmediate(resolve));
    while (this.pending.length) {
      const byTenant = groupBy(this.pending.splice(0), (a) => a.tenantId);
      await Promise.all([...byTenant].map(([tenantId, attempts]) => this.write(tenantId, attempts)));
    }
  }

  private async write(tenantId: string, attempts: Attempt[]): Promise<void> {
    // two runs of one delivery in one batch: the first is written, the second finds it claimed
    const unique = [...groupBy(attempts, (a) => a.delivery.id).values()].map((runs) => runs[0]!);
    try {
      const claimed = await this.services.queue.transaction(tenantDb(this.services.prisma, tenantId), (tx) => this.writeClaimed(tx, tenantId, unique));
      for (const a of attempts) a.settle.resolve(unique.includes(a) && claimed.has(a.delivery.id));
    } catch (err) {
      if (unique.length === 1) {
        for (const a of attempts) a.settle.reject(err);
        return;
      }
      for (const a of unique) await this.write(tenantId, [a]);
      for (const a of attempts) if (!unique.includes(a)) a.settle.resolve(false);
    }
  }

  private async writeClaimed(tx: TenantTx, tenantId: string, attempts: Attempt[]): Promise<Set<string>> {
    const now = new Date();
    const outcomes = attempts.map((a) => ({
      id: a.delivery.id,
      previous: a.delivery.attemptCount,
      attempts: a.attemptNumber,
      status: deliveryStatus(a.next),
      next: a.nextAttemptAt?.toISOString() ?? null,
    }));
    const rows = await tx.$queryRawUnsafe<{ id: string }[]>(CLAIM_ATTEMPTS, tenantId, JSON.stringify(outcomes), SYSTEM_ACTOR, now.toISOString());
    const claimed = new Set(rows.map((r) => r.id));
    const recorded = attempts.filter((a) => claimed.has(a.delivery.id));
    if (!recorded.length) return claimed;
    const attemptRows = recorded.map(({ delivery, attemptNumber, sent }) => ({
      id: uuidv7(),
      tenantId,
      deliveryId: delivery.id,
      attemptNumber,
      startedAt: sent.startedAt,
      durationMs: Math.round(sent.durationMs),
      responseStatus: sent.status,
      error: sent.error,
      responseBody: sent.responseBody,
      createdAt: now,
      updatedAt: now,
      createdBy: SYSTEM_ACTOR,
    }));
    await tx.$executeRawUnsafe(...insertManyStatement('DeliveryAttempt', attemptRows)!);
    const retries = recorded.flatMap((a) =>
      a.nextAttemptAt ? [deliveryJob({ tenantId, id: a.delivery.id, attemptCount: a.attemptNumber }, a.delivery.webhook.timeoutMs, a.nextAttemptAt)] : [],
    );
    await this.services.queue.enqueueMany(tx, DELIVER_QUEUE, retries);
    // Each webhook's health last: the row lock its update takes is held only until the commit.
    for (const [webhookId, ofWebhook] of groupBy(recorded, (a) => a.delivery.webhookId)) await recordHealth(this.services, tx, webhookId, ofWebhook);
    return claimed;
  }
}

/**
 * Counts a webhook's attempts into its health (one atomic update: policy.ts's
 * `consecutiveFailuresChange`) and applies the policy: `410 Gone` disables an ACTIVE webhook, a
 * run of WEBHOOK_PAUSE_AFTER_FAILURES failures pauses it; either writes its event in the same
 * transaction.
 */
async function recordHealth(services: Services, tx: TenantTx, webhookId: string, attempts: Attempt[]) {
  const last = attempts[attempts.length - 1]!;
  const change = consecutiveFailuresChange(attempts.map((a) => a.next.kind === 'succeeded'));
  const hook = await tx.webhook.update({
    where: { id: webhookId, deletedAt: undefined },
    data: {
      consecutiveFailures: 'set' in change ? change.set : { increment: change.increment },
      lastDeliveryAt: new Date(),
      lastDeliveryStatus: last.sent.status === null ? 'ERROR' : String(last.sent.status),
    },
  });
  if (hook.deletedAt || hook.status === 'DISABLED') return;
  const gone = attempts.find((a) => a.next.kind === 'gone');
  const status = gone ? gone.sent.status : last.sent.status;
  const statusChange = gone
    ? ({ type: 'webhook.disabled', data: { status: 'DISABLED', disabledAt: new Date() } } as const)
    : last.next.kind !== 'succeeded' && hook.status === 'ACTIVE' && shouldPause(hook.consecutiveFailures, services.config.webhooks.pauseAfterFailures)
      ? ({ type: 'webhook.paused', data: { status: 'PAUSED', pausedAt: new Date() } } as const)
      : null;
  if (!statusChange) return;
  await tx.webhook.update({ where: { id: webhookId }, data: { ...statusChange.data, version: { increment: 1 } } });
  await services.outbox.record(tx, { tenantId: hook.tenantId, actorId: SYSTEM_ACTOR, appId: hook.appId }, {
    type: statusChange.type,
    subjectId: hook.id,
    data: { webhookId: webhookGlobalId(hook.id), name: hook.name, consecutiveFailures: hook.consecutiveFailures, lastResponseStatus: status },
  });
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
  const recorder = new AttemptRecorder(services);
  const signingSecrets = signingSecretsOpener(keyring);
  const staticHeaders = headersOpener(keyring);
  return async (job: PgBoss.JobWithMetadata<HeldDeliverJob>) => {
    const { tenantId, deliveryId } = job.data;
    const delivery = await loader.load({ tenantId, deliveryId });
    if (!delivery || delivery.status !== 'PENDING') return;
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
    const failed = (error: string): SendResult => ({ startedAt: now, durationMs: 0, status: null, error, responseBody: null, retryAfter: null });
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
    const recorded = await recorder.record({ tenantId, delivery, attemptNumber, sent, next, nextAttemptAt });
    if (!recorded) return;
    report.delivery(next.kind, sent.status);
    services.pubsub.publish('webhook:delivery', tenantId, { deliveryId, webhookId: webhook.id });
  };
}
