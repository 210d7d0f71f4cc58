/**
 * Pub/sub for GraphQL subscriptions (SSE). Topics are keyed by tenant so a subscriber only ever
 * hears its own tenant's changes. In-process on the embedded database (one process); across every
 * instance through PostgreSQL LISTEN/NOTIFY on a server (pg-event-target.ts).
 */
import { createPubSub } from 'graphql-yoga';

type Topics = {
  'integration:status': [tenantId: string, payload: { integrationId: string }];
  'webhook:delivery': [tenantId: string, payload: { deliveryId: string; webhookId: string }];
  'operation:updated': [tenantId: string, payload: { operationId: string; status: string; appId: string | null }];
};

export type PubSub = ReturnType<typeof createPubSub<Topics>>;

export function createAppPubSub(eventTarget?: EventTarget): PubSub {
  return createPubSub<Topics>(eventTarget ? { eventTarget: eventTarget as never } : undefined);
}
