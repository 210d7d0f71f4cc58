/** Webhook mutations: create, change, rotate, pause, resume, delete, test, redeliver (types in webhook.ts). */
import { builder } from '../builder.ts';
import { ConflictError, InvalidStateError, NotFoundError, parseGlobalId, ValidationError } from '../errors.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import type { Webhook, WebhookDelivery } from '../generated/prisma/client.ts';
import { webhookGlobalId } from '../ids.ts';
import * as webhooks from '../webhooks/service.ts';
import { payload } from './payload.ts';
import { SourceTypeEnum, WebhookDeliveryRef, WebhookRef } from './webhook.ts';

const WRITE = { 'webhooks:write': true } as const;

const RetryPolicyInput = builder.inputType('RetryPolicyInput', {
  description: 'How deliveries are attempted.',
  fields: (t) => ({
    maxAttempts: t.int({
      required: false,
      description: 'Attempts per delivery (1-50); default: one more than the retry schedule’s length.',
    }),
    timeoutMs: t.int({ required: false, description: 'Timeout of one attempt (100-30000 ms); default 15000.' }),
  }),
});

/** What createWebhook and updateWebhook take about where a webhook comes from and who owns it. */
type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

const provenanceFields = (t: PothosSchemaTypes.InputFieldBuilder<Types, 'InputObject'>, creating: boolean) => ({
  source: t.string({
    required: false,
    description: `A provenance tag (1-64 letters, digits and . _ : / @ + -)${creating ? '; default "api"' : ''}.`,
  }),
  sourceType: t.field({
    type: SourceTypeEnum,
    required: false,
    description: `Where it is created from${creating ? '; default API' : ''}.`,
  }),
  tags: t.stringList({
    required: false,
    description: `${creating ? 'Labels' : 'Replaces the labels'} to find it by (at most 20, each as source; duplicates dropped).`,
  }),
  connectorId: t.string({
    required: false,
    description: `The connector that owns it (1-128 characters as source)${creating ? '' : '; an empty string clears it'}.`,
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
      ...provenanceFields(t, true),
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
      ...provenanceFields(t, false),
      expectedVersion: t.int({
        required: false,
        description: 'Refuse the change (VERSION_CONFLICT) unless the webhook is at this version.',
      }),
    }),
  },
  {
    description: 'Updates a webhook.',
    authScopes: WRITE,
    errors: { types: [ValidationError, NotFoundError, ConflictError] },
    resolve: (_root, { input }, ctx) =>
      webhooks.updateWebhook(ctx, parseGlobalId('Webhook', String(input.id)), {
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
      webhooks.rotateWebhookSecret(ctx, parseGlobalId('Webhook', String(input.id)), input.gracePeriodSeconds),
  },
  withSecret('The webhook and, this once, its new signing secret.'),
);

function webhookMutation(
  name: string,
  description: string,
  run: (ctx: Parameters<typeof webhooks.pauseWebhook>[0], id: string) => Promise<Webhook>,
) {
  builder.relayMutationField(
    name,
    { description: 'Which webhook.', inputFields: (t) => ({ id: t.id({ required: true, description: 'The webhook’s id.' }) }) },
    {
      description,
      authScopes: WRITE,
      errors: { types: [NotFoundError, InvalidStateError] },
      resolve: (_root, { input }, ctx) => run(ctx, parseGlobalId('Webhook', String(input.id))),
    },
    withWebhook('The webhook after the change.'),
  );
}

webhookMutation('pauseWebhook', 'Stops deliveries to a webhook until it is resumed.', webhooks.pauseWebhook);
webhookMutation(
  'resumeWebhook',
  'ACTIVE again: clears consecutiveFailures and pausedAt; held deliveries are sent.',
  webhooks.resumeWebhook,
);

builder.relayMutationField(
  'deleteWebhook',
  { description: 'Which webhook.', inputFields: (t) => ({ id: t.id({ required: true, description: 'The webhook’s id.' }) }) },
  {
    description: 'Deletes a webhook; nothing more is sent to it.',
    authScopes: WRITE,
    errors: { types: [NotFoundError] },
    resolve: (_root, { input }, ctx) => webhooks.deleteWebhook(ctx, parseGlobalId('Webhook', String(input.id))),
  },
  {
    description: 'What was deleted.',
    outputFields: (t) => ({ deletedId: t.id({ description: 'The deleted webhook’s id.', resolve: (w) => webhookGlobalId(w.id) }) }),
  },
);

const DELIVERY_COLUMNS = new Set(
  getDatamodel()
    .datamodel.models.WebhookDelivery!.fields.filter((f) => f.kind !== 'object')
    .map((f) => f.name),
);

/**
 * The delivery as the mutation wrote it, which holds every column the selection reads (its
 * relations load on their own). WebhookDelivery is in plugin-prisma's select mode: through a
 * `prismaField`, its fields read the row given here; returned by a plain field, the row would be
 * read again after the commit for the columns the selection names (and could show a later status).
 */
function written(query: { select?: Record<string, unknown> }, row: WebhookDelivery): WebhookDelivery {
  for (const key of Object.keys(query.select ?? {})) {
    if (DELIVERY_COLUMNS.has(key) && !(key in row)) throw new Error(`the delivery written has no column ${key}`);
  }
  return row;
}

const withDelivery = (description: string) => ({
  description,
  outputFields: (t: PothosSchemaTypes.ObjectFieldBuilder<Types, WebhookDelivery>) => ({
    delivery: t.prismaField({ type: WebhookDeliveryRef, description: 'The delivery.', resolve: written }),
  }),
});

builder.relayMutationField(
  'sendTestEvent',
  { description: 'Which webhook.', inputFields: (t) => ({ webhookId: t.id({ required: true, description: 'The webhook’s id.' }) }) },
  {
    description: 'Sends a webhook.test event to one webhook.',
    authScopes: WRITE,
    errors: { types: [NotFoundError, InvalidStateError] },
    resolve: (_root, { input }, ctx) => webhooks.sendTestEvent(ctx, parseGlobalId('Webhook', String(input.webhookId))),
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
    resolve: (_root, { input }, ctx) => webhooks.redeliver(ctx, parseGlobalId('WebhookDelivery', String(input.id))),
  },
  withDelivery('The delivery, PENDING again.'),
);
