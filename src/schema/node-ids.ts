/**
 * How node(id) reads an id. Policy, the same for node(id) and every xxx(id:) query: an id that is
 * malformed, names no node type, or names a missing (or another tenant's) object answers null,
 * never an error, as Relay's node field and PostGraphile do; mutations answer NotFoundError.
 */
import { isThenable } from '@pothos/core';
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { type GraphQLFieldResolver, type GraphQLResolveInfo, type GraphQLSchema, isObjectType } from 'graphql';

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

/** What the relay plugin keeps of a node type's options: the resolver of its raw id. */
interface NodeTypeOptions {
  id?: { resolve?: GraphQLFieldResolver<unknown, unknown> };
}

/**
 * Every node's `id` resolved without a promise. The relay plugin resolves `id` with an async
 * function (a node's raw id may come from a promise), so each object of a page held one promise
 * field, and graphql-js completed every object, and every list holding one, through promises and
 * microtasks: about 40% of an executed webhooks page's CPU (575 objects). Where the type's raw id
 * resolver answers at once (every node type here: a column, or a provider's name) and no plugin
 * wrapped the field, the id is encoded on the spot, as the plugin would after its `await`; a raw id
 * that is a promise still goes through the plugin's resolver. The relay options set no
 * `encodeGlobalID`, so the plugin's encoding is `encodeGlobalID` (test/unit/node-ids.test.ts
 * compares both for every node type). Returns the names of the node types it changed.
 */
export function resolveNodeIdsAtOnce(schema: GraphQLSchema): string[] {
  const changed: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || !type.getInterfaces().some((i) => i.name === 'Node')) continue;
    const field = type.getFields().id;
    const rawId = (type.extensions.pothosOptions as NodeTypeOptions | undefined)?.id?.resolve;
    const asThePluginDoes = field?.resolve;
    // a plugin that wrapped the field (an auth scope on it, say) keeps its wrapper
    if (!field || !rawId || !asThePluginDoes || field.extensions.pothosResolveWrapped !== false) continue;
    const typename = type.name;
    field.resolve = (parent, args, context, info) => {
      const id = rawId(parent, args, context, info);
      return isThenable(id) ? asThePluginDoes(parent, args, context, info) : encodeGlobalID(typename, String(id));
    };
    changed.push(typename);
  }
  return changed;
}
