/**
 * Which events a credential reads. Applications share their tenant's event log, so an
 * application's credential (JWT `app_id`, or an API key minted by one) reads only the events it
 * caused (stamped with its appId) and those delivered to its own webhooks, which it has been
 * sent already. Another application's changes, and a person's or the system's that none of its
 * webhooks subscribed to (tenant-wide `integration.*` included), stay hidden: an event names
 * objects and carries data that the application was never given. A person's credential reads
 * the whole tenant's.
 */

import type { Viewer } from '../auth/viewer.ts';
import type { Prisma } from '../generated/prisma/client.ts';

export function eventVisibility(scope: { viewer: Pick<Viewer, 'appId'> }): Prisma.EventWhereInput {
  const { appId } = scope.viewer;
  return appId ? { OR: [{ appId }, { deliveries: { some: { webhook: { appId } } } }] } : {};
}
