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
import { DateTimeResolver, JSONObjectResolver, JSONResolver, URLResolver } from 'graphql-scalars';
import type { Scope } from './auth/scopes.ts';
import type { Context } from './context.ts';
import { forbidden } from './errors.ts';
import type PrismaTypes from './generated/pothos-types.ts';
import { getDatamodel } from './generated/pothos-types.ts';

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
    authScopes: (ctx) => ({
      'integrations:read': ctx.viewer.scopes.has('integrations:read'),
      'integrations:write': ctx.viewer.scopes.has('integrations:write'),
      'webhooks:read': ctx.viewer.scopes.has('webhooks:read'),
      'webhooks:write': ctx.viewer.scopes.has('webhooks:write'),
      admin: ctx.viewer.scopes.has('admin'),
    }),
    unauthorizedError: (_parent, _ctx, info) =>
      forbidden(`${info.parentType.name}.${info.fieldName} needs a scope this credential does not have`),
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodesQueryOptions: false,
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
  },
  prisma: {
    client: (ctx) => ctx.db as never,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'warn',
  },
  errors: {
    // A mutation's result union holds its payload itself: `… on ConfigureIntegrationPayload`.
    directResult: true,
    defaultUnionOptions: { name: ({ fieldName }) => `${fieldName[0]!.toUpperCase()}${fieldName.slice(1)}Result` },
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);
builder.addScalarType('JSONObject', JSONObjectResolver);
builder.addScalarType('URL', URLResolver);
