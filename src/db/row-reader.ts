/**
 * Reads that skip Prisma's client, for the hottest pages (issue #18): one statement, on the
 * connections Prisma uses, whose rows are used as they come. Prisma's query interpretation, result
 * mapping and row-security transaction (BEGIN, `set_config`, the read, COMMIT: four round trips)
 * were about 40% of an executed integrations page's CPU. Only for statements that confine
 * themselves to one tenant: the owner's page functions (`icp_integration_page`), which name the
 * tenant for row-level security within their own statement. docs/design-notes.md ("Reads in SQL").
 */
import type pg from 'pg';
import type { PgliteStatements } from './pglite-statements.ts';

export interface RowReader {
  /** The rows of one statement, in a transaction of its own. */
  read<T>(sql: string, values: readonly unknown[]): Promise<T[]>;
}

/**
 * Hears each statement sent, as Prisma's query events do, transaction control included
 * (benchmarks and tests count them).
 */
export type OnQuery = ((sql: string) => void) | undefined;

/**
 * On a PostgreSQL server: Prisma's own pool (`pool.query` checks a connection out for the one
 * statement, and closes it rather than give it back when it failed).
 */
export function poolReader(pool: pg.Pool, onQuery?: OnQuery): RowReader {
  return {
    async read<T>(sql: string, values: readonly unknown[]) {
      onQuery?.(sql);
      return (await pool.query(sql, values as unknown[])).rows as T[];
    },
  };
}

/**
 * Embedded: PGlite's one connection, after whatever transaction Prisma or pg-boss runs on it; the
 * statement prepared (pglite-statements.ts).
 */
export function pgliteReader(statements: PgliteStatements, onQuery?: OnQuery): RowReader {
  return {
    async read<T>(sql: string, values: readonly unknown[]) {
      onQuery?.(sql);
      return (await statements.query<T>(sql, values)).rows;
    },
  };
}
