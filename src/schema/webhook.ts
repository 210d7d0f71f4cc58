import { filter, pipe } from 'graphql-yoga';
import { builder } from '../builder.ts';
import { maxItems } from '../graphql-hardening/list-bounds.ts';
import { ConflictError, InvalidStateError, NotFoundError, notFound, ValidationError } from '../errors.ts';
import { DeliveryStatus, WebhookStatus } from '../generated/prisma/enums.ts';
import type { Webhook, WebhookDelivery } from '../generated/prisma/client.ts';
import { headerNames } from '../webhooks/headers.ts';
import * as webhooks from '../webhooks/service.ts';
import { parseGlobalId, tryParseGlobalId } from './ids.ts';
import { pageArgsGuard, pageCount, totalCountField } from './paging.ts';
import { payload } from './payload.ts';

/** How many attempts a delivery lists: a full round of the default retry policy (8), and more (redeliveries add rounds; attemptCount counts them all). */
const MAX_LISTED_ATTEMPTS = 10;

const READ = { 'webhooks:read': true } as const;
const WRITE = { 'webhooks:write': true } as const;

const WebhookStatusEnum = builder.enumType(WebhookStatus, {
  name: 'WebhookStatus',
  description: 'Whether a webhook receives events.',
  values: {
    ACTIVE: { description: 'Receives events.' },
    PAUSED: { description: 'Receives nothing until resumed: paused by hand, or after WEBHOOK_PAUSE_AFTER_FAILURES failed attempts in a row.' },
    DISABLED: { description: 'Its endpoint answered 410 Gone; receives nothing until resumed.' },
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

const RetryPolicyRef = builder.objectRef<{ maxAttempts: number; timeoutMs: number; backoff: string }>('RetryPolicy').implement({
  description: 'How deliveries to a webhook are attempted.',
  fields: (t) => ({
    maxAttempts: t.exposeInt('maxAttempts', { description: 'Attempts per delivery, the first included.' }),
    timeoutMs: t.exposeInt('timeoutMs', { description: 'How long one attempt may take.' }),
    backoff: t.exposeString('backoff', { description: 'Delays before each retry (WEBHOOK_RETRY_SCHEDULE), each with ±20% jitter.' }),
  }),
});

const DeliveryAttemptRef = builder.prismaObject('DeliveryAttempt', {
  description: 'One HTTP request of a delivery.',
  fields: (t) => ({
    attemptNumber: t.exposeInt('attemptNumber', { description: '1 for the first attempt.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When the request started.' }),
    durationMs: t.exposeInt('durationMs', { description: 'How long it took.' }),
    responseStatus: t.exposeInt('responseStatus', { nullable: true, description: 'The HTTP status; null when there was no response.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why there was no response (timeout, refused connection, blocked address).' }),
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
  fields: (t) => ({
    webhook: t.relation('webhook', { description: 'Where it goes.' }),
    event: t.relation('event', { description: 'What it carries.' }),
    status: t.field({ type: DeliveryStatusEnum, description: 'Where it stands.', resolve: (d) => d.status }),
    attemptCount: t.exposeInt('attemptCount', { description: 'Attempts made so far.' }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true, description: 'When the next attempt is due, while PENDING.' }),
    attempts: t.relation('attempts', {
      description: `Its attempts, first first: the latest ${MAX_LISTED_ATTEMPTS} (redeliveries add attempts; attemptCount counts them all).`,
      extensions: maxItems(MAX_LISTED_ATTEMPTS),
      // the last ones, in ascending order (a negative take counts from the end)
      query: { orderBy: { attemptNumber: 'asc' }, take: -MAX_LISTED_ATTEMPTS },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the event was queued for this webhook.' }),
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
      description: 'Static headers sent with every delivery, by name; every value reads as null (values are encrypted at rest and never returned).',
      resolve: (w) => headerNames(w),
    }),
    status: t.field({ type: WebhookStatusEnum, description: 'Whether it receives events.', resolve: (w) => w.status }),
    retryPolicy: t.field({
      type: RetryPolicyRef,
      description: 'How deliveries are attempted.',
      resolve: (w, _args, ctx) => ({ maxAttempts: w.maxAttempts, timeoutMs: w.timeoutMs, backoff: ctx.services.config.webhooks.retryScheduleText }),
    }),
    secretFingerprint: t.exposeString('secretFingerprint', { description: 'Identifies the signing secret without revealing it.' }),
    consecutiveFailures: t.exposeInt('consecutiveFailures', { description: 'Failed attempts in a row; a success resets it.' }),
    pausedAt: t.expose('pausedAt', { type: 'DateTime', nullable: true, description: 'When it was paused.' }),
    lastDeliveryAt: t.expose('lastDeliveryAt', { type: 'DateTime', nullable: true, description: 'When the last attempt ended.' }),
    lastDeliveryStatus: t.exposeString('lastDeliveryStatus', { nullable: true, description: 'The last attempt’s HTTP status, or ERROR when there was no response.' }),
    version: t.exposeInt('version', { description: 'Bumped by every change; pass it as expectedVersion to detect lost updates.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    deletedAt: t.expose('deletedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was deleted (seen only through an older delivery); nothing is sent to a deleted webhook.',
    }),
    deliveries: t.relatedConnection(
      'deliveries',
      {
        cursor: 'id',
        description: 'Its deliveries, newest first.',
        totalCount: true,
        args: { status: t.arg({ type: DeliveryStatusEnum, required: false, description: 'Only deliveries in this status.' }) },
        query: (args) => {
          // the connection arguments are there at run time, though not in this callback's type
          pageArgsGuard(args as { first?: number | null; last?: number | null });
          return { where: args.status ? { status: args.status } : {}, orderBy: { id: 'desc' } };
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

const webhookCount = pageCount((_args, ctx) => ctx.db.webhook.count({ where: webhooks.webhookVisibility(ctx) }));

builder.queryFields((t) => ({
  webhooks: t.prismaConnection(
    {
      type: 'Webhook',
      cursor: 'id',
      description: 'The tenant’s webhooks, newest first (an application credential sees its application’s).',
      authScopes: READ,
      resolve: (query, _root, args, ctx, info) => {
        pageArgsGuard(args);
        webhookCount.start(ctx, args, info);
        return ctx.db.webhook.findMany({ ...query, where: webhooks.webhookVisibility(ctx), orderBy: { id: 'desc' } });
      },
      totalCount: webhookCount.totalCount,
    },
    {
      name: 'WebhookConnection',
      description: 'A page of webhooks.',
      fields: (t) => ({ totalCount: t.int(totalCountField('How many webhooks the caller can see, across all pages.')) }),
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
      return id ? ctx.db.webhook.findFirst({ ...query, where: { id, ...webhooks.webhookVisibility(ctx) } }) : null;
    },
  }),
}));

const RetryPolicyInput = builder.inputType('RetryPolicyInput', {
  description: 'How deliveries are attempted.',
  fields: (t) => ({
    maxAttempts: t.int({ required: false, description: 'Attempts per delivery (1-50); default: one more than the retry schedule’s length.' }),
    timeoutMs: t.int({ required: false, description: 'Timeout of one attempt (100-30000 ms); default 15000.' }),
  }),
});

const withWebhook = (description: string) =>
  payload<Webhook>(description, { webhook: { type: WebhookRef, description: 'The webhook.', resolve: (w) => w } });

const withSecret = (description: string) =>
  payload<{ webhook: Webhook; signingSecret: string }>(description, {
    webhook: { type: WebhookRef, description: 'The webhook.', resolve: (r) => r.webhook },
    signingSecret: { type: 'String', description: 'The signing secret (whsec_…). Shown only now.', resolve: (r) => r.signingSecret },
  });

builder.relayMutationField(
  'createWebhook',
  {
    description: 'A new webhook.',
    inputFields: (t) => ({
      name: t.string({ required: true, description: 'What it is for (1-100 characters).' }),
      url: t.field({ type: 'URL', required: true, description: 'An http(s) URL on the public internet, at most 2048 characters.' }),
      eventTypes: t.stringList({ required: true, description: 'Event types: exact, prefix.* or *.' }),
      headers: t.field({
        type: 'JSONObject',
        required: false,
        description:
          'Static string headers sent with every delivery (at most 20; values of visible ASCII, at most 1024 characters; 8192 characters in all), e.g. the receiver’s Authorization. Write-only: reads show the names with null values.',
      }),
      retryPolicy: t.field({ type: RetryPolicyInput, required: false, description: 'Attempts and timeout.' }),
    }),
  },
  {
    description: 'Creates a webhook. Its signing secret is in the payload once and can never be read again.',
    authScopes: WRITE,
    errors: { types: [ValidationError, ConflictError] },
    resolve: (_root, { input }, ctx) => webhooks.createWebhook(ctx, { ...input, url: String(input.url) }),
  },
  withSecret('The webhook and, this once, its signing secret.'),
);

builder.relayMutationField(
  'updateWebhook',
  {
    description: 'Changes to a webhook; omitted fields stay as they are.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The webhook’s id.' }),
      name: t.string({ required: false, description: 'What it is for.' }),
      url: t.field({ type: 'URL', required: false, description: 'Where events are POSTed.' }),
      eventTypes: t.stringList({ required: false, description: 'Replaces the event types.' }),
      headers: t.field({
        type: 'JSONObject',
        required: false,
        description: 'Replaces the static headers; a header given as null keeps its stored value (so what was read can be sent back).',
      }),
      retryPolicy: t.field({ type: RetryPolicyInput, required: false, description: 'Attempts and timeout.' }),
      expectedVersion: t.int({ required: false, description: 'Refuse the change (VERSION_CONFLICT) unless the webhook is at this version.' }),
    }),
  },
  {
    description: 'Updates a webhook.',
    authScopes: WRITE,
    errors: { types: [ValidationError, NotFoundError, ConflictError] },
    resolve: (_root, { input }, ctx) =>
      webhooks.updateWebhook(ctx, parseGlobalId('Webhook', String(input.id)), String(input.id), {
        ...input,
        url: input.url == null ? null : String(input.url),
      }),
  },
  withWebhook('The updated webhook.'),
);

builder.relayMutationField(
  'rotateWebhookSecret',
  {
    description: 'Which webhook, and how long the old secret keeps signing.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The webhook’s id.' }),
      gracePeriodSeconds: t.int({ required: false, description: 'How long the old secret also signs (0-604800; default 86400).' }),
    }),
  },
  {
    description: 'Gives the webhook a new signing secret; during the grace period both sign (two v1 signatures).',
    authScopes: WRITE,
    errors: { types: [ValidationError, NotFoundError] },
    resolve: (_root, { input }, ctx) =>
      webhooks.rotateWebhookSecret(ctx, parseGlobalId('Webhook', String(input.id)), String(input.id), input.gracePeriodSeconds),
  },
  withSecret('The webhook and, this once, its new signing secret.'),
);

function webhookMutation(
  name: string,
  description: string,
  run: (ctx: Parameters<typeof webhooks.pauseWebhook>[0], id: string, globalId: string) => Promise<Webhook>,
) {
  builder.relayMutationField(
    name,
    { description: 'Which webhook.', inputFields: (t) => ({ id: t.id({ required: true, description: 'The webhook’s id.' }) }) },
    {
      description,
      authScopes: WRITE,
      errors: { types: [NotFoundError, InvalidStateError] },
      resolve: (_root, { input }, ctx) => run(ctx, parseGlobalId('Webhook', String(input.id)), String(input.id)),
    },
    withWebhook('The webhook after the change.'),
  );
}

webhookMutation('pauseWebhook', 'Stops deliveries to a webhook until it is resumed.', webhooks.pauseWebhook);
webhookMutation('resumeWebhook', 'ACTIVE again: clears consecutiveFailures and pausedAt; held deliveries are sent.', webhooks.resumeWebhook);

builder.relayMutationField(
  'deleteWebhook',
  { description: 'Which webhook.', inputFields: (t) => ({ id: t.id({ required: true, description: 'The webhook’s id.' }) }) },
  {
    description: 'Deletes a webhook; nothing more is sent to it.',
    authScopes: WRITE,
    errors: { types: [NotFoundError] },
    resolve: (_root, { input }, ctx) => webhooks.deleteWebhook(ctx, parseGlobalId('Webhook', String(input.id)), String(input.id)),
  },
  {
    description: 'What was deleted.',
    outputFields: (t) => ({ deletedId: t.id({ description: 'The deleted webhook’s id.', resolve: (w) => webhooks.webhookGlobalId(w.id) }) }),
  },
);

const withDelivery = (description: string) =>
  payload<WebhookDelivery>(description, { delivery: { type: WebhookDeliveryRef, description: 'The delivery.', resolve: (d) => d } });

builder.relayMutationField(
  'sendTestEvent',
  { description: 'Which webhook.', inputFields: (t) => ({ webhookId: t.id({ required: true, description: 'The webhook’s id.' }) }) },
  {
    description: 'Sends a webhook.test event to one webhook.',
    authScopes: WRITE,
    errors: { types: [NotFoundError, InvalidStateError] },
    resolve: (_root, { input }, ctx) =>
      webhooks.sendTestEvent(ctx, parseGlobalId('Webhook', String(input.webhookId)), String(input.webhookId)),
  },
  withDelivery('The test delivery.'),
);

builder.relayMutationField(
  'redeliverWebhookDelivery',
  { description: 'Which delivery.', inputFields: (t) => ({ id: t.id({ required: true, description: 'The delivery’s id.' }) }) },
  {
    description: 'One more attempt of a finished delivery, with the same webhook-id.',
    authScopes: WRITE,
    errors: { types: [NotFoundError, InvalidStateError] },
    resolve: (_root, { input }, ctx) => webhooks.redeliver(ctx, parseGlobalId('WebhookDelivery', String(input.id)), String(input.id)),
  },
  withDelivery('The delivery, PENDING again.'),
);

builder.subscriptionField('webhookDeliveryUpdated', (t) =>
  t.prismaField({
    type: 'WebhookDelivery',
    description: 'Each attempt’s outcome for one webhook’s deliveries, over SSE.',
    authScopes: READ,
    args: { webhookId: t.arg.id({ required: true, description: 'The webhook’s id.' }) },
    subscribe: async (_root, args, ctx) => {
      const webhookId = tryParseGlobalId('Webhook', String(args.webhookId)) ?? '';
      const visible = await ctx.db.webhook.findFirst({ where: { id: webhookId, ...webhooks.webhookVisibility(ctx) }, select: { id: true } });
      if (!visible) throw notFound('Webhook', String(args.webhookId));
      return pipe(
        ctx.services.pubsub.subscribe('webhook:delivery', ctx.viewer.tenantId),
        filter((event) => event.webhookId === webhookId),
      );
    },
    resolve: (query, event, _args, ctx) =>
      ctx.db.webhookDelivery.findUniqueOrThrow({ ...query, where: { id: (event as { deliveryId: string }).deliveryId } }),
  }),
);
