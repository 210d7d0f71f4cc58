/**
 * The first page of a tenant's integrations, read in SQL without Prisma's client (issue #18): the
 * most asked read of the API, and the one the response cache answers unless the tenant changed.
 * One call of `icp_integration_page` (migration 20261206090000_integration_first_page): the rows
 * Prisma's `findMany` with the sealed columns omitted gives (dates as Date, JSON parsed, arrays),
 * newest first; test/integration/integration-first-page.test.ts compares them column by column, so
 * a column added to the model and not to the function fails there.
 */
import type { RowReader } from '../db/row-reader.ts';
import type { IntegrationStatus } from '../generated/prisma/enums.ts';
import type { ShownIntegration } from './present.ts';

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
  const read = await reader.read<ShownIntegration & { matching: number }>('SELECT * FROM icp_integration_page($1, $2, $3, $4)', [
    tenantId,
    filter.status ?? null,
    filter.providers ?? null,
    take,
  ]);
  return { rows: read.map(({ matching: _, ...row }) => row), totalCount: read[0]?.matching ?? 0 };
}
