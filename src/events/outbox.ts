/**
 * The event outbox. Every state change writes its event row in the same transaction as the
 * change; the outbound-webhooks worker delivers from these rows.
 */
import type { Prisma } from '../generated/prisma/client.ts';
import type { TenantTx } from '../db/tenant.ts';

/** Every event type the system emits (the `eventTypes` query lists them). */
export const EVENT_TYPES = [
  'integration.created',
  'integration.updated',
  'integration.status_changed',
  'integration.credentials_rotated',
  'integration.deleted',
  'routing_rule.created',
  'routing_rule.updated',
  'routing_rule.deleted',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface Actor {
  tenantId: string;
  actorId: string | null;
  appId: string | null;
}

export async function recordEvent(
  tx: TenantTx,
  actor: Actor,
  event: { type: EventType; subjectId: string; data: Prisma.InputJsonObject },
): Promise<void> {
  await tx.event.create({
    data: {
      tenantId: actor.tenantId,
      type: event.type,
      subjectId: event.subjectId,
      payload: event.data,
      appId: actor.appId,
      createdBy: actor.actorId,
      updatedBy: actor.actorId,
    },
  });
}
