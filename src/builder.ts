/**
 * The schema builder: plugins, scalars and auth scopes. No types are defined here; each
 * domain file under src/schema/ adds its own.
 *
 * Plugin order matters: the first wraps the others, so scope checks run before the errors
 * plugin could turn a refusal into a result, and errors wraps prisma (per the plugins' docs).
 */
import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import { DateTimeResolver, JSONObjectResolver, JSONResolver, URLResolver } from 'graphql-scalars';
import { missingScope, type Scope } from './auth/scopes.ts';
import type { Context } from './context.ts';
import type PrismaTypes from './generated/pothos-types.ts';
import { getDatamodel } from './generated/pothos-types.ts';
import { limitJson } from './graphql-hardening/input-limits.ts';
import { schemaClient } from './schema/client.ts';
import { decodeNodeId, isNodeId } from './schema/node-ids.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './schema/paging.ts';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: Record<Scope, boolean>;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
    URL: { Input: URL; Output: URL | string };
  };
}>({
  plugins: [ScopeAuthPlugin, ErrorsPlugin, RelayPlugin, PrismaPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    // A type's own scopes are checked once per object (when GraphQL completes it) rather than
    // before each of its fields: the same rule, a tenth of the checks on a page of objects.
    runScopesOnType: true,
    // a subscription's scopes are checked when it starts, so a caller without them gets one
    // refusal instead of a stream that sends a FORBIDDEN frame per event (and its timing)
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      'integrations:read': ctx.viewer.scopes.has('integrations:read'),
      'integrations:write': ctx.viewer.scopes.has('integrations:write'),
      'webhooks:read': ctx.viewer.scopes.has('webhooks:read'),
      'webhooks:write': ctx.viewer.scopes.has('webhooks:write'),
      'operations:read': ctx.viewer.scopes.has('operations:read'),
      'operations:write': ctx.viewer.scopes.has('operations:write'),
      admin: ctx.viewer.scopes.has('admin'),
      connect: ctx.viewer.scopes.has('connect'),
    }),
    // FORBIDDEN names the scope that would do (src/auth/scopes.ts)
    unauthorizedError: (_parent, _ctx, info, result) => missingScope(`${info.parentType.name}.${info.fieldName}`, result.failure),
  },
  // The descriptions below are those of what the relay plugin generates: the Node interface, the
  // id of every node type, node(id), PageInfo, each connection's edges and paging arguments.
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeTypeOptions: { description: 'An object with a global id; Query.node fetches any of them by that id.' },
    idFieldOptions: {
      description: 'The object’s global id: opaque and stable. Pass it to node(id) and to the arguments that take this object’s id.',
    },
    // a malformed id answers null, like a missing one, as every xxx(id:) field does (src/schema/node-ids.ts)
    decodeGlobalID: decodeNodeId,
    nodeQueryOptions: {
      description: 'Any object by its global id; null when it does not exist for the caller, or the id is not one.',
      args: { id: { description: 'A global id, as read from an id field.' } },
      resolve: (_root, args, _ctx, info, resolveNode) => (isNodeId(args.id, info) ? resolveNode(args.id) : null),
    },
    nodesQueryOptions: false,
    pageInfoTypeOptions: {
      description: 'Where a page is in its connection: its first and last cursors, and whether more items precede or follow it.',
    },
    hasNextPageFieldOptions: { description: 'Whether items follow this page (exact when paging forward with first and after).' },
    hasPreviousPageFieldOptions: { description: 'Whether items precede this page (exact when paging backward with last and before).' },
    startCursorFieldOptions: { description: 'The cursor of the page’s first item, to pass as before; null when the page is empty.' },
    endCursorFieldOptions: {
      description: 'The cursor of the page’s last item, to pass as after for the next page; null when the page is empty.',
    },
    pageInfoFieldOptions: { description: 'Cursors of this page, and whether there are more items before or after it.' },
    edgesFieldOptions: { nullable: false, description: 'The items of this page, in the connection’s order, each with its cursor.' },
    nodeFieldOptions: { nullable: false, description: 'The item.' },
    cursorFieldOptions: { description: 'Where this item is in the connection: pass it as after (or before) to page from here. Opaque.' },
    firstArgOptions: {
      description: `Return at most this many items, from the start or from \`after\` (default ${DEFAULT_PAGE_SIZE}, at most ${MAX_PAGE_SIZE}).`,
    },
    afterArgOptions: { description: 'Return items after this cursor (an edge’s cursor or pageInfo.endCursor).' },
    lastArgOptions: { description: `Return at most this many items, back from the end or from \`before\` (at most ${MAX_PAGE_SIZE}).` },
    beforeArgOptions: { description: 'Return items before this cursor (an edge’s cursor or pageInfo.startCursor).' },
    mutationInputArgOptions: { description: 'The mutation’s arguments; its input type describes each.' },
  },
  prisma: {
    client: (ctx) => schemaClient(ctx.db) as never,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    defaultConnectionSize: DEFAULT_PAGE_SIZE,
    maxConnectionSize: MAX_PAGE_SIZE,
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'warn',
  },
  errors: {
    // A mutation's result union holds its payload itself: `… on ConfigureIntegrationPayload`.
    directResult: true,
    defaultUnionOptions: {
      name: ({ fieldName }) => `${fieldName[0]!.toUpperCase()}${fieldName.slice(1)}Result`,
      description:
        'A mutation’s result: its payload when it succeeded, else one of the expected errors it can raise (each implements Error).',
    },
  },
});

// graphql-scalars' DateTime serializes to a Date, which JSON.stringify then turns into the same
// text through its toJSON, one call per instant of a response: written as that text at once
builder.addScalarType('DateTime', DateTimeResolver, {
  serialize: (value) => {
    const at = DateTimeResolver.serialize(value) as Date;
    // graphql-scalars gives a number's Date unchecked: an invalid one is an error, as for the others
    if (Number.isNaN(at.getTime())) throw new GraphQLError('DateTime cannot represent an invalid Unix timestamp');
    return at.toISOString();
  },
});
// no NUL, at most 32 levels deep and 64 KiB (src/graphql-hardening/input-limits.ts)
builder.addScalarType('JSON', JSONResolver, limitJson<unknown>(JSONResolver));
builder.addScalarType('JSONObject', JSONObjectResolver, limitJson<Record<string, unknown>>(JSONObjectResolver));
// graphql-scalars' URL throws a bare TypeError ("Invalid URL") for a bad variable value, which
// would be masked as INTERNAL_SERVER_ERROR; as a GraphQLError it is the client's input error
builder.addScalarType('URL', URLResolver, {
  parseValue(value) {
    try {
      return URLResolver.parseValue(value) as URL;
    } catch (err) {
      throw err instanceof GraphQLError ? err : new GraphQLError('Value is not a valid URL');
    }
  },
});
