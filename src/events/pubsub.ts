/**
 * Pub/sub for GraphQL subscriptions (SSE). Topics are keyed by tenant so a subscriber only ever
 * hears its own tenant's changes. In-process on the embedded database (one process); across every
 * instance through PostgreSQL LISTEN/NOTIFY on a server (pg-event-target.ts).
 */
import { setMaxListeners } from 'node:events';
import { createPubSub } from 'graphql-yoga';

type Topics = {
  'integration:status': [tenantId: string, payload: { integrationId: string }];
  'webhook:delivery': [tenantId: string, payload: { deliveryId: string; webhookId: string }];
  'operation:updated': [tenantId: string, payload: { operationId: string; status: string; appId: string | null }];
};

export type PubSub = ReturnType<typeof createPubSub<Topics>>;

export function createAppPubSub(eventTarget: EventTarget = unboundedEventTarget()): PubSub {
  return createPubSub<Topics>({ eventTarget: eventTarget as never });
}

/**
 * An EventTarget without Node's leak warning past 10 listeners of one type: each open
 * subscription of a tenant listens on its tenant's topic, and their number is bounded by the
 * stream admission (SSE_STREAM_LIMIT_PER_TENANT, per address), not by that heuristic.
 */
export function unboundedEventTarget(): EventTarget {
  const target = new EventTarget();
  setMaxListeners(0, target);
  return target;
}
