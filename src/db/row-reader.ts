/**
 * Reads that skip Prisma's client, for the hottest pages (issue #18): one statement whose rows are
 * used as they come, read with row-level security naming one tenant. Prisma's query interpretation
 * and result mapping were about 40% of an executed integrations page's CPU, and its row-security
 * transaction four round trips where one statement needs one. docs/design-notes.md ("Reads in SQL").
 */
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { settingsStatement } from './row-security.ts';

export interface RowReader {
  /**
   * The rows of one read-only statement, with row-level security naming `tenantId`. Every row
   * carries its `tenantId` column, and one of another tenant fails the read (TenantMismatchError).
   */
  read<T extends { tenantId: string }>(tenantId: string, sql: string, values: readonly unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** A read that would have shown another tenant's rows (or ran as another tenant): never answered. */
export class TenantMismatchError extends Error {
  constructor() {
    super('a read ran with another tenant named than its own; its rows were not used');
  }
}

/** Throws unless every row is the tenant's own. */
function ownRows<T extends { tenantId: string }>(tenantId: string, rows: T[]): T[] {
  for (const row of rows) if (row.tenantId !== tenantId) throw new TenantMismatchError();
  return rows;
}

/** Hears each statement sent, as Prisma's query events do (benchmarks and tests count them). */
type OnQuery = ((sql: string) => void) | undefined;

/** Connections of the reader's own pool, beside Prisma's ten: a read holds one for one round trip. */
export const READ_POOL_SIZE = 4;

/**
 * On a PostgreSQL server: a pool of its own whose connections are read-only for their whole
 * session (`default_transaction_read_only`) and carry the tenant as a session setting, set again
 * only when a read names another tenant than the connection's last one. No other code uses these
 * connections, so a setting left on one is only ever read by the next read, which sets its own
 * first; a connection whose state is in doubt (any error) is closed, not reused. And each read
 * proves its tenant: its rows carry their tenantId (row-level security shows a row only when it is
 * the session's tenant's), and a read with no rows asks the session which tenant it names. So a
 * pooler that moved the session setting between clients (PgBouncer in transaction mode, which
 * this does not support: docs/scaling.md) fails reads instead of answering another tenant's rows.
 */
export function poolReader(connectionString: string, onQuery?: OnQuery): RowReader {
  const pool = new pg.Pool({
    connectionString,
    max: READ_POOL_SIZE,
    application_name: 'icp-reads',
    options: '-c default_transaction_read_only=on',
  });
  // an idle connection the server closed: the pool drops it, the next read opens another
  pool.on('error', () => {});
  const tenantOf = new WeakMap<pg.PoolClient, string>();
  return {
    async read<T extends { tenantId: string }>(tenantId: string, sql: string, values: readonly unknown[]) {
      const client = await pool.connect();
      const send = (text: string, params: readonly unknown[]) => {
        onQuery?.(text);
        return client.query(text, params as unknown[]);
      };
      try {
        if (tenantOf.get(client) !== tenantId) {
          tenantOf.delete(client);
          await send(`SELECT set_config('app.tenant_id', $1, false)`, [tenantId]);
          tenantOf.set(client, tenantId);
        }
        const rows = ownRows(tenantId, (await send(sql, values)).rows as T[]);
        if (!rows.length) {
          const named = (await send(`SELECT current_setting('app.tenant_id', true) AS "tenantId"`, [])).rows as T[];
          ownRows(tenantId, named);
        }
        client.release();
        return rows;
      } catch (err) {
        client.release(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
    },
    close: () => pool.end(),
  };
}

/**
 * Embedded: PGlite's one connection, in a read-only transaction that names the tenant, queued
 * behind the transactions Prisma and pg-boss run on it (PGlite runs one at a time).
 */
export function pgliteReader(pglite: PGlite, onQuery?: OnQuery): RowReader {
  return {
    read<T extends { tenantId: string }>(tenantId: string, sql: string, values: readonly unknown[]) {
      const [setText, ...setValues] = settingsStatement({ tenantId });
      return pglite.transaction(async (tx) => {
        // PGlite's transaction() sends BEGIN and COMMIT itself
        onQuery?.('BEGIN');
        onQuery?.('SET TRANSACTION READ ONLY');
        await tx.query('SET TRANSACTION READ ONLY');
        onQuery?.(setText);
        await tx.query(setText, setValues);
        onQuery?.(sql);
        const { rows } = await tx.query<T>(sql, values as unknown[]);
        onQuery?.('COMMIT');
        return ownRows(tenantId, rows);
      });
    },
    close: async () => {},
  };
}
