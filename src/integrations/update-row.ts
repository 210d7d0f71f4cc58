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
  /** Soft deletion: when, and by whom. */
  deletedAt?: Date;
  deletedBy?: string | null;
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
  deletedAt: 'timestamp(3)',
  deletedBy: 'text',
};

/** The column of the webhooks read with the UPDATE (not one of Integration's). */
const FAN_OUT = 'icp_fan_out';

export interface RowUpdate {
  status: IntegrationStatus;
  /** A verification is queued: the last one's error no longer describes the credentials. */
  clearLastError: boolean;
  actorId: string | null;
}

/** Adds a value to `values` and gives its placeholder, cast to `type`. */
type Param = (value: unknown, type: string) => string;

function parameters(): { values: unknown[]; param: Param } {
  const values: unknown[] = [];
  return {
    values,
    param: (value, type) => {
      values.push(value);
      return `$${values.length}::${type}`;
    },
  };
}

/** `change`'s columns as `SET` items or INSERT columns: the fixed list's names and casts, JSON as text. */
function changedColumns(change: IntegrationChange | undefined, param: Param): [column: string, placeholder: string][] {
  const set: [string, string][] = [];
  for (const column of Object.keys(COLUMNS) as Column[]) {
    const value = change?.[column];
    if (value === undefined) continue;
    const type = COLUMNS[column];
    // JSON as text; an instant as UTC text, as Prisma writes one (a timestamp column ignores the Z)
    const sent = type === 'jsonb' ? JSON.stringify(value) : value instanceof Date ? value.toISOString() : value;
    set.push([`"${column}"`, param(sent, type)]);
  }
  return set;
}

/**
 * Writes `change` to the row read locked at `version`, bumping the version: the updated row, or
 * undefined when no live row of the tenant has that id and version. With `events`, the same
 * statement also writes them (a data-modifying WITH, run whether or not the UPDATE matched: the
 * caller rolls back when it did not) and reads the tenant's ACTIVE webhooks they fan out to: one
 * round trip for the change and its events.
 */
export async function updateWithEvents(
  tx: RawExecutor,
  row: Pick<Integration, 'id' | 'tenantId' | 'version'>,
  change: IntegrationChange | undefined,
  update: RowUpdate,
  events?: PreparedEvents,
): Promise<WrittenRow | undefined> {
  const { values, param } = parameters();
  const sets = changedColumns(change, param).map(([column, placeholder]) => `${column} = ${placeholder}`);
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
  return writeRow(tx, `UPDATE "Integration" SET ${sets.join(', ')} WHERE ${where} RETURNING *`, values, tenant, events);
}

/** A new integration's columns; the rest take their defaults (version and revision 1, no verification yet). */
export interface NewIntegration extends IntegrationChange {
  id: string;
  tenantId: string;
  appId: string | null;
  provider: string;
  status: IntegrationStatus;
  inboundToken: string;
  actorId: string | null;
}

/**
 * Inserts a new integration, with `events` and the webhooks they fan out to as `updateWithEvents`
 * does: the row as `findUnique` gives it. A second live integration of the provider fails as
 * the unique index says (23505).
 */
export async function insertWithEvents(tx: RawExecutor, row: NewIntegration, events?: PreparedEvents): Promise<WrittenRow> {
  const { values, param } = parameters();
  // as Prisma's @default(now()) and @updatedAt: the application's clock, in UTC
  const now = new Date().toISOString();
  const tenant = param(row.tenantId, 'text');
  const set: [string, string][] = [
    ['"id"', param(row.id, 'text')],
    ['"tenantId"', tenant],
    ['"appId"', param(row.appId, 'text')],
    ['"provider"', param(row.provider, 'text')],
    ['"status"', param(row.status, '"IntegrationStatus"')],
    ...changedColumns(row, param),
    ['"createdBy"', param(row.actorId, 'text')],
    ['"updatedBy"', param(row.actorId, 'text')],
    ['"createdAt"', param(now, 'timestamp(3)')],
    ['"updatedAt"', param(now, 'timestamp(3)')],
  ];
  const statement =
    `INSERT INTO "Integration" (${set.map(([column]) => column).join(', ')}) ` +
    `VALUES (${set.map(([, placeholder]) => placeholder).join(', ')}) RETURNING *`;
  const written = await writeRow(tx, statement, values, tenant, events);
  if (!written) throw new Error('INSERT … RETURNING gave no row');
  return written;
}

/** A row written, and the tenant's ACTIVE webhooks read with it (none when no events were written). */
export interface WrittenRow {
  row: Integration;
  webhooks: FanOutTarget[];
}

/** `statement` (… RETURNING *), with `events` and the webhook read in the same statement when given. */
async function writeRow(
  tx: RawExecutor,
  statement: string,
  values: unknown[],
  tenant: string,
  events: PreparedEvents | undefined,
): Promise<WrittenRow | undefined> {
  if (!events) {
    const rows = await tx.$queryRawUnsafe<Integration[]>(statement, ...values);
    return rows[0] && { row: rows[0], webhooks: [] };
  }
  const placeholder = `$${values.push(events.rowsJson)}`;
  const rows = await tx.$queryRawUnsafe<(Integration & { [FAN_OUT]: FanOutTarget[] })[]>(
    `WITH written AS (${statement}), inserted AS (${events.insert(placeholder)}) ` +
      `SELECT written.*, ${events.webhooks(tenant)} AS "${FAN_OUT}" FROM written`,
    ...values,
  );
  if (!rows[0]) return undefined;
  const { [FAN_OUT]: webhooks, ...written } = rows[0];
  return { row: written as Integration, webhooks };
}
