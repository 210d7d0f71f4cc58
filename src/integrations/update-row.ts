/**
 * The UPDATE of a change to an integration (src/integrations/service.ts), as one raw statement:
 * Prisma's `update` planned and mapped the same few columns on every change, a tenth of an
 * update's CPU (docs/performance.md). Column names and casts come from the fixed list below, never
 * from input; every value is a parameter. RETURNING * is mapped by Prisma as a raw row, with the
 * values and types `findUnique` gives (test/integration/update-statements.test.ts compares them).
 */
import type { SealedColumns } from '../crypto/credentials.ts';
import type { FanOutTarget, PreparedEvents } from '../events/outbox.ts';
import type { Integration, IntegrationStatus, Prisma } from '../generated/prisma/client.ts';
import type { RawExecutor } from '../jobs/queue.ts';

/** What a change writes besides the status, the version and the audit columns. */
export interface IntegrationChange extends Partial<SealedColumns> {
  enabledCapabilities?: string[];
  metadata?: Prisma.InputJsonObject;
  config?: Prisma.InputJsonObject;
  secretKeys?: string[];
  inboundToken?: string;
  /** A new credentials revision: the revision goes up by one and verifiedAt is cleared until it verifies. */
  newRevision?: true;
}

type Column = Exclude<keyof IntegrationChange, 'newRevision'>;

/** Each column a change may set, with its SQL type. */
const COLUMNS: Record<Column, string> = {
  enabledCapabilities: 'text[]',
  metadata: 'jsonb',
  config: 'jsonb',
  secretKeys: 'text[]',
  secretKeyId: 'text',
  secretDataKey: 'bytea',
  secretIv: 'bytea',
  secretTag: 'bytea',
  secretCiphertext: 'bytea',
  inboundToken: 'text',
};

/** The column of the webhooks read with the UPDATE (not one of Integration's). */
const FAN_OUT = 'icp_fan_out';

export interface RowUpdate {
  status: IntegrationStatus;
  /** A verification is queued: the last one's error no longer describes the credentials. */
  clearLastError: boolean;
  actorId: string | null;
}

/**
 * Writes `change` to the row read locked at `version`, bumping the version: the updated row, or
 * undefined when no live row of the tenant has that id and version.
 */
export async function updateIntegrationRow(
  tx: RawExecutor,
  row: Pick<Integration, 'id' | 'tenantId' | 'version'>,
  change: IntegrationChange | undefined,
  update: RowUpdate,
): Promise<Integration | undefined> {
  return (await updateWithEvents(tx, row, change, update))?.row;
}

/**
 * `updateIntegrationRow` that also writes `events` in the same statement (a data-modifying WITH,
 * run whether or not the UPDATE matched: the caller rolls back when it did not) and reads the
 * tenant's ACTIVE webhooks they fan out to: one round trip for the change and its events.
 */
export async function updateWithEvents(
  tx: RawExecutor,
  row: Pick<Integration, 'id' | 'tenantId' | 'version'>,
  change: IntegrationChange | undefined,
  update: RowUpdate,
  events?: PreparedEvents,
): Promise<{ row: Integration; webhooks: FanOutTarget[] } | undefined> {
  const values: unknown[] = [];
  const param = (value: unknown, type: string) => {
    values.push(value);
    return `$${values.length}::${type}`;
  };
  const sets: string[] = [];
  for (const column of Object.keys(COLUMNS) as Column[]) {
    const value = change?.[column];
    if (value === undefined) continue;
    const type = COLUMNS[column];
    sets.push(`"${column}" = ${param(type === 'jsonb' ? JSON.stringify(value) : value, type)}`);
  }
  if (change?.newRevision) sets.push('"credentialsRevision" = "credentialsRevision" + 1', '"verifiedAt" = NULL');
  if (update.clearLastError) sets.push('"lastError" = NULL');
  sets.push(
    `"status" = ${param(update.status, '"IntegrationStatus"')}`,
    '"version" = "version" + 1',
    `"updatedBy" = ${param(update.actorId, 'text')}`,
    // as Prisma's @updatedAt: the application's clock, in UTC (a timestamp column ignores the Z)
    `"updatedAt" = ${param(new Date().toISOString(), 'timestamp(3)')}`,
  );
  const tenant = param(row.tenantId, 'text');
  const where = `"id" = ${param(row.id, 'text')} AND "tenantId" = ${tenant} AND "version" = ${param(row.version, 'int4')} AND "deletedAt" IS NULL`;
  const statement = `UPDATE "Integration" SET ${sets.join(', ')} WHERE ${where} RETURNING *`;
  if (!events) {
    const rows = await tx.$queryRawUnsafe<Integration[]>(statement, ...values);
    return rows[0] && { row: rows[0], webhooks: [] };
  }
  const placeholder = `$${values.push(events.rowsJson)}`;
  const rows = await tx.$queryRawUnsafe<(Integration & { [FAN_OUT]: FanOutTarget[] })[]>(
    `WITH updated AS (${statement}), inserted AS (${events.insert(placeholder)}) ` +
      `SELECT updated.*, ${events.webhooks(tenant)} AS "${FAN_OUT}" FROM updated`,
    ...values,
  );
  if (!rows[0]) return undefined;
  const { [FAN_OUT]: webhooks, ...updated } = rows[0];
  return { row: updated as Integration, webhooks };
}
