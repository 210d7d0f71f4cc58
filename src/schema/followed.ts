/**
 * The one object a subscription follows (integrationStatusChanged(id:), webhookDeliveryUpdated,
 * operationUpdated(id:)). Policy: an id that names nothing the caller can see (malformed, another
 * type's, another tenant's or application's, deleted, expired) answers one NOT_FOUND when the
 * subscription starts (404 over SSE, an error result over the socket), not a stream that could never
 * carry an event. The message repeats the id only when it is a well-formed id of that type.
 */
import { notFound } from '../errors.ts';
import { tryParseGlobalId } from '../ids.ts';

type Visible = (databaseId: string) => Promise<unknown>;

/**
 * The database id of the `typename` object `id` names, once `visible` has found it for the caller;
 * null when no id is given (an optional argument left out: every object of the tenant is followed).
 */
export async function followedId(typename: string, id: string | number, visible: Visible): Promise<string>;
export async function followedId(typename: string, id: string | number | null | undefined, visible: Visible): Promise<string | null>;
export async function followedId(typename: string, id: string | number | null | undefined, visible: Visible): Promise<string | null> {
  if (id == null) return null;
  const databaseId = tryParseGlobalId(typename, String(id));
  if (databaseId === null || !(await visible(databaseId))) throw notFound(typename, String(id));
  return databaseId;
}
