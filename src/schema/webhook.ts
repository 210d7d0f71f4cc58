/**
 * Webhooks, their deliveries and attempts: types, enums, queries and the delivery subscription.
 * The mutations are in webhook-mutations.ts.
 */
import { createContextCache } from '@pothos/core';
import { filter, pipe } from 'graphql-yoga';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import type { Prisma, Webhook } from '../generated/prisma/client.ts';
import { DeliveryStatus, SourceType, WebhookStatus } from '../generated/prisma/enums.ts';
import { maxItems } from '../graphql-hardening/list-bounds.ts';
import { tryParseGlobalId } from '../ids.ts';
import { retainedWhere, withRetained } from '../retention/windows.ts';
import { readWebhookPage, webhookPageShape } from '../webhooks/first-page.ts';
import { headerNames } from '../webhooks/headers.ts';
import { MAX_LISTED_ATTEMPTS } from '../webhooks/policy.ts';
import * as webhooks from '../webhooks/service.ts';
import { ACTOR_DESCRIPTIONS } from './auth-enums.ts';
import { withoutSealed } from './client.ts';
import { followedId } from './followed.ts';
import { pageArgsGuard, pageCount, totalCountField } from './paging.ts';

const READ = { 'webhooks:read': true } as const;

/**
 * What `Webhook.deliveries` reads, by status, built once per request (and again after a second,
 * for a subscription, whose events share one context for the life of the stream). plugin-prisma
 * asks a related connection's `query` again for every parent row it resolves (for its page size),
 * 25 times on a page of webhooks, and the retention rule's instant can serve all of them: the list
 * and its count then filter by the same instant. Frozen: every row's read shares it.
 */
interface DeliveriesQuery {
  where: Prisma.WebhookDeliveryWhereInput | undefined;
  orderBy: { id: 'desc' };
}
const deliveriesQueries = createContextCache(() => new Map<DeliveryStatus | null, { query: DeliveriesQuery; at: number }>());
function deliveriesQuery(ctx: Context, status: DeliveryStatus | null): DeliveriesQuery {
  const byStatus = deliveriesQueries(ctx);
  const now = Date.now();
  const known = byStatus.get(status);
  if (known && now - known.at < 1000) return known.query;
  const where = withRetained(status ? { status } : {}, retainedWhere(ctx.services.prisma, 'WebhookDelivery'));
  const query: DeliveriesQuery = Object.freeze({ where, orderBy: Object.freeze({ id: 'desc' as const }) });
  byStatus.set(status, { query, at: now });
  return query;
}

const WebhookStatusEnum = builder.enumType(WebhookStatus, {
  name: 'WebhookStatus',
  description: 'Whether a webhook receives events.',
  values: {
    ACTIVE: { description: 'Receives events.' },
    PAUSED: {
      description: 'Receives nothing until resumed: paused by hand, or after WEBHOOK_PAUSE_AFTER_FAILURES failed attempts in a row.',
    },
    DISABLED: { description: 'Its endpoint answered 410 Gone; receives nothing until resumed.' },
  },
});

export const SourceTypeEnum = builder.enumType(SourceType, {
  name: 'SourceType',
  description: 'Where a webhook was created from, as its creator said (API unless told).',
  values: {
    FRONTEND: { description: 'A browser or mobile frontend.' },
    BACKEND: { description: 'A backend service of the tenant.' },
    SERVER: { description: 'A server-side job or script.' },
    SYSTEM: { description: 'The platform itself (e.g. a connector setting up its own webhook).' },
    API: { description: 'A direct API call (the default).' },
  },
});

const DeliveryStatusEnum = builder.enumType(DeliveryStatus, {
  name: 'DeliveryStatus',
  description: 'Where a delivery stands.',
  values: {
    PENDING: { description: 'Waiting for its next attempt.' },
    SUCCEEDED: { description: 'The endpoint answered 2xx.' },
    FAILED: { description: 'Every attempt failed, or the endpoint is gone.' },
  },
});

/**
 * How the last attempt ended, read from `lastDeliveryStatus` (an HTTP status, or ERROR): the
 * closed set beside the string CONTRACT.md fixes.
 */
const DeliveryResultEnum = builder.enumType('DeliveryResult', {
  description: 'How a delivery attempt ended.',
  values: {
    SUCCEEDED: { description: 'The endpoint answered 2xx.' },
    HTTP_ERROR: { description: 'The endpoint answered, with another status.' },
    NO_RESPONSE: { description: 'No answer: refused, unreachable, timed out or cut off.' },
  },
});

function deliveryResult(status: string | null): { result: 'SUCCEEDED' | 'HTTP_ERROR' | 'NO_RESPONSE'; httpStatus: number | null } | null {
  if (status === null) return null;
  const httpStatus = /^\d{3}$/.test(status) ? Number(status) : null;
  if (httpStatus === null) return { result: 'NO_RESPONSE', httpStatus };
  return { result: httpStatus >= 200 && httpStatus < 300 ? 'SUCCEEDED' : 'HTTP_ERROR', httpStatus };
}

const RetryPolicyRef = builder
  .objectRef<{ maxAttempts: number; timeoutMs: number; backoff: string; delaysMs: number[] }>('RetryPolicy')
  .implement({
    description: 'How deliveries to a webhook are attempted.',
    fields: (t) => ({
      maxAttempts: t.exposeInt('maxAttempts', { description: 'Attempts per delivery, the first included.' }),
      timeoutMs: t.exposeInt('timeoutMs', { description: 'How long one attempt may take.' }),
      backoff: t.exposeString('backoff', {
        description: 'Delays before each retry (WEBHOOK_RETRY_SCHEDULE as written, e.g. 5s,5m,30m), each with ±20% jitter.',
      }),
      delaysMs: t.exposeIntList('delaysMs', {
        description: 'The same schedule as numbers: the delay before each retry in milliseconds, before jitter; the last repeats.',
      }),
    }),
  });

const DeliveryAttemptRef = builder.prismaObject('DeliveryAttempt', {
  description: 'One HTTP request of a delivery.',
  // Select mode: a page reads the columns its query names (not every response body it does not
  // show). The small columns are in the type's own selection, always read, and their fields read
  // them as plain properties: a field that names its column (t.expose* in select mode) has
  // plugin-prisma look up its selection mapping each time it resolves, for every row of a page
  // (docs/performance.md, "The webhooks page beside a peer"). Columns a page may leave out
  // (error, responseBody) keep naming theirs.
  select: { id: true, attemptNumber: true, startedAt: true, durationMs: true, responseStatus: true },
  fields: (t) => ({
    attemptNumber: t.int({ description: '1 for the first attempt.', resolve: (a) => a.attemptNumber }),
    startedAt: t.field({ type: 'DateTime', description: 'When the request started.', resolve: (a) => a.startedAt }),
    durationMs: t.int({ description: 'How long it took.', resolve: (a) => a.durationMs }),
    responseStatus: t.int({
      nullable: true,
      description: 'The HTTP status; null when there was no response.',
      resolve: (a) => a.responseStatus,
    }),
    error: t.exposeString('error', {
      nullable: true,
      description: 'Why there was no response (timeout, refused connection, blocked address).',
    }),
    responseBody: t.exposeString('responseBody', { nullable: true, description: 'The first 2 KiB of the response body.' }),
  }),
});

export const WebhookDeliveryRef = builder.prismaNode('WebhookDelivery', {
  id: { field: 'id' },
  // a node(id) of a missing (or another tenant's) row answers null, not an error
  nullable: true,
  description: 'One event on its way to one webhook. Its id is the webhook-id header of every attempt.',
  authScopes: READ,
  findUnique: (id, ctx) => ({ id, webhook: webhooks.webhookVisibility(ctx) }),
  // select mode: a page reads the columns its query names (src/webhooks/first-page.ts gives only
  // those); its own small columns are always read, as plain properties (see DeliveryAttempt)
  select: { id: true, status: true, attemptCount: true, nextAttemptAt: true, createdAt: true },
  fields: (t) => ({
    webhook: t.relation('webhook', { description: 'Where it goes.' }),
    event: t.relation('event', { description: 'What it carries.' }),
    status: t.field({ type: DeliveryStatusEnum, description: 'Where it stands.', resolve: (d) => d.status }),
    attemptCount: t.int({ description: 'Attempts made so far.', resolve: (d) => d.attemptCount }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the next attempt is due, while PENDING.',
      resolve: (d) => d.nextAttemptAt,
    }),
    attempts: t.relation('attempts', {
      description: `Its attempts, first first: the latest ${MAX_LISTED_ATTEMPTS} (redeliveries add attempts; attemptCount counts them all).`,
      extensions: maxItems(MAX_LISTED_ATTEMPTS),
      // the last ones, in ascending order (a negative take counts from the end)
      query: { orderBy: { attemptNumber: 'asc' }, take: -MAX_LISTED_ATTEMPTS },
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When the event was queued for this webhook.', resolve: (d) => d.createdAt }),
  }),
});
void DeliveryAttemptRef;

export const WebhookRef = builder.prismaNode('Webhook', {
  id: { field: 'id' },
  // a node(id) of a missing (or another tenant's) row answers null, not an error
  nullable: true,
  description: 'An endpoint that receives the tenant’s events, signed with Standard Webhooks.',
  authScopes: READ,
  findUnique: (id, ctx) => ({ id, ...(ctx.viewer.appId ? { appId: ctx.viewer.appId } : {}) }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'What it is for.' }),
    url: t.field({ type: 'URL', description: 'Where events are POSTed.', resolve: (w) => w.url }),
    eventTypes: t.exposeStringList('eventTypes', { description: 'Which events it receives: exact types, prefix.* or *.' }),
    headers: t.field({
      type: 'JSONObject',
      description:
        'Static headers sent with every delivery, by name; every value reads as null (values are encrypted at rest and never returned).',
      resolve: (w) => headerNames(w),
    }),
    status: t.field({ type: WebhookStatusEnum, description: 'Whether it receives events.', resolve: (w) => w.status }),
    retryPolicy: t.field({
      type: RetryPolicyRef,
      description: 'How deliveries are attempted.',
      resolve: (w, _args, ctx) => ({
        maxAttempts: w.maxAttempts,
        timeoutMs: w.timeoutMs,
        backoff: ctx.services.config.webhooks.retryScheduleText,
        delaysMs: ctx.services.config.webhooks.retrySchedule,
      }),
    }),
    secretFingerprint: t.exposeString('secretFingerprint', { description: 'Identifies the signing secret without revealing it.' }),
    consecutiveFailures: t.exposeInt('consecutiveFailures', { description: 'Failed attempts in a row; a success resets it.' }),
    pausedAt: t.expose('pausedAt', { type: 'DateTime', nullable: true, description: 'When it was paused.' }),
    lastDeliveryAt: t.expose('lastDeliveryAt', { type: 'DateTime', nullable: true, description: 'When the last attempt ended.' }),
    lastDeliveryStatus: t.exposeString('lastDeliveryStatus', {
      nullable: true,
      description:
        'The last attempt’s HTTP status, or ERROR when there was no response (typed: lastDeliveryResult, lastDeliveryHttpStatus).',
    }),
    lastDeliveryResult: t.field({
      type: DeliveryResultEnum,
      nullable: true,
      description: 'How the last attempt ended; null before the first.',
      resolve: (w) => deliveryResult(w.lastDeliveryStatus)?.result ?? null,
    }),
    lastDeliveryHttpStatus: t.int({
      nullable: true,
      description: 'The last attempt’s HTTP status; null before the first or when there was no response.',
      resolve: (w) => deliveryResult(w.lastDeliveryStatus)?.httpStatus ?? null,
    }),
    version: t.exposeInt('version', { description: 'Bumped by every change; pass it as expectedVersion to detect lost updates.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    deletedAt: t.expose('deletedAt', {
      type: 'DateTime',
      nullable: true,
      description:
        'When it was deleted (seen through an older delivery or webhooks(includeDeleted: true)); nothing is sent to a deleted webhook.',
    }),
    deletedBy: t.exposeString('deletedBy', { nullable: true, description: 'Who deleted it.' }),
    createdBy: t.exposeString('createdBy', {
      nullable: true,
      description: ACTOR_DESCRIPTIONS.createdBy,
    }),
    updatedBy: t.exposeString('updatedBy', { nullable: true, description: ACTOR_DESCRIPTIONS.updatedBy }),
    appId: t.exposeString('appId', {
      nullable: true,
      description: 'The application whose credential created it; set only when that credential was minted for an application.',
    }),
    source: t.exposeString('source', { description: 'A provenance tag its creator chose ("api" unless told), e.g. "console".' }),
    sourceType: t.field({ type: SourceTypeEnum, description: 'Where it was created from.', resolve: (w) => w.sourceType }),
    schemaVersion: t.exposeInt('schemaVersion', {
      description: 'The version of its stored document’s shape, bumped by a migration that changes it incompatibly (1 today).',
    }),
    tags: t.exposeStringList('tags', { description: 'Labels its owner chose, to find and group webhooks (webhooks(tag:)).' }),
    connectorId: t.exposeString('connectorId', { nullable: true, description: 'The connector that owns it, when one does.' }),
    deliveries: t.relatedConnection(
      'deliveries',
      {
        cursor: 'id',
        description: 'Its deliveries, newest first.',
        totalCount: true,
        args: { status: t.arg({ type: DeliveryStatusEnum, required: false, description: 'Only deliveries in this status.' }) },
        query: (args, ctx) => {
          // the connection arguments are there at run time, though not in this callback's type
          pageArgsGuard(args as { first?: number | null; last?: number | null });
          return deliveriesQuery(ctx, args.status ?? null);
        },
      },
      {
        name: 'WebhookDeliveryConnection',
        description: 'A page of deliveries.',
        fields: (t) => ({ totalCount: t.int(totalCountField('How many of its deliveries match `status`, across all pages.')) }),
      },
      { name: 'WebhookDeliveryEdge', description: 'A delivery in a page.' },
    ),
  }),
});

type WebhookListArgs = webhooks.WebhookListFilter;

const webhookCount = pageCount((args: WebhookListArgs, ctx) => ctx.db.webhook.count({ where: webhooks.webhookListWhere(ctx, args) }));

builder.queryFields((t) => ({
  webhooks: t.prismaConnection(
    {
      type: 'Webhook',
      cursor: 'id',
      description: 'The tenant’s webhooks, newest first (an application credential sees its application’s).',
      authScopes: READ,
      args: {
        status: t.arg({ type: WebhookStatusEnum, required: false, description: 'Only webhooks in this status.' }),
        tag: t.arg.string({ required: false, description: 'Only webhooks with this tag.' }),
        eventType: t.arg.string({
          required: false,
          description: 'Only webhooks that receive this event type (subscribed to it exactly, by a prefix.* pattern, or by *).',
        }),
        includeDeleted: t.arg.boolean({
          required: false,
          description: 'Also deleted webhooks (with deletedAt and deletedBy); default false.',
        }),
      },
      resolve: (query, _root, args, ctx, info) => {
        pageArgsGuard(args);
        const filter = webhooks.checkedListFilter(ctx, args);
        const shape = webhookPageShape(query);
        if (shape) {
          // the first page and what it includes in one statement, with its count
          const read = readWebhookPage(ctx.services.reader, ctx.viewer.tenantId, filter, shape);
          webhookCount.start(ctx, args, info, () => read.then((p) => p.totalCount));
          return read.then((p) => p.rows);
        }
        webhookCount.start(ctx, args, info);
        const where = webhooks.checkedListWhere(ctx, filter);
        // without the sealed columns (withoutSealed): the type's shape is the model's, and none of its fields reads one
        return ctx.db.webhook.findMany(withoutSealed({ ...query, where, orderBy: { id: 'desc' as const } }, 'webhook')) as Promise<
          Webhook[]
        >;
      },
      totalCount: webhookCount.totalCount,
    },
    {
      name: 'WebhookConnection',
      description: 'A page of webhooks.',
      fields: (t) => ({
        totalCount: t.int(totalCountField('How many webhooks the caller can see that match the filters, across all pages.')),
      }),
    },
    { name: 'WebhookEdge', description: 'A webhook in a page.' },
  ),
  webhook: t.prismaField({
    type: 'Webhook',
    nullable: true,
    description: 'One webhook by id; null when it does not exist for the caller.',
    authScopes: READ,
    args: { id: t.arg.id({ required: true, description: 'The webhook’s id.' }) },
    resolve: (query, _root, args, ctx) => {
      const id = tryParseGlobalId('Webhook', String(args.id));
      return id
        ? (ctx.db.webhook.findFirst(
            withoutSealed({ ...query, where: { id, ...webhooks.webhookVisibility(ctx) } }, 'webhook'),
          ) as Promise<Webhook | null>)
        : null;
    },
  }),
}));

builder.subscriptionField('webhookDeliveryUpdated', (t) =>
  t.prismaField({
    type: 'WebhookDelivery',
    description: 'Each attempt’s outcome for one webhook’s deliveries, over SSE.',
    authScopes: READ,
    args: { webhookId: t.arg.id({ required: true, description: 'The webhook’s id.' }) },
    subscribe: async (_root, args, ctx) => {
      const webhookId = await followedId('Webhook', args.webhookId, (id) =>
        ctx.db.webhook.findFirst({ where: { id, ...webhooks.webhookVisibility(ctx) }, select: { id: true } }),
      );
      return pipe(
        ctx.services.pubsub.subscribe('webhook:delivery', ctx.viewer.tenantId),
        filter((event) => event.webhookId === webhookId),
      );
    },
    resolve: (query, event, _args, ctx) =>
      ctx.db.webhookDelivery.findUniqueOrThrow({ ...query, where: { id: (event as { deliveryId: string }).deliveryId } }),
  }),
);
