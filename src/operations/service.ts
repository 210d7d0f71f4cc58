/**
 * Operation use cases. A request is checked, refused at once when no candidate is ACTIVE, and
 * otherwise stored QUEUED with its job in one transaction (CONTRACT.md "Operations", behaviour
 * 1); `waitSeconds` then holds the answer until it ends. An idempotency key names one operation
 * per tenant and capability for 24 hours.
 */
import { isDeepStrictEqual } from 'node:util';
import { v7 as uuidv7 } from 'uuid';
import { isDecryptionError } from '../crypto/unreadable.ts';
import type { TenantTx } from '../db/tenant.ts';
import { ConflictError, NoActiveProviderError, ValidationError } from '../errors.ts';
import type { Integration, Operation } from '../generated/prisma/client.ts';
import { routeCandidateIds } from '../routing/choose.ts';
import type { RequestScope } from '../services.ts';
import { checkOperationInput, checkOperationOptions, FOLLOW_UPS } from './capabilities.ts';
import { operationJob, operationQueueOf } from './queue.ts';
import { openPart, sealPart } from './sealed.ts';
import { servingNow } from './start.ts';

/** How long an idempotency key names its operation. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;

export interface OperationOptions {
  idempotencyKey?: string | null;
  waitSeconds?: number | null;
}

const ENDED = new Set(['SUCCEEDED', 'FAILED']);

/** An application's credential sees the operations its application requested; a person's, all of the tenant's. */
export function operationVisibility(scope: Pick<RequestScope, 'viewer'>): { appId?: string } {
  return scope.viewer.appId ? { appId: scope.viewer.appId } : {};
}

/** Whether any integration the capability's rules name could serve it now (from the routing table, src/routing/table.ts). */
async function anyCandidateActive(scope: RequestScope, capability: string): Promise<boolean> {
  const { rules, integrations } = await scope.services.routes.routes(scope, capability);
  return routeCandidateIds(rules).some((id) => servingNow(integrations.get(id), capability));
}

/**
 * The integration that made what a follow-up acts on, when an operation of the tenant made it
 * (FOLLOW_UPS); null for other capabilities and for references made elsewhere.
 */
async function madeBy(tx: TenantTx, capability: string, input: Record<string, unknown>): Promise<Integration | null> {
  const follows = FOLLOW_UPS[capability];
  if (!follows) return null;
  const origin = await tx.operation.findFirst({
    where: { providerReference: String(input[follows.reference]), capability: { in: [...follows.after] }, status: 'SUCCEEDED' },
    orderBy: { id: 'desc' },
    select: { integration: true },
  });
  return origin?.integration ?? null;
}

/** The operation an idempotency key already names, when the caller may see it and its input is the same; else ConflictError. */
async function existingForKey(scope: RequestScope, tx: TenantTx, capability: string, key: string, input: Record<string, unknown>) {
  await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock(hashtext($1))', `idempotency:${scope.viewer.tenantId}:${capability}:${key}`);
  const existing = await tx.operation.findFirst({
    where: { capability, idempotencyKey: key, createdAt: { gt: new Date(Date.now() - IDEMPOTENCY_WINDOW_MS) } },
    orderBy: { id: 'desc' },
  });
  if (!existing) return null;
  // another application's operation is not the caller's to see, even under the caller's key
  const { appId } = operationVisibility(scope);
  if (appId !== undefined && existing.appId !== appId) {
    throw new ConflictError(`idempotencyKey "${key}" was used in the last 24 hours for a ${capability} request of another application`);
  }
  let stored: Record<string, unknown> | null;
  try {
    stored = openPart(scope.services.keyring, existing, 'input');
  } catch (err) {
    if (!isDecryptionError(err)) throw err;
    scope.services.decryptionFailed('operation_input', err, { operationId: existing.id, work: 'idempotency' });
    stored = null;
  }
  if (!stored || !isDeepStrictEqual(stored, input)) {
    throw new ConflictError(`idempotencyKey "${key}" was used in the last 24 hours for a ${capability} request with another input`);
  }
  return existing;
}

/** Checks, stores and queues one operation; the stored (or, with a known idempotency key, the existing) operation. */
export async function requestOperation(
  scope: RequestScope,
  capability: string,
  rawInput: Record<string, unknown>,
  options: OperationOptions,
): Promise<Operation> {
  const { viewer, services } = scope;
  const { input, errors } = checkOperationInput(capability, rawInput);
  errors.push(...checkOperationOptions(options));
  if (errors.length) throw new ValidationError(errors);
  const key = options.idempotencyKey ?? null;
  // before the transaction, not inside it: a miss reads in a transaction of its own, which on the
  // embedded database's single connection would wait behind this one
  const candidateActive = await anyCandidateActive(scope, capability);

  const { operation, stored } = await services.queue.transaction(scope.db, async (tx) => {
    if (key) {
      const existing = await existingForKey(scope, tx, capability, key, input);
      if (existing) return { operation: existing, stored: false };
    }
    const pinned = await madeBy(tx, capability, input);
    if (pinned && !servingNow(pinned, capability)) {
      throw new NoActiveProviderError(capability, `the ${pinned.provider} integration that made it is not ACTIVE for it`);
    }
    if (!pinned && !candidateActive) throw new NoActiveProviderError(capability);
    const id = uuidv7();
    const created = await tx.operation.create({
      data: {
        id,
        tenantId: viewer.tenantId,
        appId: viewer.appId,
        capability,
        idempotencyKey: key,
        integrationId: pinned?.id ?? null,
        ...sealPart(services.keyring, 'input', viewer.tenantId, id, input),
        createdBy: viewer.actorId,
        updatedBy: viewer.actorId,
      },
    });
    await services.queue.enqueueMany(tx, operationQueueOf(capability), [
      operationJob(
        { tenantId: viewer.tenantId, operationId: id, walk: 1, ...(pinned ? { integrationId: pinned.id } : {}) },
        services.config.operations.timeoutMs,
      ),
    ]);
    return { operation: created, stored: true };
  });
  // operationUpdated subscribers hear of a new operation when it is queued, not first when it runs
  if (stored)
    services.pubsub.publish('operation:updated', viewer.tenantId, {
      operationId: operation.id,
      status: operation.status,
      appId: operation.appId,
    });
  const waitMs = (options.waitSeconds ?? 0) * 1000;
  return waitMs > 0 && !ENDED.has(operation.status) ? waitForEnd(scope, operation, waitMs) : operation;
}

/**
 * The operation once it ended, or as it is when `ms` have passed. Listens before it looks again,
 * so an end between the two is not missed: the pub/sub (a Repeater) attaches its listener only
 * when first read, so the reading starts before the look.
 */
async function waitForEnd(scope: RequestScope, operation: Operation, ms: number): Promise<Operation> {
  const { services, viewer, db } = scope;
  const updates = services.pubsub.subscribe('operation:updated', viewer.tenantId);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeUp = new Promise<'time'>((resolve) => (timer = setTimeout(() => resolve('time'), ms)));
    const heard = (async () => {
      for await (const update of updates) {
        if (update.operationId === operation.id && ENDED.has(update.status)) return;
      }
    })();
    const now = await db.operation.findUnique({ where: { id: operation.id } });
    if (!now || !ENDED.has(now.status)) await Promise.race([heard, timeUp]);
  } finally {
    clearTimeout(timer);
    await updates.return?.();
  }
  return (await db.operation.findUnique({ where: { id: operation.id } })) ?? operation;
}
