/**
 * Integration use cases. Each change runs in one transaction that also writes its events (the
 * outbox) and, when the lifecycle asks for it, the verification job; subscribers are told after
 * the commit.
 */
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { GraphQLError } from 'graphql';
import { v7 as uuidv7 } from 'uuid';
import { auditWithin, offeredAudit } from '../audit/plugin.ts';
import { providerAllowed } from '../auth/connect-sessions.ts';
import type { Viewer } from '../auth/viewer.ts';
import { credentialsAad, patchCredentials, storeCredentials, toColumns } from '../crypto/credentials.ts';
import { isDecryptionError } from '../crypto/unreadable.ts';
import { isUniqueViolation } from '../db/errors.ts';
import type { RawTx } from '../db/raw-transaction.ts';
import { ConflictError, type FieldError, InvalidStateError, NotFoundError, ValidationError } from '../errors.ts';
import type { EventType, OutboxEvent, PreparedEvents } from '../events/outbox.ts';
import type { Integration, Prisma, RoutingRule } from '../generated/prisma/client.ts';
import { integrationGlobalId } from '../ids.ts';
import { findProvider, PROVIDERS } from '../providers/catalog.ts';
import { authenticates, type CredentialValue, type ProviderDefinition } from '../providers/types.ts';
import { rulesReferencing } from '../routing/service.ts';
import type { RequestScope } from '../services.ts';
import { validateCapabilities, validateCredentialInput } from './credentials.ts';
import { type Command, transition } from './lifecycle.ts';
import { integrationEventData } from './present.ts';
import { type IntegrationChange, insertWithEvents, type NewIntegration, updateWithEvents, type WrittenRow } from './update-row.ts';
import { VERIFY_QUEUE, type VerifyJob } from './verify-queue.ts';

const METADATA_MAX_BYTES = 16 * 1024;

function validateMetadata(metadata: Record<string, unknown> | null | undefined, errors: FieldError[]) {
  if (metadata && Buffer.byteLength(JSON.stringify(metadata)) > METADATA_MAX_BYTES) {
    errors.push({ path: ['metadata'], message: `must be at most ${METADATA_MAX_BYTES} bytes of JSON` });
  }
}

/**
 * A connect session sets credentials only: capabilities and metadata stay the tenant's to choose
 * (docs/console.md "Connect sessions").
 */
function refuseTenantSettings(viewer: Viewer, input: { enabledCapabilities?: unknown; metadata?: unknown }, errors: FieldError[]) {
  if (!viewer.connect) return;
  for (const key of ['enabledCapabilities', 'metadata'] as const) {
    if (input[key] != null) errors.push({ path: [key], message: 'a connect session may set credentials only' });
  }
}

function newInboundToken() {
  return randomBytes(24).toString('base64url');
}

async function queueVerification(scope: RequestScope, tx: RawTx, row: Integration) {
  const job: VerifyJob = { tenantId: row.tenantId, integrationId: row.id, revision: row.credentialsRevision };
  await scope.services.queue.enqueue(tx, VERIFY_QUEUE, job);
}

function afterCommit(scope: RequestScope, row: Integration, statusChanged: boolean) {
  if (statusChanged) scope.services.pubsub.publish('integration:status', row.tenantId, { integrationId: row.id });
}

export interface ConfigureInput {
  provider: string;
  credentials: Record<string, unknown>;
  enabledCapabilities?: string[] | null;
  metadata?: Record<string, unknown> | null;
}

export async function configureIntegration(scope: RequestScope, input: ConfigureInput): Promise<Integration> {
  const provider = findProvider(input.provider);
  if (!provider) {
    throw ValidationError.at(['provider'], `unknown provider (known: ${PROVIDERS.map((p) => p.name).join(', ')})`);
  }
  if (!providerAllowed(scope.viewer, provider.name)) {
    throw ValidationError.at(['provider'], 'this connect session may not configure this provider');
  }
  const credentials = validateCredentialInput(provider, input.credentials, 'configure');
  const capabilities = validateCapabilities(provider, input.enabledCapabilities);
  const errors = [...credentials.errors, ...capabilities.errors];
  validateMetadata(input.metadata, errors);
  refuseTenantSettings(scope.viewer, input, errors);
  if (errors.length) throw new ValidationError(errors);

  const { viewer, services } = scope;
  const id = uuidv7();
  const stored = storeCredentials(services.keyring, provider.credentialSchema, credentials.values, credentialsAad(viewer.tenantId, id));
  let row: Integration;
  try {
    // raw statements only, as every change (src/db/raw-transaction.ts)
    row = await services.queue.rawTransaction(services.transactions, viewer.tenantId, async (tx) => {
      const fresh: NewIntegration = {
        id,
        tenantId: viewer.tenantId,
        appId: viewer.appId,
        provider: provider.name,
        status: 'PENDING_VERIFY',
        enabledCapabilities: capabilities.capabilities,
        metadata: (input.metadata ?? {}) as Prisma.InputJsonObject,
        config: stored.config,
        secretKeys: stored.secretKeys,
        ...toColumns(stored.sealed),
        inboundToken: newInboundToken(),
        actorId: viewer.actorId,
      };
      // the event with the INSERT: its data foreseen (version 1, no error yet)
      const data = integrationEventData({ ...fresh, lastError: null, version: 1 } as unknown as Integration);
      const events = [{ actor: viewer, type: 'integration.created' as const, subjectId: id, data }];
      const created = (await writeWithEvents(scope, tx, id, data, events, (prepared) => insertWithEvents(tx, fresh, prepared)))!;
      await queueVerification(scope, tx, created);
      await auditWithin(scope, tx);
      return created;
    });
  } catch (err) {
    // one live integration per provider per tenant (migration init)
    if (isUniqueViolation(err, 'Integration_tenantId_provider_live_key')) {
      throw new ConflictError(`this tenant already has a ${provider.name} integration: update it, or delete it first`);
    }
    throw err;
  }
  return row;
}

/**
 * The live row, locked `FOR UPDATE` (concurrent changes wait for each other instead of failing a
 * version check the caller never asked for), in one statement that also writes the request's audit
 * entry, which commits or rolls back with the change (src/audit/plugin.ts). Raw SQL, so its values
 * are as Prisma maps a raw row: the same types as `findUnique`'s for every column of Integration
 * (test/integration/update-statements.test.ts compares them).
 */
export async function lockAndRead(scope: RequestScope, tx: RawTx, id: string): Promise<Integration | undefined> {
  const audit = offeredAudit(scope);
  const read = (first: number) =>
    `SELECT * FROM "Integration" WHERE "id" = $${first} AND "tenantId" = $${first + 1} AND "deletedAt" IS NULL FOR UPDATE`;
  const rows = audit
    ? await tx.$queryRawUnsafe<Integration[]>(
        `WITH audit AS (${audit.statement[0]}) ${read(2)}`,
        audit.statement[1],
        id,
        scope.viewer.tenantId,
      )
    : await tx.$queryRawUnsafe<Integration[]>(read(1), id, scope.viewer.tenantId);
  audit?.written();
  // a connect session's other providers' integrations are missing (the lock is released with the transaction)
  return rows[0] && providerAllowed(scope.viewer, rows[0].provider) ? rows[0] : undefined;
}

/** What a change to an existing integration does, decided from its current row. */
interface Decision {
  data?: IntegrationChange;
  command?: Command;
  events?: { type: EventType; extra?: Record<string, unknown> }[];
}

/** The fields of the row a change writes that its events show (integrationEventData), before the UPDATE returns it. */
function expectedRow(
  row: Integration,
  change: IntegrationChange | undefined,
  status: Integration['status'],
  clearLastError: boolean,
): Integration {
  return {
    ...row,
    status,
    version: row.version + 1,
    enabledCapabilities: change?.enabledCapabilities ?? row.enabledCapabilities,
    metadata: (change?.metadata ?? row.metadata) as Integration['metadata'],
    lastError: clearLastError ? null : row.lastError,
  };
}

/**
 * Writes an integration's row and `events` in one statement (`write`: insertWithEvents or
 * updateWithEvents, given the prepared events or none), then fans the events out: the row
 * written, or undefined when the write matched none. An event must say what was written: `data`,
 * foreseen before the statement, is checked against the row, and a difference throws, rolling
 * both back (metadata is left out: both are the same JSON).
 */
async function writeWithEvents(
  scope: RequestScope,
  tx: RawTx,
  id: string,
  data: Prisma.InputJsonObject,
  events: readonly OutboxEvent[],
  write: (prepared: PreparedEvents | undefined) => Promise<WrittenRow | undefined>,
): Promise<Integration | undefined> {
  const { outbox } = scope.services;
  const prepared = events.length ? outbox.prepare(scope.viewer.tenantId, events) : undefined;
  const written = await write(prepared);
  if (!written) return undefined;
  if (!isDeepStrictEqual({ ...integrationEventData(written.row), metadata: null }, { ...data, metadata: null })) {
    throw new Error(`integration ${id}: the event data foreseen differs from the row written`);
  }
  if (prepared) await outbox.fannedOut(tx, prepared, written.webhooks);
  return written.row;
}

async function changeIntegration(
  scope: RequestScope,
  id: string,
  expectedVersion: number | null | undefined,
  decide: (row: Integration, provider: ProviderDefinition) => Decision,
): Promise<Integration> {
  const { viewer } = scope;
  // raw statements only, in a transaction without Prisma's client (src/db/raw-transaction.ts)
  const outcome = await scope.services.queue.rawTransaction(scope.services.transactions, viewer.tenantId, async (tx) => {
    const row = await lockAndRead(scope, tx, id);
    if (!row) throw new NotFoundError('Integration', integrationGlobalId(id));
    if (expectedVersion != null && expectedVersion !== row.version) {
      throw ConflictError.staleVersion('the integration', expectedVersion, row.version);
    }
    const provider = findProvider(row.provider);
    if (!provider) throw new InvalidStateError(`provider "${row.provider}" is no longer in the catalog`);
    const decision = decide(row, provider);
    const next = decision.command ? transition(row, decision.command) : undefined;
    if (next && !next.ok) throw new InvalidStateError(next.reason);
    const status = next?.ok ? next.status : row.status;
    const queued = next?.ok === true && next.queueVerification;
    const statusChanged = status !== row.status;
    if (!decision.data && !statusChanged && !queued) return { row, statusChanged, queued };

    // the event data as the updated row will give it, so the events go with the UPDATE (one round trip)
    const data = integrationEventData(expectedRow(row, decision.data, status, queued));
    const events: OutboxEvent[] = (decision.events ?? []).map((event) => ({
      actor: viewer,
      type: event.type,
      subjectId: id,
      data: { ...data, ...event.extra } as Prisma.InputJsonObject,
    }));
    if (statusChanged) {
      events.push({ actor: viewer, type: 'integration.status_changed', subjectId: id, data: { ...data, previousStatus: row.status } });
    }
    // the row as UPDATE … RETURNING gives it: no read after the write
    const update = { status, clearLastError: queued, actorId: viewer.actorId };
    const updated = await writeWithEvents(scope, tx, id, data, events, (prepared) =>
      updateWithEvents(tx, row, decision.data, update, prepared),
    );
    // the row is locked, so this is not expected; were it to happen, the caller may retry (the events roll back)
    if (!updated) {
      throw new ConflictError('the integration changed while this change was applied: reload it and try again', 'VERSION_CONFLICT');
    }
    if (queued) await queueVerification(scope, tx, updated);
    return { row: updated, statusChanged, queued };
  });
  afterCommit(scope, outcome.row, outcome.statusChanged);
  return outcome.row;
}

/** A validated credentials patch applied to the row: what to write, and whether it needs a new verification. */
interface CredentialsChange {
  data: IntegrationChange;
  changedKeys: string[];
  /** An authenticating field changed (CredentialField.authenticates): verify again. */
  reverify: boolean;
}

/**
 * Applies a validated credentials patch; shared by update and rotate. A change that touches a field
 * the provider authenticates with starts a new credentials revision (an older verification result
 * is then dropped, src/integrations/verify-worker.ts) and clears verifiedAt until the new one
 * verifies. A change of other fields only (webhook signing secrets, sender settings, changeKeys…)
 * keeps the revision, so the status, routing and an INACTIVE integration's verified state stand.
 */
function credentialsChange(
  scope: RequestScope,
  row: Integration,
  provider: ProviderDefinition,
  values: Record<string, CredentialValue | null>,
): CredentialsChange | undefined {
  let patched: ReturnType<typeof patchCredentials>;
  try {
    patched = patchCredentials(
      scope.services.keyring,
      provider.credentialSchema,
      { ...row, config: row.config as Record<string, CredentialValue> },
      values,
      credentialsAad(row.tenantId, row.id),
    );
  } catch (err) {
    if (!isDecryptionError(err)) throw err;
    // the stored secrets a partial change keeps cannot be read: nothing changes, the caller may retry
    scope.services.decryptionFailed('integration_credentials', err, { integrationId: row.id, work: 'credentials_change' });
    throw new GraphQLError('The stored credentials cannot be read right now; nothing was changed. Retry later.', {
      extensions: { code: 'UNAVAILABLE', http: { status: 503, headers: { 'retry-after': '60' } } },
    });
  }
  if (!patched.changedKeys.length) return undefined;
  const reverify = provider.credentialSchema.some((f) => patched.changedKeys.includes(f.key) && authenticates(f));
  return {
    data: {
      config: patched.config,
      secretKeys: patched.secretKeys,
      ...toColumns(patched.sealed),
      ...(reverify ? { newRevision: true } : {}),
    },
    changedKeys: patched.changedKeys,
    reverify,
  };
}

/** credentials_rotated when the change re-verifies; the field names only, never a value. */
function rotatedEvents(change: CredentialsChange | undefined): NonNullable<Decision['events']> {
  return change?.reverify ? [{ type: 'integration.credentials_rotated', extra: { changedFields: change.changedKeys } }] : [];
}

export interface UpdateInput {
  id: string;
  credentials?: Record<string, unknown> | null;
  enabledCapabilities?: string[] | null;
  metadata?: Record<string, unknown> | null;
  expectedVersion?: number | null;
}

export function updateIntegration(scope: RequestScope, input: UpdateInput): Promise<Integration> {
  return changeIntegration(scope, input.id, input.expectedVersion, (row, provider) => {
    const errors: FieldError[] = [];
    const credentials = input.credentials ? validateCredentialInput(provider, input.credentials, 'patch') : undefined;
    const capabilities = input.enabledCapabilities ? validateCapabilities(provider, input.enabledCapabilities) : undefined;
    errors.push(...(credentials?.errors ?? []), ...(capabilities?.errors ?? []));
    validateMetadata(input.metadata, errors);
    refuseTenantSettings(scope.viewer, input, errors);
    if (errors.length) throw new ValidationError(errors);

    const changed: string[] = [];
    const data: IntegrationChange = {};
    if (capabilities && capabilities.capabilities.join() !== row.enabledCapabilities.join()) {
      data.enabledCapabilities = capabilities.capabilities;
      changed.push('enabledCapabilities');
    }
    if (input.metadata && JSON.stringify(input.metadata) !== JSON.stringify(row.metadata)) {
      data.metadata = input.metadata as Prisma.InputJsonObject;
      changed.push('metadata');
    }
    const rotation = credentials ? credentialsChange(scope, row, provider, credentials.values) : undefined;
    if (rotation) changed.push('credentials');
    if (!changed.length) return {};
    const credentialFields = rotation ? { changedCredentialFields: rotation.changedKeys } : {};
    return {
      data: { ...data, ...rotation?.data },
      command: rotation?.reverify ? 'credentialsChanged' : undefined,
      events: [{ type: 'integration.updated', extra: { changedFields: changed, ...credentialFields } }, ...rotatedEvents(rotation)],
    };
  });
}

export function rotateIntegrationCredentials(
  scope: RequestScope,
  input: { id: string; credentials: Record<string, unknown>; expectedVersion?: number | null },
): Promise<Integration> {
  return changeIntegration(scope, input.id, input.expectedVersion, (row, provider) => {
    const credentials = validateCredentialInput(provider, input.credentials, 'patch');
    if (credentials.errors.length) throw new ValidationError(credentials.errors);
    const change = credentialsChange(scope, row, provider, credentials.values);
    if (!change) return {};
    if (change.reverify) return { data: change.data, command: 'credentialsChanged', events: rotatedEvents(change) };
    // nothing the provider authenticates with changed: an update of settings, not a rotation
    return {
      data: change.data,
      events: [{ type: 'integration.updated', extra: { changedFields: ['credentials'], changedCredentialFields: change.changedKeys } }],
    };
  });
}

export const verifyIntegration = (scope: RequestScope, id: string) => changeIntegration(scope, id, null, () => ({ command: 'verify' }));

export const activateIntegration = (scope: RequestScope, id: string) => changeIntegration(scope, id, null, () => ({ command: 'activate' }));

export const disableIntegration = (scope: RequestScope, id: string) => changeIntegration(scope, id, null, () => ({ command: 'disable' }));

export const rotateInboundWebhookToken = (scope: RequestScope, id: string) =>
  changeIntegration(scope, id, null, () => ({
    data: { inboundToken: newInboundToken() },
    events: [{ type: 'integration.updated', extra: { changedFields: ['inboundWebhookUrl'] } }],
  }));

/**
 * Soft delete: the row stays (audit, event history) but is invisible and frees its provider
 * slot. Routing rules that name it stay and are reported: they no longer select it.
 */
export async function deleteIntegration(
  scope: RequestScope,
  id: string,
): Promise<{ deleted: Integration; affectedRoutingRules: RoutingRule[] }> {
  const { viewer, services } = scope;
  return services.queue.rawTransaction(services.transactions, viewer.tenantId, async (tx) => {
    const row = await lockAndRead(scope, tx, id);
    if (!row) throw new NotFoundError('Integration', integrationGlobalId(id));
    const data = integrationEventData(expectedRow(row, undefined, row.status, false));
    const events = [{ actor: viewer, type: 'integration.deleted' as const, subjectId: id, data }];
    const change = { deletedAt: new Date(), deletedBy: viewer.actorId };
    const update = { status: row.status, clearLastError: false, actorId: viewer.actorId };
    const deleted = await writeWithEvents(scope, tx, id, data, events, (prepared) => updateWithEvents(tx, row, change, update, prepared));
    if (!deleted) throw new ConflictError('the integration changed while it was deleted: reload it and try again', 'VERSION_CONFLICT');
    return { deleted, affectedRoutingRules: await rulesReferencing(tx, viewer.tenantId, id) };
  });
}
