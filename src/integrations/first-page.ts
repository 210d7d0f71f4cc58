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

/** The columns the page's JSON gives as text that a row holds as instants. */
const INSTANTS = ['verifiedAt', 'createdAt', 'updatedAt', 'deletedAt'] as const;

/**
 * A `timestamptz` in JSON, whatever the session's zone, ends with its offset (`+00:00`, `-03:00`,
 * `+05:30`; `+`, `-` and `:` checked by code point): never a local time, which `new Date` would read in the process's zone.
 */
function instant(text: string): Date {
  const sign = text.charCodeAt(text.length - 6);
  const zoned = ((sign === 43 || sign === 45) && text.charCodeAt(text.length - 3) === 58) || text.endsWith('Z');
  const at = new Date(text);
  if (!zoned || Number.isNaN(at.getTime())) {
    throw new Error(`icp_integration_page gave an instant without a zone: ${text}`);
  }
  return at;
}

/**
 * The tenant's live integrations matching `filter`, newest first, at most `take`, with their count.
 * The rows come as one JSON array built in the database: one value to read and `JSON.parse`
 * instead of ~20 typed fields per row (each a buffer copy and a decode in the drivers, most of
 * the embedded page's JavaScript), then their instants made Dates again.
 */
export async function readFirstIntegrationPage(
  reader: RowReader,
  tenantId: string,
  filter: FirstPageFilter,
  take: number,
): Promise<FirstPage> {
  const [read] = await reader.read<{ page: (Record<string, unknown> & { matching: number })[] }>(
    `SELECT coalesce(json_agg(p ORDER BY p."id" DESC), '[]'::json) AS "page" FROM icp_integration_page($1, $2, $3, $4) AS p`,
    [tenantId, filter.status ?? null, filter.providers ?? null, take],
  );
  const page = read?.page ?? [];
  const rows = page.map(({ matching: _, ...row }) => {
    for (const column of INSTANTS) if (row[column] != null) row[column] = instant(row[column] as string);
    return row as unknown as ShownIntegration;
  });
  return { rows, totalCount: page[0]?.matching ?? 0 };
}
