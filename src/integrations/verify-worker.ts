/**
 * The verification worker: checks an integration's credentials against its provider's real
 * API and records the outcome (lifecycle.ts decides what it means). The result only applies
 * if the integration is still PENDING_VERIFY on the credentials revision that was checked.
 * Credentials that cannot be decrypted are the operator's problem, not the tenant's: the job is
 * held for later (src/crypto/unreadable.ts) and the integration is left as it is.
 */
import type PgBoss from 'pg-boss';
import { credentialsAad, revealCredentials } from '../crypto/credentials.ts';
import { heldJobDelayMs, isDecryptionError } from '../crypto/unreadable.ts';
import { lockForUpdate } from '../db/lock.ts';
import { forTenant, type TenantDb } from '../db/tenant.ts';
import type { Integration } from '../generated/prisma/client.ts';
import { redactValues } from '../log.ts';
import { type JobReporter, SILENT_REPORTER } from '../observability/jobs.ts';
import { withoutSession } from '../operations/sessions.ts';
import { findProvider } from '../providers/catalog.ts';
import type { CredentialValue } from '../providers/types.ts';
import type { Services } from '../services.ts';
import { type VerificationResult, verificationOutcome } from './lifecycle.ts';
import { integrationEventData } from './present.ts';
import { VERIFY_QUEUE, type VerifyJob } from './verify-queue.ts';

const SYSTEM_ACTOR = 'system:verifier';

/** Checks the credentials with the provider; a DecryptionError (they cannot be opened) is thrown. */
async function check(services: Services, row: Integration): Promise<VerificationResult> {
  const provider = findProvider(row.provider);
  if (!provider) return { ok: false, permanent: true, reason: `provider "${row.provider}" is no longer in the catalog` };
  // the stored session (src/operations/sessions.ts) is not a credential: verification obtains its own
  const credentials = withoutSession(
    revealCredentials(
      services.keyring,
      { ...row, config: row.config as Record<string, CredentialValue> },
      credentialsAad(row.tenantId, row.id),
    ),
  );
  try {
    return await provider.verify(credentials, {
      origin: (fallback) => services.config.providerOrigins[provider.name] ?? fallback,
      signal: AbortSignal.timeout(services.config.verification.timeoutMs),
    });
  } catch (err) {
    services.logger.error(
      {
        integrationId: row.id,
        provider: provider.name,
        error: redactValues(String((err as Error)?.stack ?? err), Object.values(credentials)),
      },
      'provider verification threw',
    );
    return { ok: false, permanent: false, reason: `${provider.displayName} verification failed unexpectedly` };
  }
}

/** A verification job; `held` counts the times it was put back because the credentials did not open. */
type HeldVerifyJob = VerifyJob & { held?: number };

/** Queues the same verification again for later (never given up), in place of this job. */
async function holdForLater(services: Services, db: TenantDb, data: HeldVerifyJob): Promise<void> {
  const held = data.held ?? 0;
  const startAfter = new Date(Date.now() + heldJobDelayMs(held));
  await services.queue.transaction(db, (tx) => services.queue.enqueue(tx, VERIFY_QUEUE, { ...data, held: held + 1 }, { startAfter }));
}

export function verifyIntegrationWorker(services: Services, report: JobReporter = SILENT_REPORTER) {
  return async (job: PgBoss.JobWithMetadata<HeldVerifyJob>) => {
    const { tenantId, integrationId, revision } = job.data;
    const db = forTenant(services.prisma, tenantId);
    const current = await db.integration.findUnique({ where: { id: integrationId } });
    if (current?.status !== 'PENDING_VERIFY' || current.credentialsRevision !== revision) return;

    let result: VerificationResult;
    try {
      result = await check(services, current);
    } catch (err) {
      if (!isDecryptionError(err)) throw err;
      // no status, no lastError, no event: the tenant's integration stays as it is
      services.decryptionFailed('integration_credentials', err, { integrationId, work: 'verification', held: (job.data.held ?? 0) + 1 });
      await holdForLater(services, db, job.data);
      report.verification(current.provider, 'held');
      return;
    }
    const outcome = verificationOutcome(result, job.retryCount, job.retryLimit);
    const log = { integrationId, provider: current.provider, outcome: outcome.kind, attempt: job.retryCount + 1 };

    const applied = await services.queue.transaction(db, async (tx) => {
      await lockForUpdate(tx, 'Integration', tenantId, integrationId);
      const fresh = await tx.integration.findUnique({ where: { id: integrationId } });
      if (fresh?.status !== 'PENDING_VERIFY' || fresh.credentialsRevision !== revision) return null;
      const updated = await tx.integration.update({
        where: { id: integrationId, version: fresh.version },
        data:
          outcome.kind === 'active'
            ? { status: 'ACTIVE', verifiedAt: new Date(), verifiedRevision: revision, lastError: null, version: { increment: 1 } }
            : outcome.kind === 'error'
              ? // not verified any more: activation after ERROR must verify again
                { status: 'ERROR', lastError: outcome.lastError, verifiedRevision: null, version: { increment: 1 } }
              : { lastError: outcome.lastError, version: { increment: 1 } },
      });
      if (outcome.kind !== 'retry') {
        await services.outbox.record(
          tx,
          { tenantId, actorId: SYSTEM_ACTOR, appId: null },
          {
            type: 'integration.status_changed',
            subjectId: integrationId,
            data: { ...integrationEventData(updated), previousStatus: fresh.status },
          },
        );
      }
      return updated;
    });

    if (!applied) {
      services.logger.info({ ...log, outcome: 'superseded' }, 'verification result dropped');
      report.verification(current.provider, 'superseded');
      return;
    }
    // read at once by this process's routing table and response cache, ahead of the announcement
    services.routes.changed(tenantId);
    services.logger.info(log, 'integration verified');
    report.verification(current.provider, outcome.kind);
    if (outcome.kind === 'retry') throw new Error(`verification will be retried: ${outcome.lastError}`);
    services.pubsub.publish('integration:status', tenantId, { integrationId });
  };
}
