/**
 * Operations (the data plane): the Operation type, its attempts, the reads and the
 * operationUpdated subscription, and Integration's operations and lastUsedAt. The mutations are
 * in operation-mutations.ts.
 */
import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import { filter, pipe } from 'graphql-yoga';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { isDecryptionError } from '../crypto/unreadable.ts';
import { badArgument } from '../errors.ts';
import type { Operation } from '../generated/prisma/client.ts';
import { OperationStatus } from '../generated/prisma/enums.ts';
import { maxItems } from '../graphql-hardening/list-bounds.ts';
import { tryParseGlobalId } from '../ids.ts';
import { type OperationPart, openPart } from '../operations/sealed.ts';
import { operationVisibility } from '../operations/service.ts';
import { PROVIDERS } from '../providers/catalog.ts';
import { retainedWhere, withRetained } from '../retention/windows.ts';
import { followedId } from './followed.ts';
import { pageArgsGuard, pageCount, totalCountField } from './paging.ts';

const READ = { 'operations:read': true } as const;
/** Attempts an operation lists: the latest ones (attemptCount counts them all). */
const MAX_LISTED_ATTEMPTS = 50;
const KNOWN_CAPABILITIES = new Set(PROVIDERS.flatMap((p) => p.capabilities));

export const OperationStatusEnum = builder.enumType(OperationStatus, {
  name: 'OperationStatus',
  description: 'Where an operation stands.',
  values: {
    QUEUED: { description: 'Stored and waiting for the worker (first, or for a retry: see nextAttemptAt).' },
    RUNNING: { description: 'The worker is calling providers.' },
    SUCCEEDED: { description: 'A provider did it; providerReference and result say what.' },
    FAILED: { description: 'It will not be done; error says why.' },
  },
});

const OperationErrorRef = builder.objectRef<{ code: string; message: string }>('OperationError').implement({
  description: 'Why an operation FAILED.',
  fields: (t) => ({
    code: t.exposeString('code', {
      description:
        'NO_ACTIVE_PROVIDER (nothing ACTIVE could serve it), PROVIDER_REJECTED (a provider refused the input) or PROVIDER_UNAVAILABLE (every provider failed on every retry).',
    }),
    message: t.exposeString('message', { description: 'What happened, with the provider’s own message when it gave one.' }),
  }),
});

builder.prismaObject('OperationAttempt', {
  description: 'One provider call of an operation.',
  fields: (t) => ({
    attemptNumber: t.exposeInt('attemptNumber', { description: '1 for the first call.' }),
    integration: t.relation('integration', { description: 'The integration whose provider was called.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When the call started.' }),
    durationMs: t.exposeInt('durationMs', { description: 'How long it took.' }),
    httpStatus: t.exposeInt('httpStatus', { nullable: true, description: 'The provider’s HTTP status; null when it did not answer.' }),
    outcome: t.exposeString('outcome', {
      description: 'SUCCEEDED, TRANSIENT_FAILURE (network, timeout, 408, 429, 5xx), AUTH_FAILURE (401/403) or REJECTED (other 4xx).',
    }),
    error: t.exposeString('error', { nullable: true, description: 'What went wrong, unless it succeeded.' }),
  }),
});

/** A sealed part of the operation, opened for its own reader. */
function openedPart(ctx: Context, row: Operation, part: OperationPart): Record<string, unknown> | null {
  try {
    return openPart(ctx.services.keyring, row, part);
  } catch (err) {
    if (!isDecryptionError(err)) throw err;
    ctx.services.decryptionFailed(part === 'input' ? 'operation_input' : 'operation_result', err, { operationId: row.id, work: 'read' });
    throw new GraphQLError(`the operation’s ${part} cannot be read right now`, { extensions: { code: 'UNAVAILABLE' } });
  }
}

export const OperationRef = builder.prismaNode('Operation', {
  id: { field: 'id' },
  // a node(id) of a missing (or another tenant's) row answers null, not an error
  nullable: true,
  description: 'A capability asked of the service (sendSms…) and how it was carried out.',
  authScopes: READ,
  findUnique: (id, ctx) => ({ id, ...operationVisibility(ctx) }),
  fields: (t) => ({
    capability: t.exposeString('capability', { description: 'What was asked, e.g. send_sms.' }),
    status: t.field({ type: OperationStatusEnum, description: 'Where it stands.', resolve: (o) => o.status }),
    idempotencyKey: t.exposeString('idempotencyKey', { nullable: true, description: 'The key it was requested with.' }),
    input: t.field({
      type: 'JSONObject',
      description: 'What was asked, as stored (encrypted at rest); {} once retention removed it (see purgedAt).',
      resolve: (o, _args, ctx) => openedPart(ctx, o, 'input') ?? {},
    }),
    integration: t.relation('integration', {
      nullable: true,
      description: 'The integration that served it, or the last one tried; null before the first call.',
    }),
    usedFallback: t.exposeBoolean('usedFallback', {
      description: 'Whether anything but the first candidate of the routing rules served it.',
    }),
    attempts: t.relation('attempts', {
      description: `Its provider calls, first first: the latest ${MAX_LISTED_ATTEMPTS} (attemptCount counts them all).`,
      extensions: maxItems(MAX_LISTED_ATTEMPTS),
      query: { orderBy: { attemptNumber: 'asc' }, take: -MAX_LISTED_ATTEMPTS },
    }),
    attemptCount: t.exposeInt('attemptCount', { description: 'Provider calls made so far.' }),
    nextAttemptAt: t.expose('nextAttemptAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the providers are tried again, while QUEUED after every one failed transiently.',
    }),
    providerReference: t.exposeString('providerReference', {
      nullable: true,
      description: 'The provider’s id of what it did (a message sid, an email’s X-Message-Id, a completion id).',
    }),
    deliveryStatus: t.exposeString('deliveryStatus', {
      nullable: true,
      description: 'The provider’s latest status from its callbacks, e.g. delivered (see docs/using-the-api.md “Delivery tracking”).',
    }),
    deliveryUpdatedAt: t.expose('deliveryUpdatedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When deliveryStatus last changed.',
    }),
    result: t.field({
      type: 'JSONObject',
      nullable: true,
      description: 'What the capability returned, once SUCCEEDED; never credentials. Null before, and once retention removed it.',
      resolve: (o, _args, ctx) => (o.status === 'SUCCEEDED' ? openedPart(ctx, o, 'result') : null),
    }),
    error: t.field({
      type: OperationErrorRef,
      nullable: true,
      description: 'Why it FAILED; null otherwise.',
      resolve: (o) => (o.status === 'FAILED' && o.errorCode ? { code: o.errorCode, message: o.errorMessage ?? '' } : null),
    }),
    purgedAt: t.expose('purgedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When retention (OPERATION_RETENTION_DAYS) removed its input and result; the record stays.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was requested.' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true, description: 'When it SUCCEEDED or FAILED.' }),
    createdBy: t.exposeString('createdBy', { nullable: true, description: 'Who requested it.' }),
  }),
});

function capabilityArg(capability: string | null | undefined): string | undefined {
  if (capability == null) return undefined;
  if (!KNOWN_CAPABILITIES.has(capability))
    throw badArgument('capability', `unknown capability (known: ${[...KNOWN_CAPABILITIES].join(', ')})`);
  return capability;
}

type ListArgs = { capability?: string | null; status?: OperationStatus | null; integrationId?: string | number | null };

function listWhere(ctx: Context, args: ListArgs) {
  const integrationId = args.integrationId == null ? undefined : (tryParseGlobalId('Integration', String(args.integrationId)) ?? '');
  return {
    ...operationVisibility(ctx),
    ...(args.status ? { status: args.status } : {}),
    ...(capabilityArg(args.capability) ? { capability: args.capability! } : {}),
    ...(integrationId !== undefined ? { integrationId } : {}),
  };
}

const operationCount = pageCount((args: ListArgs, ctx) => ctx.db.operation.count({ where: listWhere(ctx, args) }));

builder.queryFields((t) => ({
  operations: t.prismaConnection(
    {
      type: 'Operation',
      cursor: 'id',
      description: 'The tenant’s operations, newest first (an application credential sees its application’s).',
      authScopes: READ,
      args: {
        capability: t.arg.string({ required: false, description: 'Only this capability.' }),
        status: t.arg({ type: OperationStatusEnum, required: false, description: 'Only operations in this status.' }),
        integrationId: t.arg.id({ required: false, description: 'Only operations this integration served (or tried last).' }),
      },
      resolve: (query, _root, args, ctx, info) => {
        pageArgsGuard(args);
        const where = listWhere(ctx, args);
        operationCount.start(ctx, args, info);
        return ctx.db.operation.findMany({ ...query, where, orderBy: { id: 'desc' } });
      },
      totalCount: operationCount.totalCount,
    },
    {
      name: 'OperationConnection',
      description: 'A page of operations.',
      fields: (t) => ({ totalCount: t.int(totalCountField('How many operations match the filters, across all pages.')) }),
    },
    { name: 'OperationEdge', description: 'An operation in a page.' },
  ),
  operation: t.prismaField({
    type: 'Operation',
    nullable: true,
    description: 'One operation by id; null when it does not exist for the caller.',
    authScopes: READ,
    args: { id: t.arg.id({ required: true, description: 'The operation’s id.' }) },
    resolve: (query, _root, args, ctx) => {
      const id = tryParseGlobalId('Operation', String(args.id));
      return id ? ctx.db.operation.findFirst({ ...query, where: { id, ...operationVisibility(ctx) } }) : null;
    },
  }),
}));

builder.prismaObjectFields('Integration', (t) => ({
  operations: t.relatedConnection(
    'operations',
    {
      cursor: 'id',
      description: 'The operations it served (or tried last), newest first.',
      authScopes: READ,
      totalCount: true,
      args: { status: t.arg({ type: OperationStatusEnum, required: false, description: 'Only operations in this status.' }) },
      query: (args, ctx) => {
        pageArgsGuard(args as { first?: number | null; last?: number | null });
        const where = { ...(args.status ? { status: args.status } : {}), ...operationVisibility(ctx) };
        return { where: withRetained(where, retainedWhere(ctx.services.prisma, 'Operation')), orderBy: { id: 'desc' } };
      },
    },
    {
      name: 'IntegrationOperationConnection',
      description: 'A page of an integration’s operations.',
      fields: (t) => ({ totalCount: t.int(totalCountField('How many of its operations match `status`, across all pages.')) }),
    },
    { name: 'IntegrationOperationEdge', description: 'An operation in a page.' },
  ),
  lastUsedAt: t.field({
    type: 'DateTime',
    nullable: true,
    description: 'When an operation last called its provider; null when none has.',
    resolve: (integration, _args, ctx) => lastUsedLoader(ctx).load(integration.id),
  }),
}));

const lastUsedLoaders = new WeakMap<Context, DataLoader<string, Date | null>>();

/** The latest attempt of each integration of a page, in one grouped read. */
function lastUsedLoader(ctx: Context) {
  let loader = lastUsedLoaders.get(ctx);
  if (!loader) {
    loader = new DataLoader(async (ids) => {
      const rows = await ctx.db.operationAttempt.groupBy({
        by: ['integrationId'],
        where: { integrationId: { in: [...ids] } },
        _max: { startedAt: true },
      });
      const byId = new Map(rows.map((r) => [r.integrationId, r._max.startedAt]));
      return ids.map((id) => byId.get(id) ?? null);
    });
    lastUsedLoaders.set(ctx, loader);
  }
  return loader;
}

builder.subscriptionField('operationUpdated', (t) =>
  t.prismaField({
    type: 'Operation',
    description: 'Each change of the tenant’s operations (or of one, given its id): queued, running, ended, delivery status; over SSE.',
    authScopes: READ,
    args: { id: t.arg.id({ required: false, description: 'Only this operation; NOT_FOUND when the caller cannot see it.' }) },
    subscribe: async (_root, args, ctx) => {
      const only = await followedId('Operation', args.id, (id) =>
        ctx.db.operation.findFirst({ where: { id, ...operationVisibility(ctx) }, select: { id: true } }),
      );
      const appId = ctx.viewer.appId;
      return pipe(
        ctx.services.pubsub.subscribe('operation:updated', ctx.viewer.tenantId),
        filter((event) => (only === null || event.operationId === only) && (!appId || event.appId === appId)),
      );
    },
    resolve: (query, event, _args, ctx) =>
      ctx.db.operation.findUniqueOrThrow({ ...query, where: { id: (event as { operationId: string }).operationId } }),
  }),
);
