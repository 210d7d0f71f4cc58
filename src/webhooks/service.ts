/**
 * Webhook use cases: endpoints of a tenant that receive its events. Each change runs in one
 * transaction with its events; the signing secret is returned once, at creation or rotation.
 */
import { GraphQLError } from 'graphql';
import { v7 as uuidv7 } from 'uuid';
import { isDecryptionError } from '../crypto/unreadable.ts';
import { lockForUpdate } from '../db/lock.ts';
import { type TenantTx, tenantTransaction } from '../db/tenant.ts';
import { assertUnderCap } from '../db/tenant-caps.ts';
import { badArgument, ConflictError, type FieldError, InvalidStateError, NotFoundError, ValidationError } from '../errors.ts';
import { EVENT_TYPES } from '../events/outbox.ts';
import type { Prisma, Webhook, WebhookDelivery } from '../generated/prisma/client.ts';
import type { SourceType, WebhookStatus } from '../generated/prisma/enums.ts';
import { CONTROL_CHARACTERS } from '../graphql-hardening/input-limits.ts';
import { deliveryGlobalId, webhookGlobalId } from '../ids.ts';
import type { RequestScope } from '../services.ts';
import type { WebhookPageFilter } from './first-page.ts';
import { revealHeaders, type StaticHeaders, sealHeaders } from './headers.ts';
import { defaultMaxAttempts, headerProblems, validateEventTypePattern } from './policy.ts';
import { DELIVER_QUEUE, deliveryJob } from './queue.ts';
import { currentAsPrevious, sealSecret } from './secrets.ts';
import { generateSigningSecret, secretFingerprint } from './signing.ts';
import { checkWebhookUrl } from './ssrf.ts';

export const DEFAULT_TIMEOUT_MS = 15_000;
export const MAX_TIMEOUT_MS = 30_000;
const MAX_ATTEMPTS = 50;
const MAX_GRACE_SECONDS = 7 * 24 * 3600;
const MAX_EVENT_TYPES = 50;
const DEFAULT_GRACE_SECONDS = 24 * 3600;
const MAX_NAME_LENGTH = 100;
const MAX_EVENT_TYPE_LENGTH = 200;
const MAX_TAGS = 20;
/** Tags, `source` and `connectorId`: short printable words, so they filter, log and display safely. */
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/;
const MAX_LABEL_LENGTH = 64;
const MAX_CONNECTOR_ID_LENGTH = 128;

function labelProblem(value: string, most = MAX_LABEL_LENGTH): string | null {
  if (value.length < 1 || value.length > most) return `must be 1 to ${most} characters`;
  if (!LABEL.test(value)) return 'must start with a letter or digit and hold only letters, digits and . _ : / @ + -';
  return null;
}

/** Reads of webhooks by an application credential see only that application's webhooks. */
export function webhookVisibility(scope: Pick<RequestScope, 'viewer'>): Prisma.WebhookWhereInput {
  return scope.viewer.appId ? { appId: scope.viewer.appId } : {};
}

export interface WebhookListFilter {
  status?: WebhookStatus | null;
  tag?: string | null;
  eventType?: string | null;
  includeDeleted?: boolean | null;
}

/**
 * The subscriptions that receive `type` (the `eventType` argument, checked): itself, `*`, and each
 * `prefix.*` above it, as delivery matches.
 */
export function patternsReceiving(type: string): string[] {
  if (!type || type.length > MAX_EVENT_TYPE_LENGTH || CONTROL_CHARACTERS.test(type)) {
    throw badArgument('eventType', `must be 1 to ${MAX_EVENT_TYPE_LENGTH} characters without control characters`);
  }
  const parts = type.split('.');
  const prefixes = parts.slice(1).map((_, i) => `${parts.slice(0, i + 1).join('.')}.*`);
  return [type, '*', ...prefixes];
}

/**
 * The list's filters, checked (a bad tag or event type is refused here), as both reads of a list
 * take them: Prisma's `where` (webhookListWhere) and icp_webhook_page_v2 (src/webhooks/first-page.ts).
 */
export function checkedListFilter(scope: Pick<RequestScope, 'viewer'>, filter: WebhookListFilter): WebhookPageFilter {
  if (filter.tag != null) {
    const problem = labelProblem(filter.tag);
    if (problem) throw badArgument('tag', problem);
  }
  return {
    // as webhookVisibility reads it
    appId: scope.viewer.appId || null,
    status: filter.status || null,
    tag: filter.tag ?? null,
    eventTypes: filter.eventType != null ? patternsReceiving(filter.eventType) : null,
    includeDeleted: filter.includeDeleted === true,
  };
}

/**
 * The webhooks a list shows: the caller's visible ones, filtered. `eventType` finds those that
 * receive it: subscribed to it exactly, to `*`, or to a `prefix.*` above it (as delivery matches).
 */
export function webhookListWhere(scope: Pick<RequestScope, 'viewer'>, filter: WebhookListFilter): Prisma.WebhookWhereInput {
  return checkedListWhere(scope, checkedListFilter(scope, filter));
}

/** webhookListWhere of a filter already checked. */
export function checkedListWhere(scope: Pick<RequestScope, 'viewer'>, filter: WebhookPageFilter): Prisma.WebhookWhereInput {
  const where: Prisma.WebhookWhereInput = { ...webhookVisibility(scope) };
  if (filter.status) where.status = filter.status;
  if (filter.tag !== null) where.tags = { has: filter.tag };
  if (filter.eventTypes) where.eventTypes = { hasSome: [...filter.eventTypes] };
  // naming deletedAt is what lets deleted rows through the tenant client (src/db/tenant.ts)
  if (filter.includeDeleted) where.deletedAt = undefined;
  return where;
}

export interface WebhookInput {
  name?: string | null;
  url?: string | null;
  eventTypes?: string[] | null;
  headers?: Record<string, unknown> | null;
  retryPolicy?: { maxAttempts?: number | null; timeoutMs?: number | null } | null;
  source?: string | null;
  sourceType?: SourceType | null;
  tags?: string[] | null;
  connectorId?: string | null;
}

/** The provenance and ownership fields a create or update sets (validated). */
function provenance(input: WebhookInput): Pick<Prisma.WebhookUncheckedCreateInput, 'source' | 'sourceType' | 'tags' | 'connectorId'> {
  return {
    ...(input.source != null ? { source: input.source } : {}),
    ...(input.sourceType != null ? { sourceType: input.sourceType } : {}),
    ...(input.tags != null ? { tags: [...new Set(input.tags)] } : {}),
    ...(input.connectorId != null ? { connectorId: input.connectorId || null } : {}),
  };
}

/** `allowNullHeaders`: an update, where a header's null keeps its stored value. */
async function validate(scope: RequestScope, input: WebhookInput, errors: FieldError[], allowNullHeaders = false) {
  if (input.name != null && (!input.name.trim() || input.name.length > MAX_NAME_LENGTH)) {
    errors.push({ path: ['name'], message: `must be 1 to ${MAX_NAME_LENGTH} characters` });
  } else if (input.name != null && CONTROL_CHARACTERS.test(input.name)) {
    errors.push({ path: ['name'], message: 'must not contain line breaks or other control characters' });
  }
  if (input.url != null) {
    const checked = await checkWebhookUrl(input.url, scope.services.config.webhooks.allowHosts);
    if (!checked.ok) errors.push({ path: ['url'], message: checked.reason });
  }
  if (input.eventTypes != null) {
    if (!input.eventTypes.length) errors.push({ path: ['eventTypes'], message: 'must name at least one event type (or "*")' });
    if (input.eventTypes.length > MAX_EVENT_TYPES) errors.push({ path: ['eventTypes'], message: `at most ${MAX_EVENT_TYPES} entries` });
    input.eventTypes.forEach((pattern, i) => {
      const problem =
        pattern.length > MAX_EVENT_TYPE_LENGTH
          ? `must be at most ${MAX_EVENT_TYPE_LENGTH} characters`
          : validateEventTypePattern(pattern, EVENT_TYPES);
      if (problem) errors.push({ path: ['eventTypes', String(i)], message: problem });
    });
  }
  if (input.headers != null) {
    for (const { name, message } of headerProblems(input.headers, { allowNull: allowNullHeaders })) {
      errors.push({ path: name === null ? ['headers'] : ['headers', name], message });
    }
  }
  if (input.source != null) {
    const problem = labelProblem(input.source);
    if (problem) errors.push({ path: ['source'], message: problem });
  }
  if (input.tags != null) {
    if (input.tags.length > MAX_TAGS) errors.push({ path: ['tags'], message: `at most ${MAX_TAGS} tags` });
    input.tags.slice(0, MAX_TAGS).forEach((tag, i) => {
      const problem = labelProblem(tag);
      if (problem) errors.push({ path: ['tags', String(i)], message: problem });
    });
  }
  // an empty connectorId on update clears it
  if (input.connectorId) {
    const problem = labelProblem(input.connectorId, MAX_CONNECTOR_ID_LENGTH);
    if (problem) errors.push({ path: ['connectorId'], message: problem });
  }
  const policy = input.retryPolicy;
  if (policy?.maxAttempts != null && (policy.maxAttempts < 1 || policy.maxAttempts > MAX_ATTEMPTS)) {
    errors.push({ path: ['retryPolicy', 'maxAttempts'], message: `must be from 1 to ${MAX_ATTEMPTS}` });
  }
  if (policy?.timeoutMs != null && (policy.timeoutMs < 100 || policy.timeoutMs > MAX_TIMEOUT_MS)) {
    errors.push({ path: ['retryPolicy', 'timeoutMs'], message: `must be from 100 to ${MAX_TIMEOUT_MS}` });
  }
}

async function load(tx: TenantTx, scope: RequestScope, id: string): Promise<Webhook> {
  await lockForUpdate(tx, 'Webhook', scope.viewer.tenantId, id);
  const row = await tx.webhook.findFirst({ where: { id, ...webhookVisibility(scope) } });
  if (!row) throw new NotFoundError('Webhook', webhookGlobalId(id));
  return row;
}

export async function createWebhook(
  scope: RequestScope,
  input: WebhookInput & { name: string; url: string; eventTypes: string[] },
): Promise<{ webhook: Webhook; signingSecret: string }> {
  const errors: FieldError[] = [];
  await validate(scope, input, errors);
  if (errors.length) throw new ValidationError(errors);
  const { viewer, services } = scope;
  const id = uuidv7();
  const signingSecret = generateSigningSecret();
  const webhook = await tenantTransaction(scope.db, async (tx) => {
    await assertUnderCap(tx, viewer.tenantId, 'webhooks', () => tx.webhook.count());
    return tx.webhook.create({
      data: {
        id,
        tenantId: viewer.tenantId,
        appId: viewer.appId,
        name: input.name.trim(),
        url: input.url,
        eventTypes: [...new Set(input.eventTypes)],
        ...sealHeaders(services.keyring, viewer.tenantId, id, (input.headers ?? {}) as StaticHeaders),
        maxAttempts: input.retryPolicy?.maxAttempts ?? defaultMaxAttempts(services.config.webhooks.retrySchedule),
        timeoutMs: input.retryPolicy?.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        ...sealSecret(services.keyring, viewer.tenantId, id, signingSecret),
        secretFingerprint: secretFingerprint(signingSecret),
        ...provenance(input),
        createdBy: viewer.actorId,
        updatedBy: viewer.actorId,
      },
    });
  });
  return { webhook, signingSecret };
}

/**
 * An update's headers replace the stored ones; a header given as null keeps its stored value
 * (reads show every value as null, so what was read can be sent back with changes).
 */
/** The stored header values a change keeps (those it names as null); UNAVAILABLE when they cannot be opened. */
function keptHeaders(scope: RequestScope, row: Webhook): StaticHeaders {
  try {
    return revealHeaders(scope.services.keyring, row);
  } catch (err) {
    if (!isDecryptionError(err)) throw err;
    // as a credentials change that must open the stored secrets (src/integrations/service.ts)
    scope.services.decryptionFailed('webhook_headers', err, { webhookId: row.id, work: 'headers_change' });
    throw new GraphQLError('The stored headers cannot be read right now; nothing was changed. Retry later.', {
      extensions: { code: 'UNAVAILABLE', http: { status: 503, headers: { 'retry-after': '60' } } },
    });
  }
}

function mergeHeaders(scope: RequestScope, row: Webhook, given: Record<string, unknown>): StaticHeaders {
  const kept = Object.values(given).includes(null) ? keptHeaders(scope, row) : {};
  const errors: FieldError[] = [];
  const merged: StaticHeaders = {};
  for (const [name, value] of Object.entries(given)) {
    if (value !== null) merged[name] = value as string;
    else if (Object.hasOwn(kept, name)) merged[name] = kept[name]!;
    else
      errors.push({ path: ['headers', name], message: 'is null, which keeps a stored value, but the webhook has no header of this name' });
  }
  for (const { name, message } of errors.length ? [] : headerProblems(merged)) {
    errors.push({ path: name === null ? ['headers'] : ['headers', name], message });
  }
  if (errors.length) throw new ValidationError(errors);
  return merged;
}

/** A locked read-modify-write of one webhook, with optional optimistic concurrency. */
async function change(
  scope: RequestScope,
  id: string,
  expectedVersion: number | null | undefined,
  decide: (row: Webhook, tx: TenantTx) => Promise<Prisma.WebhookUpdateInput | null>,
): Promise<Webhook> {
  return scope.services.queue.transaction(scope.db, async (tx) => {
    const row = await load(tx, scope, id);
    if (expectedVersion != null && expectedVersion !== row.version) {
      throw ConflictError.staleVersion('the webhook', expectedVersion, row.version);
    }
    const data = await decide(row, tx);
    if (!data) return row;
    return tx.webhook.update({
      where: { id },
      data: { ...data, version: { increment: 1 }, updatedBy: scope.viewer.actorId },
    });
  });
}

export async function updateWebhook(
  scope: RequestScope,
  id: string,
  input: WebhookInput & { expectedVersion?: number | null },
): Promise<Webhook> {
  const errors: FieldError[] = [];
  await validate(scope, input, errors, true);
  if (errors.length) throw new ValidationError(errors);
  return change(scope, id, input.expectedVersion, async (row) => ({
    ...(input.name != null ? { name: input.name.trim() } : {}),
    ...(input.url != null ? { url: input.url } : {}),
    ...(input.eventTypes != null ? { eventTypes: [...new Set(input.eventTypes)] } : {}),
    ...(input.headers != null ? sealHeaders(scope.services.keyring, row.tenantId, row.id, mergeHeaders(scope, row, input.headers)) : {}),
    ...(input.retryPolicy?.maxAttempts != null ? { maxAttempts: input.retryPolicy.maxAttempts } : {}),
    ...(input.retryPolicy?.timeoutMs != null ? { timeoutMs: input.retryPolicy.timeoutMs } : {}),
    ...provenance(input),
  }));
}

export async function rotateWebhookSecret(
  scope: RequestScope,
  id: string,
  gracePeriodSeconds: number | null | undefined,
): Promise<{ webhook: Webhook; signingSecret: string }> {
  const grace = gracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
  if (!Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_SECONDS) {
    throw ValidationError.at(['gracePeriodSeconds'], `must be a whole number from 0 to ${MAX_GRACE_SECONDS}`);
  }
  const signingSecret = generateSigningSecret();
  const webhook = await change(scope, id, null, async (row) => ({
    ...currentAsPrevious(row, grace > 0 ? new Date(Date.now() + grace * 1000) : null),
    ...sealSecret(scope.services.keyring, row.tenantId, row.id, signingSecret),
    secretFingerprint: secretFingerprint(signingSecret),
    secretRevision: { increment: 1 },
  }));
  return { webhook, signingSecret };
}

export function pauseWebhook(scope: RequestScope, id: string): Promise<Webhook> {
  return change(scope, id, null, async (row) => {
    if (row.status === 'PAUSED') return null;
    if (row.status === 'DISABLED')
      throw new InvalidStateError('the webhook is DISABLED (its endpoint answered 410 Gone): resume it to use it again');
    return { status: 'PAUSED', pausedAt: new Date() };
  });
}

/**
 * ACTIVE again, with the failure count cleared; deliveries held while it was paused are queued
 * again at once.
 */
export function resumeWebhook(scope: RequestScope, id: string): Promise<Webhook> {
  return change(scope, id, null, async (row, tx) => {
    if (row.status === 'ACTIVE' && row.consecutiveFailures === 0) return null;
    const held = await tx.webhookDelivery.findMany({
      where: { webhookId: row.id, status: 'PENDING' },
      select: { id: true, tenantId: true, attemptCount: true },
    });
    const now = new Date();
    if (held.length) {
      await tx.webhookDelivery.updateMany({ where: { webhookId: row.id, status: 'PENDING' }, data: { nextAttemptAt: now } });
      await scope.services.queue.enqueueMany(
        tx,
        DELIVER_QUEUE,
        held.map((d) => deliveryJob(d, row.timeoutMs)),
      );
    }
    return { status: 'ACTIVE', pausedAt: null, disabledAt: null, consecutiveFailures: 0 };
  });
}

/** Deletes a webhook; what it still had pending (held while paused, or awaiting a retry) fails. */
export async function deleteWebhook(scope: RequestScope, id: string): Promise<Webhook> {
  return change(scope, id, null, async (row, tx) => {
    await tx.webhookDelivery.updateMany({
      where: { webhookId: row.id, status: 'PENDING' },
      data: { status: 'FAILED', nextAttemptAt: null, updatedBy: scope.viewer.actorId },
    });
    return { deletedAt: new Date(), deletedBy: scope.viewer.actorId };
  });
}

/** A `webhook.test` event delivered to this one webhook. */
export async function sendTestEvent(scope: RequestScope, id: string): Promise<WebhookDelivery> {
  return scope.services.queue.transaction(scope.db, async (tx) => {
    const row = await load(tx, scope, id);
    if (row.status !== 'ACTIVE') throw new InvalidStateError(`the webhook is ${row.status}: resume it first`);
    const recorded = await scope.services.outbox.record(
      tx,
      scope.viewer,
      { type: 'webhook.test', subjectId: row.id, data: { webhookId: webhookGlobalId(row.id), message: 'This is a test event.' } },
      { onlyWebhookId: row.id },
    );
    return tx.webhookDelivery.findUniqueOrThrow({ where: { id: recorded.deliveryIds[0]! } });
  });
}

/** One more attempt of a finished delivery, with the same `webhook-id`. */
export async function redeliver(scope: RequestScope, id: string): Promise<WebhookDelivery> {
  return scope.services.queue.transaction(scope.db, async (tx) => {
    await lockForUpdate(tx, 'WebhookDelivery', scope.viewer.tenantId, id);
    const delivery = await tx.webhookDelivery.findFirst({ where: { id, webhook: { deletedAt: null, ...webhookVisibility(scope) } } });
    if (!delivery) throw new NotFoundError('WebhookDelivery', deliveryGlobalId(id));
    if (delivery.status === 'PENDING') throw new InvalidStateError('the delivery is still PENDING: it will be attempted again by itself');
    const webhook = await tx.webhook.findUniqueOrThrow({ where: { id: delivery.webhookId } });
    if (webhook.status !== 'ACTIVE') throw new InvalidStateError(`the webhook is ${webhook.status}: resume it first`);
    const updated = await tx.webhookDelivery.update({
      where: { id },
      data: { status: 'PENDING', nextAttemptAt: new Date(), version: { increment: 1 }, updatedBy: scope.viewer.actorId },
    });
    await scope.services.queue.enqueueMany(tx, DELIVER_QUEUE, [deliveryJob(updated, webhook.timeoutMs)]);
    return updated;
  });
}
