import { allowedProvidersWhere, providerAllowed } from '../auth/connect-sessions.ts';
import type { Viewer } from '../auth/viewer.ts';
import { builder } from '../builder.ts';
import { badArgument } from '../errors.ts';
import type { Integration, Prisma } from '../generated/prisma/client.ts';
import { IntegrationStatus } from '../generated/prisma/enums.ts';
import { maxItems } from '../graphql-hardening/list-bounds.ts';
import { tryParseGlobalId } from '../ids.ts';
import { type FirstPageFilter, readFirstIntegrationPage } from '../integrations/first-page.ts';
import { credentialFields, inboundWebhookUrl, publicCredentials } from '../integrations/present.ts';
import { findProvider, PROVIDERS } from '../providers/catalog.ts';
import { ACTOR_DESCRIPTIONS } from './auth-enums.ts';
import { withoutSealed } from './client.ts';
import { holdsEveryRow, pageArgsGuard, pageCount, totalCountField, uncutLength } from './paging.ts';
import { MAX_CREDENTIAL_FIELDS, ProviderCategoryEnum, ProviderRef } from './provider.ts';

/** Who else acted on the tenant's integrations, and its own data on them: not a connect session's to read. */
const TENANT_READ = { 'integrations:read': true } as const;
/** Integration reads open to connect sessions (filtered to their allowed providers). */
const READ_OR_CONNECT = { $any: { 'integrations:read': true, connect: true } } as const;

export const IntegrationStatusEnum = builder.enumType(IntegrationStatus, {
  name: 'IntegrationStatus',
  description: 'Where an integration is in its lifecycle.',
  values: {
    PENDING_VERIFY: { description: 'Credentials are being checked against the provider’s API.' },
    ACTIVE: { description: 'Verified and in use; only ACTIVE integrations are chosen by routing.' },
    INACTIVE: { description: 'Disabled by a person; activateIntegration brings it back.' },
    ERROR: { description: 'Verification failed; lastError says why.' },
  },
});

const CredentialValueRef = builder.objectRef<ReturnType<typeof credentialFields>[number]>('CredentialValue').implement({
  description: 'One credential field of an integration; sensitive values always read as null.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The field’s key.' }),
    sensitive: t.exposeBoolean('sensitive', { description: 'Whether the value is secret.' }),
    isSet: t.exposeBoolean('isSet', { description: 'Whether a value is stored.' }),
    value: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The value; null when sensitive or unset.',
      resolve: (v) => v.value,
    }),
  }),
});

export const IntegrationRef = builder.prismaNode('Integration', {
  id: { field: 'id' },
  // a connect session's node(id) of another provider's integration is missing too
  findUnique: (id, ctx) => ({ id, ...allowedProvidersWhere(ctx.viewer) }),
  // a node(id) of a missing (or another tenant's) row answers null, not an error
  nullable: true,
  description: 'A tenant’s configured connection to one provider.',
  // a connect session sees its allowed providers' integrations only; the reads filter them out, and
  // this refuses any that a read would still let through
  authScopes: (i, ctx) => (ctx.viewer.connect ? providerAllowed(ctx.viewer, i.provider) : { 'integrations:read': true }),
  // include mode: every read of an integration loads every column but the sealed ones, so no field
  // here declares a `select` (each would wrap its resolver in plugin-prisma's per-row mapping check)
  fields: (t) => ({
    provider: t.field({
      type: ProviderRef,
      description: 'The provider this integration connects to.',
      resolve: (i) => findProvider(i.provider)!,
    }),
    status: t.field({ type: IntegrationStatusEnum, description: 'Lifecycle status.', resolve: (i) => i.status }),
    enabledCapabilities: t.exposeStringList('enabledCapabilities', {
      description: 'The provider capabilities this integration may be used for.',
    }),
    credentials: t.field({
      type: 'JSONObject',
      description: 'Credential values by key; sensitive keys are present with the value null.',
      resolve: (i) => publicCredentials(i),
    }),
    credentialFields: t.field({
      type: [CredentialValueRef],
      description: 'Every credential field of the provider, with whether it is set.',
      extensions: maxItems(MAX_CREDENTIAL_FIELDS),
      resolve: (i) => credentialFields(i),
    }),
    metadata: t.field({
      type: 'JSONObject',
      description: 'Free-form data of the tenant’s own (not for connect sessions).',
      authScopes: TENANT_READ,
      resolve: (i) => i.metadata as Record<string, unknown>,
    }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why the last verification failed, if it did.' }),
    verifiedAt: t.expose('verifiedAt', { type: 'DateTime', nullable: true, description: 'When verification last succeeded.' }),
    inboundWebhookUrl: t.field({
      type: 'URL',
      nullable: true,
      description:
        'Where the provider should send its callbacks for this integration. It is a credential (providers that sign nothing, such as Certisign and Adobe Sign, are known only by it): null unless the caller has integrations:write (or is a connect session, whose end user enters it at the provider).',
      // a connect session's end user pastes it into the provider's dashboard
      resolve: (i, _args, ctx) =>
        ctx.viewer.scopes.has('integrations:write') || ctx.viewer.connect ? inboundWebhookUrl(ctx.services.publicUrl, i) : null,
    }),
    version: t.exposeInt('version', { description: 'Bumped by every change; pass it as expectedVersion to detect lost updates.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was configured.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    deletedAt: t.expose('deletedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was deleted (seen only through a routing rule that still names it); a deleted integration is never chosen.',
    }),
    deletedBy: t.exposeString('deletedBy', { nullable: true, description: 'Who deleted it.', authScopes: TENANT_READ }),
    createdBy: t.exposeString('createdBy', {
      nullable: true,
      description: ACTOR_DESCRIPTIONS.createdBy,
      authScopes: TENANT_READ,
    }),
    updatedBy: t.exposeString('updatedBy', {
      nullable: true,
      description: ACTOR_DESCRIPTIONS.updatedBy,
      authScopes: TENANT_READ,
    }),
    appId: t.exposeString('appId', {
      nullable: true,
      description: 'The application whose credential configured it, if any.',
      authScopes: TENANT_READ,
    }),
  }),
});

builder.objectField(ProviderRef, 'integration', (t) =>
  t.field({
    type: IntegrationRef,
    nullable: true,
    description: 'The tenant’s integration of this provider, if any.',
    authScopes: READ_OR_CONNECT,
    // GraphQL's reads of integrations leave the sealed columns out (withoutSealed): the type's shape
    // is the model's, and none of its fields reads one
    resolve: (p, _args, ctx) =>
      providerAllowed(ctx.viewer, p.name) ? (ctx.loaders.integrationByProvider.load(p.name) as Promise<Integration | null>) : null,
  }),
);

type FilterArgs = { status?: IntegrationStatus | null; category?: string | null; provider?: string | null };

/** The providers `provider` and `category` leave, or undefined for all of them. */
function providerNames(args: FilterArgs): string[] | undefined {
  const names = PROVIDERS.filter((p) => !args.category || p.category === args.category).map((p) => p.name);
  if (args.provider) {
    if (!findProvider(args.provider)) throw badArgument('provider', `unknown provider (known: ${PROVIDERS.map((p) => p.name).join(', ')})`);
    return names.includes(args.provider) ? [args.provider] : [];
  }
  return args.category ? names : undefined;
}

/**
 * The integrations a page shows: `status`, `provider` and `category`, and a connect session's
 * allowed providers only (the others are not there at all, its count included). One filter for
 * the first page read in SQL (first-page.ts) and, as a Prisma `where`, for later pages and counts.
 */
function integrationFilter(args: FilterArgs, viewer: Viewer): FirstPageFilter {
  let providers = providerNames(args);
  if (viewer.connect) providers = (providers ?? PROVIDERS.map((p) => p.name)).filter((name) => providerAllowed(viewer, name));
  return { ...(args.status ? { status: args.status } : {}), ...(providers ? { providers } : {}) };
}

function integrationWhere(filter: FirstPageFilter): Prisma.IntegrationWhereInput {
  return { ...(filter.status ? { status: filter.status } : {}), ...(filter.providers ? { provider: { in: [...filter.providers] } } : {}) };
}

/**
 * A first page that needs no relation of Integration (no `include` or `select` from the
 * selection): read in SQL. Pages after a cursor, backwards, or with a relation go through Prisma.
 */
function readsInSql(query: { take?: number; cursor?: unknown; include?: object; select?: object }): boolean {
  return (
    query.cursor === undefined &&
    typeof query.take === 'number' &&
    query.take > 0 &&
    (query.include === undefined || Object.keys(query.include).length === 0) &&
    query.select === undefined
  );
}

const integrationCount = pageCount((args: Parameters<typeof integrationFilter>[0], ctx) =>
  ctx.db.integration.count({ where: integrationWhere(integrationFilter(args, ctx.viewer)) }),
);

builder.queryFields((t) => ({
  integrations: t.prismaConnection(
    {
      type: 'Integration',
      cursor: 'id',
      description: 'The tenant’s integrations, newest first (default 25 a page, at most 100).',
      authScopes: READ_OR_CONNECT,
      // one live integration per provider: a page never holds more than the catalog
      extensions: maxItems(PROVIDERS.length),
      args: {
        status: t.arg({ type: IntegrationStatusEnum, required: false, description: 'Only integrations in this status.' }),
        category: t.arg({ type: ProviderCategoryEnum, required: false, description: 'Only providers of this category.' }),
        provider: t.arg.string({ required: false, description: 'Only this provider’s integration.' }),
      },
      resolve: (query, _root, args, ctx, info) => {
        pageArgsGuard(args);
        if (readsInSql(query)) {
          // the page and its count in one statement
          const read = readFirstIntegrationPage(ctx.services.reader, ctx.viewer.tenantId, integrationFilter(args, ctx.viewer), query.take!);
          integrationCount.start(ctx, args, info, () => read.then((p) => p.totalCount));
          return read.then((p) => p.rows as Integration[]);
        }
        const page = ctx.db.integration.findMany(
          withoutSealed({ ...query, where: integrationWhere(integrationFilter(args, ctx.viewer)), orderBy: { id: 'desc' as const } }),
        ) as Promise<Integration[]>;
        // one live integration per provider (a unique index): a first page that long is never cut,
        // so it is the count and no COUNT is sent
        integrationCount.start(
          ctx,
          args,
          info,
          holdsEveryRow(args, PROVIDERS.length) ? () => page.then((rows) => uncutLength(args, rows)) : undefined,
        );
        return page;
      },
      totalCount: integrationCount.totalCount,
    },
    {
      name: 'IntegrationConnection',
      description: 'A page of integrations.',
      fields: (t) => ({
        totalCount: t.int(totalCountField('How many integrations match `status`, `category` and `provider`, across all pages.')),
      }),
    },
    { name: 'IntegrationEdge', description: 'An integration in a page.' },
  ),
  integration: t.prismaField({
    type: 'Integration',
    nullable: true,
    description: 'One integration by id; null when it does not exist for the caller.',
    authScopes: READ_OR_CONNECT,
    args: { id: t.arg.id({ required: true, description: 'The integration’s id.' }) },
    resolve: (query, _root, args, ctx) => {
      const id = tryParseGlobalId('Integration', String(args.id));
      if (!id) return null;
      const where = { id, ...allowedProvidersWhere(ctx.viewer) };
      return ctx.db.integration.findUnique(withoutSealed({ ...query, where })) as Promise<Integration | null>;
    },
  }),
}));
