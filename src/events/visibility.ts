/**
 * Which events a credential reads. A person's reads the whole tenant's; an application's (JWT
 * `app_id`, or an API key it minted) only the events it caused and those already delivered to its
 * own webhooks: others name objects and carry data the application was never given. A person's or
 * the system's changes none of its webhooks subscribed to stay hidden, tenant-wide `integration.*`
 * included.
 */

import type { Viewer } from '../auth/viewer.ts';
import type { Prisma } from '../generated/prisma/client.ts';

export function eventVisibility(scope: { viewer: Pick<Viewer, 'appId'> }): Prisma.EventWhereInput {
  const { appId } = scope.viewer;
  return appId ? { OR: [{ appId }, { deliveries: { some: { webhook: { appId } } } }] } : {};
}
