/**
 * The arguments @pothos/plugin-prisma builds for the requests bench's webhook page
 * (`webhooks(first)`, each with `deliveries(first) { totalCount … event { id type occurredAt }
 * attempts { … } }`), as src/webhooks/first-page.ts receives them: for the tests that compare its
 * read with Prisma's, and bench/webhook-history.ts.
 */
import type { Prisma } from '../../src/generated/prisma/client.ts';
import { retainedWhere, withRetained } from '../../src/retention/windows.ts';

/** The delivery connection's filter: its status, if any, and the retention rule read through `prisma`. */
export const retainedDeliveries = (prisma: object, status?: string): Prisma.WebhookDeliveryWhereInput =>
  withRetained(status ? { status } : {}, retainedWhere(prisma, 'WebhookDelivery')) as Prisma.WebhookDeliveryWhereInput;

export function webhookPageArgs(prisma: object, take = 26, first = 3, status?: string) {
  return {
    take,
    skip: 0,
    include: {
      deliveries: {
        where: retainedDeliveries(prisma, status),
        orderBy: { id: 'desc' },
        take: first + 1,
        skip: 0,
        include: {
          event: { select: { id: true, type: true, occurredAt: true } },
          attempts: {
            orderBy: { attemptNumber: 'asc' },
            take: -10,
            select: { deliveryId: true, id: true, attemptNumber: true, responseStatus: true, durationMs: true, startedAt: true },
          },
        },
      },
      // the connection builds its filter again for the count
      _count: { select: { deliveries: { where: retainedDeliveries(prisma, status) } } },
    },
  };
}
