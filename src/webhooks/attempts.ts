/**
 * Records the delivery worker's attempts (deliver.ts) in group commits: attempts that end while a
 * recording transaction runs are written together by the next one, one transaction per tenant and
 * one statement per kind of write. Each attempt's outcome, its retry job and the webhook's health
 * (policy.ts: pause after a run of failures, disable on 410, with their events) commit together.
 */
import { v7 as uuidv7 } from 'uuid';
import { insertManyStatement } from '../db/insert-many.ts';
import type { TenantTx } from '../db/tenant.ts';
import type { Webhook, WebhookDelivery } from '../generated/prisma/client.ts';
import { webhookGlobalId } from '../ids.ts';
import { groupBy, groupCommit } from '../jobs/group-commit.ts';
import type { Services } from '../services.ts';
import { consecutiveFailuresChange, type NextStep, shouldPause } from './policy.ts';
import { DELIVER_QUEUE, deliveryJob } from './queue.ts';
import type { SendResult } from './sender.ts';

const SYSTEM_ACTOR = 'system:webhooks';

/** An attempt that was made, waiting to be recorded. */
interface Attempt {
  tenantId: string;
  delivery: WebhookDelivery & { webhook: Webhook };
  attemptNumber: number;
  sent: SendResult;
  next: NextStep;
  nextAttemptAt: Date | null;
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

/** Writes a group of one tenant's attempts (src/jobs/group-commit.ts): the delivery ids it recorded. */
async function writeAttempts(
  services: Services,
  tx: TenantTx,
  tenantId: string,
  attempts: Attempt[],
): Promise<ReadonlyMap<string, boolean>> {
  const now = new Date();
  const outcomes = attempts.map((a) => ({
    id: a.delivery.id,
    previous: a.delivery.attemptCount,
    attempts: a.attemptNumber,
    status: deliveryStatus(a.next),
    next: a.nextAttemptAt?.toISOString() ?? null,
  }));
  const rows = await tx.$queryRawUnsafe<{ id: string }[]>(
    CLAIM_ATTEMPTS,
    tenantId,
    JSON.stringify(outcomes),
    SYSTEM_ACTOR,
    now.toISOString(),
  );
  const claimed = new Set(rows.map((r) => r.id));
  const recorded = attempts.filter((a) => claimed.has(a.delivery.id));
  const written = new Map([...claimed].map((id) => [id, true]));
  if (!recorded.length) return written;
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
    a.nextAttemptAt
      ? [deliveryJob({ tenantId, id: a.delivery.id, attemptCount: a.attemptNumber }, a.delivery.webhook.timeoutMs, a.nextAttemptAt)]
      : [],
  );
  await services.queue.enqueueMany(tx, DELIVER_QUEUE, retries);
  // Each webhook's health last: the row lock its update takes is held only until the commit.
  for (const [webhookId, ofWebhook] of groupBy(recorded, (a) => a.delivery.webhookId))
    await recordHealth(services, tx, webhookId, ofWebhook);
  return written;
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
    : last.next.kind !== 'succeeded' &&
        hook.status === 'ACTIVE' &&
        shouldPause(hook.consecutiveFailures, services.config.webhooks.pauseAfterFailures)
      ? ({ type: 'webhook.paused', data: { status: 'PAUSED', pausedAt: new Date() } } as const)
      : null;
  if (!statusChange) return;
  await tx.webhook.update({ where: { id: webhookId }, data: { ...statusChange.data, version: { increment: 1 } } });
  await services.outbox.record(
    tx,
    { tenantId: hook.tenantId, actorId: SYSTEM_ACTOR, appId: hook.appId },
    {
      type: statusChange.type,
      subjectId: hook.id,
      data: {
        webhookId: webhookGlobalId(hook.id),
        name: hook.name,
        consecutiveFailures: hook.consecutiveFailures,
        lastResponseStatus: status,
      },
    },
  );
}

/** An attempt to record: the delivery as it was read, the attempt's number, what came back and what follows. */
export type MadeAttempt = Attempt;

/**
 * The worker's way to record an attempt: resolves true once this run recorded it, false when a
 * duplicate job had recorded that attempt first (then nothing of it is written).
 */
export function attemptRecorder(services: Services): (attempt: MadeAttempt) => Promise<boolean> {
  return groupCommit<Attempt, boolean>(services, {
    tenantOf: (a) => a.tenantId,
    keyOf: (a) => a.delivery.id,
    write: (tx, tenantId, attempts) => writeAttempts(services, tx, tenantId, attempts),
    none: false,
  });
}
