/**
 * The event outbox. Every state change records its event in the same transaction as the
 * change, and in that transaction the event fans out: one delivery row and one queued job per
 * ACTIVE webhook of the tenant whose filter matches. A crash therefore loses neither the event
 * nor a delivery, and a rolled-back change delivers nothing. The delivery queue and its jobs are
 * the webhooks' (src/webhooks/queue.ts).
 */
import { v7 as uuidv7 } from 'uuid';
import { insertManySql, insertManyStatement } from '../db/insert-many.ts';
import type { RawTx } from '../db/raw-transaction.ts';
import type { TenantTx } from '../db/tenant.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { eventTypeMatches } from '../webhooks/policy.ts';
import { DELIVER_QUEUE, deliveryJob } from '../webhooks/queue.ts';

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
  'webhook.test',
  'webhook.paused',
  'webhook.disabled',
  'operation.succeeded',
  'operation.failed',
  'operation.delivery_updated',
] as const;
/** Relayed inbound provider events: `provider.<name>.<provider event type>`. */
export type ProviderEventType = `provider.${string}.${string}`;
export type EventType = (typeof EVENT_TYPES)[number] | ProviderEventType;

export interface Actor {
  tenantId: string;
  actorId: string | null;
  appId: string | null;
}

export interface RecordedEvent {
  eventId: string;
  deliveryIds: string[];
}

export type FanOutTarget = { id: string; eventTypes: string[]; timeoutMs: number };

/** An event to record: what `recordMany` takes. */
export interface OutboxEvent {
  actor: Omit<Actor, 'tenantId'>;
  type: EventType;
  subjectId: string;
  data: Prisma.InputJsonObject;
}

/** Events ready to be written by a statement of the caller's (`Outbox.prepare`). */
export interface PreparedEvents {
  tenantId: string;
  events: readonly OutboxEvent[];
  rows: readonly { id: string }[];
  now: Date;
  /** The rows, as the JSON parameter of `insert`. */
  rowsJson: string;
  /** The INSERT of the events, their rows in the parameter `placeholder` (`$n`). */
  insert(placeholder: string): string;
  /** An expression: the tenant's ACTIVE webhooks as a JSON array, the tenant in `tenantPlaceholder`. */
  webhooks(tenantPlaceholder: string): string;
}

/** The tenant's ACTIVE webhooks (the tenant in `tenant`, a `$n` or `$n::text`), as `tx.webhook.findMany` in `record` reads them. */
function activeWebhooksSql(tenant: string): string {
  if (!/^\$[1-9][0-9]*(::text)?$/.test(tenant)) throw new TypeError(`activeWebhooksSql: "${tenant}" is not a placeholder`);
  return `SELECT "id", "eventTypes", "timeoutMs" FROM "Webhook"
  WHERE "tenantId" = ${tenant} AND "status" = 'ACTIVE' AND "deletedAt" IS NULL`;
}

export class Outbox {
  /** The tenant's ACTIVE webhooks, read once per transaction however many events it records. */
  private readonly activeWebhooks = new WeakMap<object, Promise<FanOutTarget[]>>();

  constructor(private readonly queue: JobQueue) {}

  /**
   * Records an event and fans it out. `onlyWebhookId` delivers to that one webhook whatever its
   * filter (sendTestEvent).
   */
  async record(
    tx: TenantTx,
    actor: Actor,
    event: {
      type: EventType;
      subjectId: string;
      data: Prisma.InputJsonObject;
      /** A relayed provider event: where it came from and the provider's id for it. */
      source?: { integrationId: string; providerEventId: string };
    },
    options: { onlyWebhookId?: string } = {},
  ): Promise<RecordedEvent> {
    const eventId = uuidv7();
    await tx.event.create({
      data: {
        id: eventId,
        tenantId: actor.tenantId,
        type: event.type,
        subjectId: event.subjectId,
        payload: event.data,
        sourceIntegrationId: event.source?.integrationId,
        providerEventId: event.source?.providerEventId,
        appId: actor.appId,
        createdBy: actor.actorId,
        updatedBy: actor.actorId,
      },
    });
    const select = { id: true, eventTypes: true, timeoutMs: true } as const;
    let webhooks: FanOutTarget[];
    if (options.onlyWebhookId) {
      webhooks = await tx.webhook.findMany({ where: { id: options.onlyWebhookId }, select });
    } else {
      let cached = this.activeWebhooks.get(tx);
      if (!cached) {
        cached = tx.webhook.findMany({ where: { status: 'ACTIVE' }, select });
        this.activeWebhooks.set(tx, cached);
      }
      webhooks = await cached;
    }
    const targets = options.onlyWebhookId
      ? webhooks
      : webhooks.filter((w) => w.eventTypes.some((pattern) => eventTypeMatches(pattern, event.type)));
    const deliveryIds = targets.map(() => uuidv7());
    if (targets.length) {
      const now = new Date();
      const rows = targets.map((w, i) => ({
        id: deliveryIds[i]!,
        tenantId: actor.tenantId,
        webhookId: w.id,
        eventId,
        nextAttemptAt: now,
        createdAt: now,
        updatedAt: now,
        createdBy: actor.actorId,
        updatedBy: actor.actorId,
      }));
      await tx.$executeRawUnsafe(...insertManyStatement('WebhookDelivery', rows)!);
      await this.queue.enqueueMany(
        tx,
        DELIVER_QUEUE,
        targets.map((w, i) => deliveryJob({ tenantId: actor.tenantId, id: deliveryIds[i]!, attemptCount: 0 }, w.timeoutMs)),
      );
    }
    return { eventId, deliveryIds };
  }

  /**
   * Records events of one tenant and fans them out as `record` does each, in three statements
   * however many there are (the events with the webhook read unless the transaction read them
   * already, their deliveries, the deliveries' jobs): for writers that commit many at once, and
   * the integration changes.
   */
  async recordMany(tx: RawTx, tenantId: string, events: readonly OutboxEvent[]): Promise<RecordedEvent[]> {
    if (!events.length) return [];
    const prepared = this.prepare(tenantId, events);
    let cached = this.activeWebhooks.get(tx);
    if (cached) await tx.$executeRawUnsafe(prepared.insert('$1'), prepared.rowsJson);
    else {
      // the first events of the transaction read the webhooks in the same statement: one round trip
      cached = tx.$queryRawUnsafe<FanOutTarget[]>(
        `WITH inserted AS (${prepared.insert('$1')}) ${activeWebhooksSql('$2')}`,
        prepared.rowsJson,
        tenantId,
      );
      this.activeWebhooks.set(tx, cached);
    }
    return this.fanOut(tx, prepared, await cached);
  }

  /**
   * The rows of events to record within a statement of the caller's (`insert`, with the tenant's
   * ACTIVE webhooks read in it by `webhooks`), then fanned out by `fannedOut`: the integration
   * changes send their UPDATE, the events and the webhook read in one round trip.
   */
  prepare(tenantId: string, events: readonly OutboxEvent[]): PreparedEvents {
    const now = new Date();
    const rows = events.map((e) => ({
      id: uuidv7(),
      tenantId,
      type: e.type,
      subjectId: e.subjectId,
      payload: e.data,
      appId: e.actor.appId,
      occurredAt: now,
      createdAt: now,
      updatedAt: now,
      createdBy: e.actor.actorId,
      updatedBy: e.actor.actorId,
    }));
    return {
      tenantId,
      events,
      rows,
      now,
      // serialised once, whichever statement carries them
      rowsJson: JSON.stringify(rows),
      insert: (placeholder) => insertManySql('Event', rows, placeholder),
      webhooks: (tenantPlaceholder) => `(SELECT coalesce(json_agg(w), '[]'::json) FROM (${activeWebhooksSql(tenantPlaceholder)}) AS w)`,
    };
  }

  /** Fans prepared events out, once their statement wrote them and read `webhooks` (the tenant's ACTIVE ones). */
  fannedOut(tx: RawTx, prepared: PreparedEvents, webhooks: FanOutTarget[]): Promise<RecordedEvent[]> {
    this.activeWebhooks.set(tx, Promise.resolve(webhooks));
    return this.fanOut(tx, prepared, webhooks);
  }

  /** The deliveries of recorded events to the webhooks whose filters match, and their jobs: two statements, or none. */
  private async fanOut(tx: RawTx, prepared: PreparedEvents, webhooks: FanOutTarget[]): Promise<RecordedEvent[]> {
    const { tenantId, now } = prepared;
    const recorded = prepared.rows.map((row) => ({ eventId: row.id, deliveryIds: [] as string[] }));
    const deliveries: Prisma.WebhookDeliveryCreateManyInput[] = [];
    const jobs: ReturnType<typeof deliveryJob>[] = [];
    prepared.events.forEach((event, i) => {
      for (const w of webhooks) {
        if (!w.eventTypes.some((pattern) => eventTypeMatches(pattern, event.type))) continue;
        const id = uuidv7();
        recorded[i]!.deliveryIds.push(id);
        const { actorId } = event.actor;
        deliveries.push({
          id,
          tenantId,
          webhookId: w.id,
          eventId: recorded[i]!.eventId,
          nextAttemptAt: now,
          createdBy: actorId,
          updatedBy: actorId,
        });
        jobs.push(deliveryJob({ tenantId, id, attemptCount: 0 }, w.timeoutMs));
      }
    });
    if (deliveries.length) {
      const rows = deliveries.map((d) => ({ ...d, id: d.id!, createdAt: now, updatedAt: now }));
      await tx.$executeRawUnsafe(...insertManyStatement('WebhookDelivery', rows)!);
      await this.queue.enqueueMany(tx, DELIVER_QUEUE, jobs);
    }
    return recorded;
  }
}
