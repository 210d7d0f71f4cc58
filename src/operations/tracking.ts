/**
 * Delivery tracking (CONTRACT.md "Operations", behaviour 5). A verified provider callback that
 * names an operation (the provider's `deliveryUpdate`) sets the operation's `deliveryStatus` in the
 * transaction that stores the callback's event, and records `operation.delivery_updated`. Only an
 * operation of the tenant and the integration that received the callback is matched.
 *
 * Providers post statuses out of order, so a status never replaces one of a later stage; at an
 * equal stage the later callback wins. Stages (messaging, email, payment and e-signature
 * statuses, any case):
 *   1 accepted    accepted, scheduled, queued, processed, created, draft, pending,
 *                 requires_payment_method, requires_confirmation, requires_action
 *   2 in flight   sending, deferred, processing, requires_capture, in_process
 *   3 sent        sent
 *   4 unknown     any status not listed here; viewed, signed (by one signer of several)
 *   5 outcome     delivered, undelivered, failed, rejected, canceled, partially_delivered, bounce,
 *                 dropped, succeeded, payment_failed, completed, closed, declined, refused, voided,
 *                 expired
 *   6 engagement  read, open, click, spamreport, unsubscribe, group_unsubscribe, group_resubscribe
 * A provider whose words mean something else places them itself (`deliveryStages`: DocuSign's
 * `delivered` is a signer opening the envelope, before `completed`).
 */

import { lockForUpdate } from '../db/lock.ts';
import type { TenantTx } from '../db/tenant.ts';
import type { Outbox } from '../events/outbox.ts';
import type { Integration, Operation } from '../generated/prisma/client.ts';
import { tryParseGlobalId } from '../ids.ts';
import type { DeliveryUpdate, InboundEvent, ProviderDefinition } from '../providers/types.ts';
import { REFERENCE_READS } from './capabilities.ts';
import { OPERATIONS_ACTOR, operationEventData } from './present.ts';

const STAGES: ReadonlyArray<readonly [stage: number, statuses: readonly string[]]> = [
  [
    1,
    [
      'accepted',
      'scheduled',
      'queued',
      'processed',
      'created',
      'draft',
      'pending',
      'requires_payment_method',
      'requires_confirmation',
      'requires_action',
    ],
  ],
  [2, ['sending', 'deferred', 'processing', 'requires_capture', 'in_process']],
  [3, ['sent']],
  [4, ['viewed', 'signed']],
  [
    5,
    [
      'delivered',
      'undelivered',
      'failed',
      'rejected',
      'canceled',
      'partially_delivered',
      'bounce',
      'dropped',
      'succeeded',
      'payment_failed',
      'completed',
      'closed',
      'declined',
      'refused',
      'voided',
      'expired',
    ],
  ],
  [6, ['read', 'open', 'click', 'spamreport', 'unsubscribe', 'group_unsubscribe', 'group_resubscribe']],
];

/** Where a status no provider documents sits: past `sent`, before any outcome. */
export const UNKNOWN_STAGE = 4;

const STAGE_OF = new Map(STAGES.flatMap(([stage, statuses]) => statuses.map((status) => [status, stage] as const)));

/** A provider's own stages for its words, where they differ from the table (ProviderDefinition.deliveryStages). */
type Stages = Readonly<Record<string, number>> | undefined;

/** The stage of a delivery status: the provider's own for its word, else the table above. */
export function deliveryStage(status: string, stages?: Stages): number {
  const word = status.toLowerCase();
  return (stages && Object.hasOwn(stages, word) ? stages[word] : STAGE_OF.get(word)) ?? UNKNOWN_STAGE;
}

/** Whether `next` becomes the delivery status over `current`: not of an earlier stage, and not the same status again. */
export function replacesDeliveryStatus(current: string | null, next: string, stages?: Stages): boolean {
  if (current === null) return true;
  return next !== current && deliveryStage(next, stages) >= deliveryStage(current, stages);
}

/** The operation a callback names, among those the receiving integration served; its id only. */
async function findOperation(tx: TenantTx, integration: Pick<Integration, 'id' | 'tenantId'>, update: DeliveryUpdate) {
  const served = { tenantId: integration.tenantId, integrationId: integration.id };
  const id = update.operationId ? tryParseGlobalId('Operation', update.operationId) : null;
  if (id) {
    const byId = await tx.operation.findFirst({ where: { ...served, id }, select: { id: true } });
    if (byId) return byId;
  }
  if (!update.providerReference) return null;
  return tx.operation.findFirst({
    // the operation that made it: a status read of the same reference is not tracked
    where: { ...served, providerReference: update.providerReference, capability: { notIn: [...REFERENCE_READS] } },
    orderBy: { createdAt: 'desc' },
    select: { id: true },
  });
}

/**
 * Applies one delivery update inside the caller's transaction. Returns the operation when its
 * delivery status changed (the caller publishes `operation:updated` after the commit), else null:
 * no operation matched, or the status is of an earlier stage than the one recorded.
 */
export async function trackDelivery(
  tx: TenantTx,
  outbox: Outbox,
  integration: Pick<Integration, 'id' | 'tenantId'>,
  update: DeliveryUpdate,
  provider: Pick<ProviderDefinition, 'deliveryStages'>,
): Promise<Operation | null> {
  const found = await findOperation(tx, integration, update);
  if (!found) return null;
  // two callbacks of one message may arrive together: the second waits and compares with the first
  await lockForUpdate(tx, 'Operation', integration.tenantId, found.id);
  const current = await tx.operation.findUniqueOrThrow({ where: { id: found.id } });
  if (!replacesDeliveryStatus(current.deliveryStatus, update.status, provider.deliveryStages)) return null;
  const updated = await tx.operation.update({
    where: { id: current.id },
    data: { deliveryStatus: update.status, deliveryUpdatedAt: new Date(), version: { increment: 1 }, updatedBy: OPERATIONS_ACTOR },
  });
  await outbox.record(
    tx,
    { tenantId: updated.tenantId, actorId: OPERATIONS_ACTOR, appId: updated.appId },
    {
      type: 'operation.delivery_updated',
      subjectId: updated.id,
      data: { ...operationEventData(updated), previousDeliveryStatus: current.deliveryStatus },
    },
  );
  return updated;
}

/**
 * The relayed events stored as `<reference>:<status>` for any of the references and statuses,
 * received by any of the integrations: one statement however many (Prisma plans a list of
 * thousands of ids at a measurable cost).
 */
const EARLY_CALLBACKS = `
SELECT "sourceIntegrationId" AS "integrationId", "providerEventId", "payload"::text AS "payload"
FROM "Event"
WHERE "tenantId" = $1 AND "deletedAt" IS NULL
  AND "sourceIntegrationId" IN (SELECT jsonb_array_elements_text($2::jsonb))
  AND "providerEventId" IN (
    SELECT r || ':' || s FROM jsonb_array_elements_text($3::jsonb) AS r, jsonb_array_elements_text($4::jsonb) AS s)`;

/** A provider reference just stored, with the provider and the integration that served it. */
export interface StoredReference {
  provider: ProviderDefinition;
  integration: Pick<Integration, 'id' | 'tenantId'>;
  providerReference: string;
}

/**
 * Callbacks that arrived before the worker stored the provider's reference (a fast `queued` or even
 * `delivered` can beat the commit of the call's answer) matched nothing then. Providers whose
 * events are stored as `<reference>:<status>` (Twilio, Plivo) have them looked up by those ids
 * when the reference is stored, and applied in stage order, in the same transaction.
 */
export async function catchUpDelivery(
  tx: TenantTx,
  outbox: Outbox,
  provider: ProviderDefinition,
  integration: Pick<Integration, 'id' | 'tenantId'>,
  providerReference: string,
): Promise<Operation | null> {
  const [latest] = await catchUpDeliveries(tx, outbox, [{ provider, integration, providerReference }]);
  return latest ?? null;
}

/**
 * `catchUpDelivery` for references stored together (the worker's group commit): the early
 * callbacks of all of them are looked up by one read. Returns, per reference, the operation when a
 * callback changed it, else null.
 */
export async function catchUpDeliveries(
  tx: TenantTx,
  outbox: Outbox,
  references: readonly StoredReference[],
): Promise<(Operation | null)[]> {
  const tracked = references.filter((r) => r.provider.deliveryUpdate);
  if (!tracked.length) return references.map(() => null);
  const stored = (
    await tx.$queryRawUnsafe<{ integrationId: string; providerEventId: string; payload: string }[]>(
      EARLY_CALLBACKS,
      tracked[0]!.integration.tenantId,
      JSON.stringify([...new Set(tracked.map((r) => r.integration.id))]),
      JSON.stringify([...new Set(tracked.map((r) => r.providerReference))]),
      JSON.stringify([...STAGE_OF.keys()]),
    )
  ).map((e) => ({ ...e, payload: JSON.parse(e.payload) as unknown }));
  const results: (Operation | null)[] = [];
  for (const { provider, integration, providerReference } of references) {
    let latest: Operation | null = null;
    if (provider.deliveryUpdate) {
      const updates = stored
        .filter((e) => e.integrationId === integration.id && e.providerEventId.startsWith(`${providerReference}:`))
        .map(({ providerEventId, payload }) => {
          const relayed = payload as { providerEventType?: string; payload?: Record<string, unknown> };
          const event: InboundEvent = { id: providerEventId, type: relayed.providerEventType ?? '', payload: relayed.payload ?? {} };
          return provider.deliveryUpdate!(event);
        })
        .filter((u): u is DeliveryUpdate => u !== null && u.providerReference === providerReference)
        .sort((a, b) => deliveryStage(a.status, provider.deliveryStages) - deliveryStage(b.status, provider.deliveryStages));
      for (const update of updates) latest = (await trackDelivery(tx, outbox, integration, update, provider)) ?? latest;
    }
    results.push(latest);
  }
  return results;
}
