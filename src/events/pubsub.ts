/**
 * In-process pub/sub for GraphQL subscriptions (SSE). Topics are keyed by tenant so a
 * subscriber only ever hears its own tenant's changes.
 */
import { createPubSub } from 'graphql-yoga';

export type PubSub = ReturnType<typeof createAppPubSub>;

export function createAppPubSub() {
  return createPubSub<{
    'integration:status': [tenantId: string, payload: { integrationId: string }];
    'webhook:delivery': [tenantId: string, payload: { deliveryId: string; webhookId: string }];
  }>();
}
