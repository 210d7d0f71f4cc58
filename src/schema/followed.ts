/**
 * The one object a subscription follows (integrationStatusChanged(id:), webhookDeliveryUpdated,
 * operationUpdated(id:)). Policy: an id that names nothing the caller can see (malformed, another
 * type's, another tenant's or application's, deleted, expired) answers one NOT_FOUND when the
 * subscription starts (404 over SSE, an error result over the socket), not a stream that could never
 * carry an event. The message repeats the id only when it is a well-formed id of that type.
 */
import { notFound } from '../errors.ts';
import { tryParseGlobalId } from '../ids.ts';

/** The database id of the `typename` object `id` names, once `visible` has found it for the caller. */
export async function followedId(typename: string, id: unknown, visible: (databaseId: string) => Promise<unknown>): Promise<string> {
  const databaseId = tryParseGlobalId(typename, String(id));
  if (databaseId === null || !(await visible(databaseId))) throw notFound(typename, String(id));
  return databaseId;
}
