/**
 * How node(id) reads an id. Policy, the same for node(id) and every xxx(id:) query: an id that is
 * malformed, names no node type, or names a missing (or another tenant's) object answers null,
 * never an error, as Relay's node field and PostGraphile do; mutations answer NotFoundError.
 */
import { decodeGlobalID } from '@pothos/plugin-relay';
import { type GraphQLResolveInfo, isObjectType } from 'graphql';

type DecodedId = { typename: string; id: string };

/** What stands for an id that does not decode: no type has an empty name. */
const NOT_AN_ID: DecodedId = { typename: '', id: '' };

/** Pothos's decoder without its "Invalid global ID" error (relay.decodeGlobalID in src/builder.ts). */
export function decodeNodeId(globalID: string): DecodedId {
  try {
    return decodeGlobalID(globalID);
  } catch {
    return NOT_AN_ID;
  }
}

/** Whether a decoded id names an object type that implements Node (else there is nothing to load). */
export function isNodeId(decoded: DecodedId, info: GraphQLResolveInfo): boolean {
  const type = decoded.typename ? info.schema.getType(decoded.typename) : undefined;
  return isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Node');
}
