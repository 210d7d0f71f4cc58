/**
 * How node(id) reads an id. Policy, the same for node(id) and every xxx(id:) query: an id that is
 * malformed, names no node type, or names a missing (or another tenant's) object answers null,
 * never an error, as Relay's node field and PostGraphile do; mutations answer NotFoundError.
 */
import { isThenable } from '@pothos/core';
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import {
  type GraphQLFieldResolver,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  isObjectType,
} from 'graphql';

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
  return implementsNode(decoded.typename ? info.schema.getType(decoded.typename) : undefined);
}

/** Whether `type` is an object type that implements Node. */
export function implementsNode(type: GraphQLNamedType | undefined | null): type is GraphQLObjectType {
  return isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Node');
}

/** What the relay plugin keeps of a node type's options: the resolver of its raw id. */
interface NodeTypeOptions {
  id?: { resolve?: GraphQLFieldResolver<unknown, unknown> };
}

/** How the relay plugin writes a global id: its `encodeGlobalID` option, else its own encoding. */
export type GlobalIdEncoder<Context> = (typename: string, id: string, context: Context) => string;

/**
 * Every node's `id` resolved without a promise. The relay plugin resolves `id` with an async
 * function (a node's raw id may come from a promise), so each object of a page held one promise
 * field, and graphql-js completed every object, and every list holding one, through promises and
 * microtasks: a quarter to a third of an executed webhooks page’s CPU (575 objects). Where nothing
 * wrapped the field (no plugin's wrapper, nothing set on the schema since: its resolver is still
 * the plugin's own), the type's raw id is read and encoded on the spot, as the plugin does after
 * its `await` (with the same `encoder`, the builder's `relay.encodeGlobalID` when it has one); a
 * raw id that is a promise is encoded once it settles. test/unit/node-ids.test.ts compares both
 * for every node type. Returns the names of the node types it changed.
 */
export function resolveNodeIdsAtOnce<Context>(schema: GraphQLSchema, encoder?: GlobalIdEncoder<Context>): string[] {
  const encode: GlobalIdEncoder<Context> = encoder ?? ((typename, id) => encodeGlobalID(typename, id));
  const changed: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!implementsNode(type)) continue;
    const field = type.getFields().id;
    const rawId = (type.extensions.pothosOptions as NodeTypeOptions | undefined)?.id?.resolve;
    // a wrapper (an auth scope on the field, say) stays: only the plugin's own resolver is replaced
    const unwrapped = field?.extensions.pothosResolveWrapped === false && field.resolve === field.extensions.pothosOriginalResolve;
    if (!field || !rawId || !unwrapped) continue;
    const typename = type.name;
    field.resolve = (parent, args, context, info) => {
      const id = rawId(parent, args, context, info);
      const ctx = context as Context;
      return isThenable(id) ? id.then((settled) => encode(typename, String(settled), ctx)) : encode(typename, String(id), ctx);
    };
    changed.push(typename);
  }
  return changed;
}
