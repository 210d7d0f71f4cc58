/**
 * Relay global ids (base64 of `Type:uuid`): the one module that makes and reads them. The schema
 * decodes the ids clients send and use cases take database ids; what leaves the database (GraphQL
 * fields, event payloads, the webhook-id header, not-found messages) is encoded here. It imports
 * nothing of this project; parseGlobalId, which throws NotFoundError, is in errors.ts.
 */
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';

/** What a database id is: every model's id is a uuid(7) (prisma/schema.prisma). */
const DATABASE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function integrationGlobalId(id: string) {
  return encodeGlobalID('Integration', id);
}

export function routingRuleGlobalId(id: string) {
  return encodeGlobalID('RoutingRule', id);
}

export function webhookGlobalId(id: string) {
  return encodeGlobalID('Webhook', id);
}

export function deliveryGlobalId(id: string) {
  return encodeGlobalID('WebhookDelivery', id);
}

export function operationGlobalId(id: string) {
  return encodeGlobalID('Operation', id);
}

export function apiKeyGlobalId(id: string) {
  return encodeGlobalID('ApiKey', id);
}

/**
 * Whether `value` is, exactly as written, the global id of a `typename` object (its type's name and
 * a uuid, in canonical base64): what an error may repeat of an id the client sent. Anything else
 * might be a secret pasted into the wrong field, or one wrapped as `base64("Webhook:<secret>")`.
 */
export function isGlobalIdOf(typename: string, value: string): boolean {
  try {
    const { typename: actual, id } = decodeGlobalID(value);
    return actual === typename && DATABASE_ID.test(id) && encodeGlobalID(typename, id) === value;
  } catch {
    return false;
  }
}

/**
 * The database id inside a Relay global id of the given type, or null for an id that cannot be this
 * type's (malformed, or another type's). parseGlobalId (errors.ts) reports null as not found.
 */
export function tryParseGlobalId(typename: string, globalId: string): string | null {
  try {
    const { typename: actual, id } = decodeGlobalID(globalId);
    if (actual === typename && id) return id;
  } catch {
    // fall through: not a global id
  }
  return null;
}
