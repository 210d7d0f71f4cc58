/**
 * Records the delivery worker's attempts (deliver.ts) in group commits: attempts that end while a
 * recording transaction runs are written together by the next one, one transaction per tenant and
 * one statement per kind of write. Each attempt's outcome, its retry job and the webhook's health
 * (policy.ts: pause after a run of failures, disable on 410, with their events) commit together.
 */
import { v7 as uuidv7 } from 'uuid';
import { insertManyStatement } from '../db/insert-many.ts';
import { type TenantTx, tenantDb } from '../db/tenant.ts';
import type { Webhook, WebhookDelivery } from '../generated/prisma/client.ts';
import { webhookGlobalId } from '../ids.ts';
import type { Services } from '../services.ts';
import { consecutiveFailuresChange, type NextStep, shouldPause } from './policy.ts';
import { DELIVER_QUEUE, deliveryJob } from './queue.ts';
import type { SendResult } from './sender.ts';

const SYSTEM_ACTOR = 'system:webhooks';

/** The items by key, in the order each key first appears. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

/** An attempt that was made, waiting to be recorded. */
interface Attempt {
  tenantId: string;
  delivery: WebhookDelivery & { webhook: Webhook };
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

  add(attempt: Omit<Attempt, 'settle'>): Promise<boolean> {
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
      const claimed = await this.services.queue.transaction(tenantDb(this.services.prisma, tenantId), (tx) =>
        this.writeClaimed(tx, tenantId, unique),
      );
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
    const rows = await tx.$queryRawUnsafe<{ id: string }[]>(
      CLAIM_ATTEMPTS,
      tenantId,
      JSON.stringify(outcomes),
      SYSTEM_ACTOR,
      now.toISOString(),
    );
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
      a.nextAttemptAt
        ? [deliveryJob({ tenantId, id: a.delivery.id, attemptCount: a.attemptNumber }, a.delivery.webhook.timeoutMs, a.nextAttemptAt)]
        : [],
    );
    await this.services.queue.enqueueMany(tx, DELIVER_QUEUE, retries);
    // Each webhook's health last: the row lock its update takes is held only until the commit.
    for (const [webhookId, ofWebhook] of groupBy(recorded, (a) => a.delivery.webhookId))
      await recordHealth(this.services, tx, webhookId, ofWebhook);
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
export type MadeAttempt = Omit<Attempt, 'settle'>;

/**
 * The worker's way to record an attempt: resolves true once this run recorded it, false when a
 * duplicate job had recorded that attempt first (then nothing of it is written).
 */
export function attemptRecorder(services: Services): (attempt: MadeAttempt) => Promise<boolean> {
  const recorder = new AttemptRecorder(services);
  return (attempt) => recorder.add(attempt);
}
