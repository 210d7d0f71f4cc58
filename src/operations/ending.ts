/**
 * Records the calls that end an operation (SUCCEEDED, or FAILED because the provider rejected the
 * input) in group commits, as src/webhooks/attempts.ts does for deliveries: endings that arrive
 * while a recording transaction runs are written together by the next one, one transaction per
 * tenant and one statement per kind of write (the guarded update of the operations, their re-read,
 * the attempt rows, the events with their fan-out, the early delivery callbacks of the stored
 * references). A group that fails is retried ending by ending, so one bad row fails only its job.
 */
import { v7 as uuidv7 } from 'uuid';
import { insertManyStatement } from '../db/insert-many.ts';
import { type TenantTx, tenantDb } from '../db/tenant.ts';
import type { Integration, Operation } from '../generated/prisma/client.ts';
import type { ProviderDefinition } from '../providers/types.ts';
import type { Services } from '../services.ts';
import { groupBy } from '../webhooks/attempts.ts';
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

interface Pending extends Ending {
  settle: { resolve(updated: Operation | null): void; reject(err: unknown): void };
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

class EndingRecorder {
  private pending: Pending[] = [];
  private writing: Promise<void> | undefined;

  constructor(private readonly services: Services) {}

  add(ending: Ending): Promise<Operation | null> {
    return new Promise((resolve, reject) => {
      this.pending.push({ ...ending, settle: { resolve, reject } });
      this.schedule();
    });
  }

  private schedule() {
    this.writing ??= this.writeAll().finally(() => {
      this.writing = undefined;
      if (this.pending.length) this.schedule();
    });
  }

  private async writeAll() {
    await new Promise((resolve) => setImmediate(resolve));
    while (this.pending.length) {
      const byTenant = groupBy(this.pending.splice(0), (e) => e.op.tenantId);
      await Promise.all([...byTenant].map(([tenantId, endings]) => this.write(tenantId, endings)));
    }
  }

  private async write(tenantId: string, endings: Pending[]): Promise<void> {
    // two runs of one operation in one group: the first is written, the second finds it ended
    const unique = [...groupBy(endings, (e) => e.op.id).values()].map((runs) => runs[0]!);
    try {
      const updated = await this.services.queue.transaction(tenantDb(this.services.prisma, tenantId), (tx) =>
        this.writeClaimed(tx, tenantId, unique),
      );
      for (const e of endings) e.settle.resolve(unique.includes(e) ? (updated.get(e.op.id) ?? null) : null);
    } catch (err) {
      if (unique.length === 1) {
        for (const e of endings) e.settle.reject(err);
        return;
      }
      for (const e of unique) await this.write(tenantId, [e]);
      for (const e of endings) if (!unique.includes(e)) e.settle.resolve(null);
    }
  }

  private async writeClaimed(tx: TenantTx, tenantId: string, endings: Pending[]): Promise<Map<string, Operation>> {
    const now = new Date();
    const expected = new Map(endings.map((e) => [e.op.id, endedOperation(this.services, e, now)]));
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
    await this.services.outbox.recordMany(
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
      this.services.outbox,
      recorded.flatMap(({ op, provider, integration }) => {
        const { providerReference, status } = updated.get(op.id)!;
        // a status read shares its reference with what made it, which is the one tracked
        const tracked = status === 'SUCCEEDED' && providerReference && !REFERENCE_READS.includes(op.capability);
        return tracked ? [{ provider, integration, providerReference }] : [];
      }),
    );
    return updated;
  }
}

/**
 * The worker's way to record a call that ends its operation: resolves the operation as recorded,
 * or null when a duplicate job had ended it first (then nothing of this call is written).
 */
export function endingRecorder(services: Services): (ending: Ending) => Promise<Operation | null> {
  const recorder = new EndingRecorder(services);
  return (ending) => recorder.add(ending);
}
