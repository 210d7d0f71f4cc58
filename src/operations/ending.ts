/**
 * Records the calls that end an operation (SUCCEEDED, or FAILED because the provider rejected the
 * input) in group commits (src/jobs/group-commit.ts, as deliveries' attempts are): one
 * transaction per tenant and one statement per kind of write (the guarded update of the
 * operations, the attempt rows, the events with their fan-out, the early delivery callbacks of the
 * stored references).
 */
import { v7 as uuidv7 } from 'uuid';
import { insertManyStatement } from '../db/insert-many.ts';
import type { TenantTx } from '../db/tenant.ts';
import type { Integration, Operation } from '../generated/prisma/client.ts';
import { groupCommit } from '../jobs/group-commit.ts';
import type { ProviderDefinition } from '../providers/types.ts';
import type { Services } from '../services.ts';
import type { CallResult } from './call.ts';
import { REFERENCE_READS } from './capabilities.ts';
import { OPERATIONS_ACTOR, operationEventData } from './present.ts';
import { sealPart } from './sealed.ts';
import { catchUpDeliveries } from './tracking.ts';

/** A call that ends its operation, waiting to be recorded. */
export interface Ending {
  /** The operation as the walk holds it (its attempt count before this call). */
  op: Operation;
  provider: ProviderDefinition;
  integration: Integration;
  usedFallback: boolean;
  call: CallResult;
}

/**
 * The ending, guarded: only an operation still RUNNING the same walk with the attempt count the
 * walk read moves (a duplicate job that got here second writes nothing). The sealed result's bytes
 * travel as base64.
 */
const END_OPERATIONS = `
UPDATE "Operation" AS o
SET "status" = v.status::"OperationStatus", "attemptCount" = v.attempts, "integrationId" = v.integration,
    "usedFallback" = v.fallback, "completedAt" = v.completed, "errorCode" = v.code, "errorMessage" = v.message,
    "providerReference" = CASE WHEN v.status = 'SUCCEEDED' OR v.reference IS NOT NULL THEN v.reference ELSE o."providerReference" END,
    "resultKeyId" = COALESCE(v.key, o."resultKeyId"),
    "resultDataKey" = COALESCE(decode(v.data_key, 'base64'), o."resultDataKey"),
    "resultIv" = COALESCE(decode(v.iv, 'base64'), o."resultIv"),
    "resultTag" = COALESCE(decode(v.tag, 'base64'), o."resultTag"),
    "resultCiphertext" = COALESCE(decode(v.ciphertext, 'base64'), o."resultCiphertext"),
    "version" = o."version" + 1, "updatedBy" = $3, "updatedAt" = $4::timestamp(3)
FROM jsonb_to_recordset($2::jsonb) AS v(
  id text, walk int, previous int, attempts int, status text, integration text, fallback boolean,
  completed timestamp(3), code text, message text, reference text,
  key text, data_key text, iv text, tag text, ciphertext text)
WHERE o."id" = v.id AND o."tenantId" = $1 AND o."deletedAt" IS NULL
  AND o."status" = 'RUNNING' AND o."walk" = v.walk AND o."attemptCount" = v.previous
RETURNING o."id", o."deliveryStatus", o."version",
  (extract(epoch FROM o."deliveryUpdatedAt") * 1000)::float8 AS "deliveryUpdatedMs"`;

/** What END_OPERATIONS returns: the columns a delivery callback may have changed meanwhile. */
interface Ended {
  id: string;
  deliveryStatus: string | null;
  version: number;
  deliveryUpdatedMs: number | null;
}

const base64 = (bytes: Uint8Array | null) => (bytes ? Buffer.from(bytes).toString('base64') : null);

/** What the operation becomes: its row as it will be, but for what END_OPERATIONS returns. */
function endedOperation(services: Services, e: Ending, now: Date): Operation {
  const { op, call } = e;
  const succeeded = call.outcome === 'SUCCEEDED' ? call.succeeded! : null;
  return {
    ...op,
    ...(succeeded ? sealPart(services.keyring, 'result', op.tenantId, op.id, succeeded.result) : {}),
    status: succeeded ? 'SUCCEEDED' : 'FAILED',
    attemptCount: op.attemptCount + 1,
    integrationId: e.integration.id,
    usedFallback: e.usedFallback,
    completedAt: now,
    errorCode: succeeded ? null : 'PROVIDER_REJECTED',
    errorMessage: succeeded ? null : call.error,
    // a failed sequence keeps what its first calls made, so the tenant can find it at the provider
    providerReference: succeeded ? succeeded.providerReference : (call.madeReference ?? op.providerReference),
    updatedBy: OPERATIONS_ACTOR,
    updatedAt: now,
  };
}

/** The row of END_OPERATIONS for one ending. */
function endingRow(e: Ending, ended: Operation) {
  const { op } = e;
  return {
    id: op.id,
    walk: op.walk,
    previous: op.attemptCount,
    attempts: ended.attemptCount,
    status: ended.status,
    integration: ended.integrationId,
    fallback: ended.usedFallback,
    completed: ended.completedAt!.toISOString(),
    code: ended.errorCode,
    message: ended.errorMessage,
    reference: ended.providerReference,
    key: ended.resultKeyId,
    data_key: base64(ended.resultDataKey),
    iv: base64(ended.resultIv),
    tag: base64(ended.resultTag),
    ciphertext: base64(ended.resultCiphertext),
  };
}

/** Writes a group of one tenant's endings (src/jobs/group-commit.ts): the operations as recorded, by id. */
async function writeEndings(services: Services, tx: TenantTx, tenantId: string, endings: Ending[]): Promise<Map<string, Operation>> {
  const now = new Date();
  const expected = new Map(endings.map((e) => [e.op.id, endedOperation(services, e, now)]));
  const rows = endings.map((e) => endingRow(e, expected.get(e.op.id)!));
  const claimed = await tx.$queryRawUnsafe<Ended[]>(END_OPERATIONS, tenantId, JSON.stringify(rows), OPERATIONS_ACTOR, now.toISOString());
  const updated = new Map<string, Operation>();
  for (const row of claimed) {
    updated.set(row.id, {
      ...expected.get(row.id)!,
      deliveryStatus: row.deliveryStatus,
      deliveryUpdatedAt: row.deliveryUpdatedMs === null ? null : new Date(Number(row.deliveryUpdatedMs)),
      version: Number(row.version),
    });
  }
  if (!updated.size) return updated;
  const recorded = endings.filter((e) => updated.has(e.op.id));
  const attempts = recorded.map(({ op, integration, call }) => ({
    id: uuidv7(),
    tenantId,
    operationId: op.id,
    attemptNumber: op.attemptCount + 1,
    integrationId: integration.id,
    startedAt: call.startedAt,
    durationMs: Math.round(call.durationMs),
    httpStatus: call.httpStatus,
    outcome: call.outcome,
    error: call.error,
    createdAt: now,
    updatedAt: now,
    createdBy: OPERATIONS_ACTOR,
    updatedBy: OPERATIONS_ACTOR,
  }));
  await tx.$executeRawUnsafe(...insertManyStatement('OperationAttempt', attempts)!);
  await services.outbox.recordMany(
    tx,
    tenantId,
    recorded.map((e) => {
      const row = updated.get(e.op.id)!;
      const type = row.status === 'SUCCEEDED' ? 'operation.succeeded' : 'operation.failed';
      return { actor: { actorId: OPERATIONS_ACTOR, appId: row.appId }, type, subjectId: row.id, data: operationEventData(row) };
    }),
  );
  await catchUpDeliveries(
    tx,
    services.outbox,
    recorded.flatMap(({ op, provider, integration }) => {
      const { providerReference, status } = updated.get(op.id)!;
      // a status read shares its reference with what made it, which is the one tracked
      const tracked = status === 'SUCCEEDED' && providerReference && !REFERENCE_READS.includes(op.capability);
      return tracked ? [{ provider, integration, providerReference }] : [];
    }),
  );
  return updated;
}

/**
 * The worker's way to record a call that ends its operation: resolves the operation as recorded,
 * or null when a duplicate job had ended it first (then nothing of this call is written).
 */
export function endingRecorder(services: Services): (ending: Ending) => Promise<Operation | null> {
  return groupCommit<Ending, Operation | null>(services, {
    tenantOf: (e) => e.op.tenantId,
    keyOf: (e) => e.op.id,
    write: (tx, tenantId, endings) => writeEndings(services, tx, tenantId, endings),
    none: null,
  });
}
