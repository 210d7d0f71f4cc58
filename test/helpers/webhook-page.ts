/**
 * The arguments @pothos/plugin-prisma builds for the requests bench's webhook page
 * (`webhooks(first)`, each with `deliveries(first) { totalCount … event { id type occurredAt }
 * attempts { … } }`), as src/webhooks/first-page.ts receives them: for the tests that compare its
 * read with Prisma's, and bench/webhook-history.ts; and the rows those benches read.
 */
import type { TenantDb } from '../../src/db/tenant.ts';
import type { Prisma } from '../../src/generated/prisma/client.ts';
import { retainedWhere, withRetained } from '../../src/retention/windows.ts';

/** The delivery connection's filter: its status, if any, and the retention rule read through `prisma`. */
export const retainedDeliveries = (prisma: object, status?: string): Prisma.WebhookDeliveryWhereInput =>
  withRetained(status ? { status } : {}, retainedWhere(prisma, 'WebhookDelivery')) as Prisma.WebhookDeliveryWhereInput;

export function webhookPageArgs(prisma: object, take = 26, first = 3, status?: string) {
  // the connection builds its filter once per request, for the list and the count
  const where = retainedDeliveries(prisma, status);
  return {
    take,
    skip: 0,
    include: {
      deliveries: {
        where,
        orderBy: { id: 'desc' },
        take: first + 1,
        skip: 0,
        select: {
          event: { select: { id: true, type: true, occurredAt: true } },
          attempts: {
            orderBy: { attemptNumber: 'asc' },
            take: -10,
            select: { deliveryId: true, id: true, attemptNumber: true, responseStatus: true, durationMs: true, startedAt: true },
          },
          // the type's own selection: its small columns, always read
          id: true,
          status: true,
          attemptCount: true,
          nextAttemptAt: true,
          createdAt: true,
        },
      },
      _count: { select: { deliveries: { where } } },
    },
  };
}

/**
 * `count` webhooks of `tenantId` subscribed to every event, written directly: their sealed columns
 * hold zeros (no delivery is ever sent to them; the benches only read them).
 */
export async function createReadOnlyWebhooks(db: TenantDb, tenantId: string, count: number, label: string) {
  const sealed = (n: number) => new Uint8Array(n);
  const webhooks = [];
  for (let i = 0; i < count; i++) {
    webhooks.push(
      await db.webhook.create({
        data: {
          tenantId,
          name: `${label} ${i}`,
          url: `https://hooks.example.com/${i}`,
          eventTypes: ['*'],
          maxAttempts: 8,
          timeoutMs: 1000,
          secretKeyId: 'k',
          secretDataKey: sealed(40),
          secretIv: sealed(12),
          secretTag: sealed(16),
          secretCiphertext: sealed(32),
          secretFingerprint: 'fp',
        },
      }),
    );
  }
  return webhooks;
}

/** One event with `payload`, delivered to each of `webhooks` in one attempt that answered 200 (with `responseBody`). */
export async function deliverOneEvent(
  db: TenantDb,
  tenantId: string,
  webhooks: readonly { id: string }[],
  payload: Prisma.InputJsonValue,
  responseBody?: string,
) {
  const event = await db.event.create({ data: { tenantId, type: 'webhook.test', payload } });
  await db.webhookDelivery.createMany({
    data: webhooks.map((w) => ({ tenantId, webhookId: w.id, eventId: event.id, status: 'SUCCEEDED' as const, attemptCount: 1 })),
  });
  const delivered = await db.webhookDelivery.findMany({ where: { eventId: event.id }, select: { id: true } });
  await db.deliveryAttempt.createMany({
    data: delivered.map((d) => ({
      tenantId,
      deliveryId: d.id,
      attemptNumber: 1,
      startedAt: new Date(),
      durationMs: 5,
      responseStatus: 200,
      responseBody,
    })),
  });
}
