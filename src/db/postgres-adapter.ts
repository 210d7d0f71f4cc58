/**
 * Prisma's PostgreSQL driver adapter, with migration scripts sent whole. @prisma/adapter-pg 7
 * splits a script on every semicolon, which cuts dollar-quoted PL/pgSQL (functions, `DO` blocks)
 * apart; one simple-protocol query runs every statement of the script as the server parses it,
 * in one implicit transaction, so a migration that fails leaves nothing half done.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';

export class PostgresAdapterFactory extends PrismaPg {
  /** The last script's failure, SQL state and message (the schema engine's own error names neither). */
  lastScriptError?: string;
  /** The pool Prisma's adapter opened, once it connected: row-reader.ts reads on it too. */
  pool?: pg.Pool;

  override async connect() {
    const adapter = await super.connect();
    const pool = adapter.underlyingDriver() as pg.Pool;
    this.pool = pool;
    // the adapter's own mapping of driver errors to Prisma's (a migration's failure names its SQL state)
    const fail = (adapter as unknown as { onError(error: unknown): never }).onError.bind(adapter);
    adapter.executeScript = async (script: string) => {
      try {
        await pool.query(script);
      } catch (error) {
        this.lastScriptError = scriptError(error);
        fail(error);
      }
    };
    return adapter;
  }
}

/** A driver error as SQL state and message: no detail (it can quote row values) and no statement. */
export function scriptError(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return `${typeof code === 'string' ? `${code} ` : ''}${typeof message === 'string' ? message : String(error)}`;
}
