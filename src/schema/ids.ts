import { decodeGlobalID } from '@pothos/plugin-relay';
import { NotFoundError } from '../errors.ts';

/**
 * The database id inside a Relay global id of the given type. A malformed id, or one of another
 * type, is reported exactly like an id that does not exist.
 */
export function parseGlobalId(typename: string, globalId: string): string {
  try {
    const { typename: actual, id } = decodeGlobalID(globalId);
    if (actual === typename && id) return id;
  } catch {
    // fall through: not a global id
  }
  throw new NotFoundError(typename, globalId);
}

/** Like parseGlobalId, but null for an id that cannot be this type's (for nullable lookups). */
export function tryParseGlobalId(typename: string, globalId: string): string | null {
  try {
    return parseGlobalId(typename, globalId);
  } catch {
    return null;
  }
}
