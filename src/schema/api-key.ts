import { apiKeyVisibility, createApiKey, revokeApiKey } from '../api-keys/service.ts';
import { isScope, scopeFromInput } from '../auth/scopes.ts';
import { builder } from '../builder.ts';
import { ConflictError, NotFoundError, parseGlobalId, ValidationError } from '../errors.ts';
import type { ApiKey } from '../generated/prisma/client.ts';
import { ACTOR_DESCRIPTIONS, ScopeEnum } from './auth-enums.ts';
import { pageArgsGuard, pageCount, totalCountField } from './paging.ts';

const ADMIN = { admin: true } as const;

export const ApiKeyRef = builder.prismaNode('ApiKey', {
  id: { field: 'id' },
  // a node(id) of a missing (or another tenant's) row answers null, not an error
  nullable: true,
  description: 'A machine credential of the tenant (sent as x-api-key). The secret itself is never readable.',
  authScopes: ADMIN,
  findUnique: (id, ctx) => ({ id, ...apiKeyVisibility(ctx) }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'What the key is for.' }),
    prefix: t.exposeString('prefix', { description: 'The key’s first characters, to tell keys apart.' }),
    scopes: t.field({
      type: [ScopeEnum],
      description: 'What the key may do, as granted (implied scopes not repeated).',
      resolve: (k) => k.scopes.filter(isScope),
    }),
    appId: t.exposeString('appId', { nullable: true, description: 'The application the key belongs to, if any.' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Last use, to the minute.' }),
    revokedAt: t.expose('revokedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was revoked; revoked keys authenticate nothing.',
    }),
    revokedBy: t.exposeString('revokedBy', { nullable: true, description: 'Who revoked it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    createdBy: t.exposeString('createdBy', {
      nullable: true,
      description: ACTOR_DESCRIPTIONS.createdBy,
    }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed (revoked, renamed).' }),
    updatedBy: t.exposeString('updatedBy', { nullable: true, description: ACTOR_DESCRIPTIONS.updatedBy }),
    deletedAt: t.expose('deletedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was deleted; null, since keys are revoked (revokedAt), not deleted. A deleted key would authenticate nothing.',
    }),
    deletedBy: t.exposeString('deletedBy', { nullable: true, description: 'Who deleted it; null, as deletedAt is (see revokedBy).' }),
  }),
});

const apiKeyCount = pageCount((_args, ctx) => ctx.db.apiKey.count({ where: apiKeyVisibility(ctx) }));

builder.queryField('apiKeys', (t) =>
  t.prismaConnection(
    {
      type: 'ApiKey',
      cursor: 'id',
      description: 'The tenant’s API keys, newest first (an application credential sees its application’s keys).',
      authScopes: ADMIN,
      resolve: (query, _root, args, ctx, info) => {
        pageArgsGuard(args);
        apiKeyCount.start(ctx, args, info);
        return ctx.db.apiKey.findMany({ ...query, where: apiKeyVisibility(ctx), orderBy: { id: 'desc' } });
      },
      totalCount: apiKeyCount.totalCount,
    },
    {
      name: 'ApiKeyConnection',
      description: 'A page of API keys.',
      fields: (t) => ({ totalCount: t.int(totalCountField('How many API keys the caller can see, across all pages.')) }),
    },
    { name: 'ApiKeyEdge', description: 'An API key in a page.' },
  ),
);

builder.relayMutationField(
  'createApiKey',
  {
    description: 'A new API key.',
    inputFields: (t) => ({
      name: t.string({ required: true, description: 'What the key is for (1-100 characters).' }),
      scopes: t.stringList({
        required: false,
        description:
          'Its scopes, as in a token’s scope claim (integrations:read) or as Scope values (INTEGRATIONS_READ); default: the caller’s. At most the caller’s.',
      }),
    }),
  },
  {
    description: 'Creates an API key. The secret is in the payload once and can never be read again.',
    authScopes: ADMIN,
    errors: { types: [ValidationError, ConflictError] },
    resolve: (_root, { input }, ctx) => createApiKey(ctx, { ...input, scopes: input.scopes?.map(scopeFromInput) }),
  },
  {
    description: 'The new key and, this once, its secret.',
    outputFields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, description: 'The key.', resolve: (r) => r.apiKey }),
      secret: t.exposeString('secret', { description: 'The key itself, for the x-api-key header. Shown only now.' }),
    }),
  },
);

builder.relayMutationField(
  'revokeApiKey',
  { description: 'Which key to revoke.', inputFields: (t) => ({ id: t.id({ required: true, description: 'The key’s id.' }) }) },
  {
    description: 'Revokes an API key; it stops authenticating at once.',
    authScopes: ADMIN,
    errors: { types: [NotFoundError] },
    resolve: (_root, { input }, ctx) => revokeApiKey(ctx, parseGlobalId('ApiKey', String(input.id))),
  },
  {
    description: 'The revoked key.',
    outputFields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, description: 'The key.', resolve: (k: ApiKey) => k }),
    }),
  },
);
