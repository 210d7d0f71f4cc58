/**
 * The first page of a tenant's integrations, read in SQL without Prisma's client (issue #18): the
 * most asked read of the API, and the one the response cache answers unless the tenant changed.
 * The same rows Prisma's `findMany` with the sealed columns omitted gives (types included: dates
 * as Date, JSON parsed, arrays), newest first; test/integration/integration-first-page.test.ts
 * compares them column by column, so a column added to the model without this list fails there.
 */
import type { RowReader } from '../db/row-reader.ts';
import type { IntegrationStatus } from '../generated/prisma/enums.ts';
import type { ShownIntegration } from './present.ts';

/** Every column but the sealed ones; timestamps are UTC without a zone, read as instants. */
const COLUMNS = [
  'id',
  'tenantId',
  'appId',
  'provider',
  'status',
  'enabledCapabilities',
  'metadata',
  'config',
  'secretKeys',
  'credentialsRevision',
  'verifiedRevision',
  'lastError',
  'verifiedAt',
  'inboundToken',
  'version',
  'createdAt',
  'updatedAt',
  'createdBy',
  'updatedBy',
  'deletedAt',
  'deletedBy',
] as const satisfies readonly (keyof ShownIntegration)[];
const TIMESTAMPS = new Set<string>(['verifiedAt', 'createdAt', 'updatedAt', 'deletedAt']);
const SELECT = COLUMNS.map((c) => (TIMESTAMPS.has(c) ? `("${c}" AT TIME ZONE 'UTC') AS "${c}"` : `"${c}"`)).join(', ');

export interface FirstPageFilter {
  status?: IntegrationStatus;
  /** Only these providers (none: every provider). */
  providers?: readonly string[];
}

export interface FirstPage {
  rows: ShownIntegration[];
  /** Every matching row, the page's or not: a tenant has at most one live integration per provider, so counting them costs nothing. */
  totalCount: number;
}

/** The tenant's live integrations matching `filter`, newest first, at most `take`, with their count. */
export async function readFirstIntegrationPage(
  reader: RowReader,
  tenantId: string,
  filter: FirstPageFilter,
  take: number,
): Promise<FirstPage> {
  const values: unknown[] = [tenantId];
  const where = ['"tenantId" = $1', '"deletedAt" IS NULL'];
  if (filter.status) where.push(`"status" = $${values.push(filter.status)}::"IntegrationStatus"`);
  if (filter.providers) where.push(`"provider" = ANY($${values.push(filter.providers)}::text[])`);
  const sql = `SELECT ${SELECT}, count(*) OVER ()::int AS "matching" FROM "Integration" WHERE ${where.join(' AND ')} ORDER BY "id" DESC LIMIT $${values.push(take)}`;
  const read = await reader.read<ShownIntegration & { matching: number }>(tenantId, sql, values);
  return { rows: read.map(({ matching: _, ...row }) => row), totalCount: read[0]?.matching ?? 0 };
}
