/**
 * The operation worker: one walk over an operation's candidates per job (CONTRACT.md
 * "Operations", behaviour 2). Candidates are the integrations the capability's routing rules name,
 * in resolveRoute order; what is not usable when the walk reaches it is skipped. Each provider call
 * is recorded as an attempt; call.ts says what its answer means, this file what follows. A walk in
 * which every call failed transiently is queued again on OPERATION_RETRY_SCHEDULE. Credentials or
 * an input that do not decrypt hold the job with nothing changed (src/crypto/unreadable.ts).
 * Jobs that run together share statements: their walks start in one transaction per tenant
 * (start.ts) and the calls that end operations are recorded in group commits (ending.ts); the
 * rarer outcomes (a transient failure, refused credentials, a retry, a failed walk) are recorded
 * one by one.
 */
import type PgBoss from 'pg-boss';
import { heldJobDelayMs, isDecryptionError } from '../crypto/unreadable.ts';
import { lockForUpdate } from '../db/lock.ts';
import { type TenantDb, type TenantTx, tenantDb } from '../db/tenant.ts';
import type { Integration, Operation, Prisma } from '../generated/prisma/client.ts';
import { operationGlobalId } from '../ids.ts';
import { inboundWebhookUrl, integrationEventData } from '../integrations/present.ts';
import type { JobControl } from '../jobs/consumer.ts';
import { type JobReporter, SILENT_REPORTER } from '../observability/jobs.ts';
import type { Credentials, OperationAdapter, OperationCallContext, ProviderDefinition } from '../providers/types.ts';
import type { Services } from '../services.ts';
import { type CallResult, callProvider, scrubbed, secretValues } from './call.ts';
import { credentialsOpener } from './credentials.ts';
import { endingRecorder } from './ending.ts';
import { OPERATIONS_ACTOR, operationEventData } from './present.ts';
import { type OperationJob, operationJob, operationQueueOf } from './queue.ts';
import { openPart } from './sealed.ts';
import { sessionKeeper, withoutSession } from './sessions.ts';
import { servingNow, walkStarter } from './start.ts';

/**
 * Walks one process runs at once. A walk holds its slot while it calls providers, whose answers
 * take 100 ms to seconds, so a process sends at most this many ÷ their latency per second; a walk
 * whose call ended it releases the slot while the ending is recorded (docs/performance.md).
 */
export const OPERATION_CONCURRENCY = 256;
/** Walks of LARGE_OPERATION_QUEUE at once: their inputs may be 7 MiB documents (about 30 MiB each in flight). */
export const LARGE_OPERATION_CONCURRENCY = 8;

const ACTOR = (op: Operation) => ({ tenantId: op.tenantId, actorId: OPERATIONS_ACTOR, appId: op.appId });

type Failure = { code: 'NO_ACTIVE_PROVIDER' | 'PROVIDER_REJECTED' | 'PROVIDER_UNAVAILABLE'; message: string };

export function operationWorker(services: Services, report: JobReporter = SILENT_REPORTER) {
  const { config, keyring, queue, outbox } = services;
  /** Integrations a provider asked us to leave alone (429 Retry-After) until a time, in this process. */
  const restingUntil = new Map<string, number>();

  const begin = walkStarter(services);
  const recordEnding = endingRecorder(services);
  const openCredentials = credentialsOpener(keyring);
  const sessions = sessionKeeper(services);

  /** Records one attempt, the operation's change, and what follows (events), in one transaction. */
  async function record(
    db: TenantDb,
    op: Operation,
    attempt: { integration: Integration; usedFallback: boolean; number: number; call: CallResult },
    change: Prisma.OperationUncheckedUpdateInput,
    effects: (tx: TenantTx, updated: Operation) => Promise<void> = async () => {},
  ): Promise<Operation> {
    const { integration, call } = attempt;
    return queue.transaction(db, async (tx) => {
      await tx.operationAttempt.create({
        data: {
          tenantId: op.tenantId,
          operationId: op.id,
          attemptNumber: attempt.number,
          integrationId: integration.id,
          startedAt: call.startedAt,
          durationMs: call.durationMs,
          httpStatus: call.httpStatus,
          outcome: call.outcome,
          error: call.error,
          createdBy: OPERATIONS_ACTOR,
          updatedBy: OPERATIONS_ACTOR,
        },
      });
      const updated = await tx.operation.update({
        where: { id: op.id },
        data: {
          attemptCount: attempt.number,
          integrationId: integration.id,
          usedFallback: attempt.usedFallback,
          version: { increment: 1 },
          updatedBy: OPERATIONS_ACTOR,
          ...change,
        },
      });
      await effects(tx, updated);
      return updated;
    });
  }

  /** Ends the operation FAILED (no attempt to record) with its event. */
  async function fail(db: TenantDb, op: Operation, failure: Failure): Promise<Operation> {
    return queue.transaction(db, async (tx) => {
      const failed = await tx.operation.update({
        where: { id: op.id },
        data: {
          status: 'FAILED',
          errorCode: failure.code,
          errorMessage: failure.message,
          completedAt: new Date(),
          version: { increment: 1 },
          updatedBy: OPERATIONS_ACTOR,
        },
      });
      await outbox.record(tx, ACTOR(failed), { type: 'operation.failed', subjectId: op.id, data: operationEventData(failed) });
      return failed;
    });
  }

  /** The provider refused the integration's credentials: ERROR, as a failed verification would. */
  async function refuseIntegration(tx: TenantTx, integration: Integration, reason: string): Promise<boolean> {
    await lockForUpdate(tx, 'Integration', integration.tenantId, integration.id);
    const current = await tx.integration.findUnique({ where: { id: integration.id } });
    if (current?.status !== 'ACTIVE') return false;
    const updated = await tx.integration.update({
      where: { id: integration.id },
      data: { status: 'ERROR', lastError: reason, verifiedRevision: null, version: { increment: 1 }, updatedBy: OPERATIONS_ACTOR },
    });
    await outbox.record(
      tx,
      { tenantId: integration.tenantId, actorId: OPERATIONS_ACTOR, appId: null },
      {
        type: 'integration.status_changed',
        subjectId: integration.id,
        data: { ...integrationEventData(updated), previousStatus: 'ACTIVE' },
      },
    );
    return true;
  }

  /**
   * The call, with the provider's session when it has one (sessions.ts): a session the provider
   * will not grant counts as refused credentials (AUTH_FAILURE) or as a transient failure, as the
   * provider said; a call refused with a session is made once more with a new one.
   */
  async function callWithSession(
    integration: Integration,
    provider: ProviderDefinition,
    adapter: OperationAdapter,
    input: Record<string, unknown>,
    credentials: Credentials,
    ctx: OperationCallContext,
  ): Promise<CallResult> {
    const { timeoutMs } = config.operations;
    if (!provider.session) return callProvider(provider, adapter, input, credentials, ctx, timeoutMs);
    const plain = withoutSession(credentials);
    for (let renew = false; ; renew = true) {
      const startedAt = new Date();
      const got = await sessions.get(integration, provider, credentials, renew);
      if (!got.ok) {
        return {
          outcome: got.refused ? 'AUTH_FAILURE' : 'TRANSIENT_FAILURE',
          startedAt,
          durationMs: Date.now() - startedAt.getTime(),
          httpStatus: got.httpStatus,
          error: scrubbed(`${provider.displayName} did not grant a session: ${got.reason}`, secretValues(provider, plain)),
        };
      }
      const result = await callProvider(provider, adapter, input, plain, { ...ctx, session: got.session }, timeoutMs);
      if (result.outcome !== 'AUTH_FAILURE' || renew) return result;
    }
  }

  function announce(op: Operation) {
    services.pubsub.publish('operation:updated', op.tenantId, { operationId: op.id, status: op.status, appId: op.appId });
  }

  /** Queues the same job for later in place of this one; nothing about the operation changes. */
  async function holdForLater(db: TenantDb, job: OperationJob, queueName: string) {
    const held = job.held ?? 0;
    const next = operationJob({ ...job, held: held + 1 }, config.operations.timeoutMs, new Date(Date.now() + heldJobDelayMs(held)));
    await queue.transaction(db, (tx) => queue.enqueueMany(tx, queueName, [next]));
  }

  return async (job: PgBoss.JobWithMetadata<OperationJob>, control: JobControl) => {
    const { tenantId, walk } = job.data;
    const db = tenantDb(services.prisma, tenantId);
    const started = await begin(job.data);
    if (!started) return;
    let { op } = started;
    const { candidates } = started;
    if (op.attemptCount === 0 && walk === 1) announce(op);

    let input: Record<string, unknown> | null;
    try {
      input = openPart(keyring, op, 'input');
    } catch (err) {
      if (!isDecryptionError(err)) throw err;
      services.decryptionFailed('operation_input', err, { operationId: op.id, work: 'operation', held: (job.data.held ?? 0) + 1 });
      return holdForLater(db, job.data, job.name);
    }
    if (!input) {
      op = await fail(db, op, { code: 'PROVIDER_REJECTED', message: 'the operation’s input is no longer stored' });
      return announce(op);
    }

    let attempted = false;
    let transient = null as { error: string; retryAfterMs: number } | null;
    for (const [index, integration] of candidates.entries()) {
      const serving = servingNow(integration, op.capability);
      if (!integration || !serving) continue;
      const { provider, adapter } = serving;
      const restUntil = restingUntil.get(integration.id) ?? 0;
      if (restUntil > Date.now()) {
        const retryAfterMs = Math.max(transient?.retryAfterMs ?? 0, restUntil - Date.now());
        transient = { error: `${provider.displayName} asked to wait (Retry-After) and was not called`, retryAfterMs };
        continue;
      }
      let credentials: Credentials;
      try {
        credentials = openCredentials(integration);
      } catch (err) {
        if (!isDecryptionError(err)) throw err;
        services.decryptionFailed('integration_credentials', err, { integrationId: integration.id, operationId: op.id, work: 'operation' });
        return holdForLater(db, job.data, job.name);
      }
      const callContext = {
        origin: (fallback: string) => config.providerOrigins[provider.name] ?? fallback,
        operationId: operationGlobalId(op.id),
        callbackUrl:
          typeof credentials.webhookCatcherEndpoint === 'string' && credentials.webhookCatcherEndpoint
            ? credentials.webhookCatcherEndpoint
            : inboundWebhookUrl(services.publicUrl, integration),
      };
      const result = await callWithSession(integration, provider, adapter, input, credentials, callContext);
      attempted = true;
      report.providerCall(provider.name, result.outcome);
      const attempt = { integration, usedFallback: index > 0, number: op.attemptCount + 1, call: result };

      if (result.outcome === 'SUCCEEDED' || result.outcome === 'REJECTED') {
        // what is left is recording it: the next job may start its calls meanwhile
        control.releaseSlot();
        // null: a duplicate run of this walk ended the operation first, and announced it
        const ended = await recordEnding({ op, provider, integration, usedFallback: attempt.usedFallback, call: result });
        if (ended) announce(ended);
        return;
      }
      let refused = false;
      op = await record(db, op, attempt, {}, async (tx) => {
        if (result.outcome === 'AUTH_FAILURE') refused = await refuseIntegration(tx, integration, result.error!);
      });
      if (refused) {
        // this process's routes see it at once; others when the database announces it
        services.routes.changed(tenantId);
        services.pubsub.publish('integration:status', tenantId, { integrationId: integration.id });
      }
      if (result.outcome === 'TRANSIENT_FAILURE') {
        if (result.retryAfterMs) restingUntil.set(integration.id, Date.now() + result.retryAfterMs);
        transient = { error: result.error!, retryAfterMs: Math.max(transient?.retryAfterMs ?? 0, result.retryAfterMs ?? 0) };
      }
    }

    if (transient && walk <= config.operations.retrySchedule.length) {
      const delayMs = Math.max(config.operations.retrySchedule[walk - 1]!, transient.retryAfterMs);
      const nextAttemptAt = new Date(Date.now() + delayMs);
      op = await queue.transaction(db, async (tx) => {
        const queued = await tx.operation.update({
          where: { id: op.id },
          data: { status: 'QUEUED', walk: walk + 1, nextAttemptAt, errorMessage: transient.error, version: { increment: 1 } },
        });
        await queue.enqueueMany(tx, operationQueueOf(op.capability), [
          operationJob({ ...job.data, operationId: op.id, walk: walk + 1, held: undefined }, config.operations.timeoutMs, nextAttemptAt),
        ]);
        return queued;
      });
      return announce(op);
    }
    const failure: Failure = transient
      ? { code: 'PROVIDER_UNAVAILABLE', message: `every provider failed on each of ${walk} tries; the last said: ${transient.error}` }
      : {
          code: 'NO_ACTIVE_PROVIDER',
          message: attempted
            ? `no ACTIVE integration serves "${op.capability}" any more: the providers refused the credentials of those tried`
            : `no ACTIVE integration serves "${op.capability}"`,
        };
    op = await fail(db, op, failure);
    announce(op);
  };
}
