/** How an operation appears in event payloads: what happened, never its input or result. */
import type { Operation, Prisma } from '../generated/prisma/client.ts';
import { integrationGlobalId, operationGlobalId } from '../ids.ts';

/** Who changes operations in the background (the `actorId` of their events). */
export const OPERATIONS_ACTOR = 'system:operations';

export function operationEventData(row: Operation): Prisma.InputJsonObject {
  return {
    id: operationGlobalId(row.id),
    capability: row.capability,
    status: row.status,
    idempotencyKey: row.idempotencyKey,
    integrationId: row.integrationId ? integrationGlobalId(row.integrationId) : null,
    usedFallback: row.usedFallback,
    attemptCount: row.attemptCount,
    providerReference: row.providerReference,
    deliveryStatus: row.deliveryStatus,
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
    createdAt: row.createdAt.toISOString(),
    completedAt: row.completedAt?.toISOString() ?? null,
  };
}
