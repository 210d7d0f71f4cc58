/**
 * Row-security transactions of raw statements on the connections Prisma uses, without Prisma's
 * client (issue #18): for the hottest writes, whose statements are all raw SQL already. An
 * interactive Prisma transaction costs about 0.5 ms of CPU for BEGIN, `set_config` and three
 * statements, a plain `pg` client 0.1 ms (docs/performance.md). The same `set_config` statement
 * starts each one (row-security.ts), so the policies see one tenant exactly as in Prisma's.
 *
 * Rows come back as Prisma maps a raw row: `timestamp` columns as Dates in UTC (both drivers would
 * read them as local time), `bytea` as Uint8Array, `int8` as BigInt; the rest as both drivers
 * parse them (test/integration/update-statements.test.ts compares rows with `findUnique`'s).
 */
import type { PGlite, Transaction } from '@electric-sql/pglite';
import pg from 'pg';
import { settingsLiteral, settingsStatement } from './row-security.ts';

/** The raw half of Prisma's client, as a transaction here offers it. */
export interface RawTx {
  $queryRawUnsafe<T = unknown>(sql: string, ...values: unknown[]): Promise<T>;
  $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number>;
}

export interface RawTransactions {
  /**
   * `fn`'s statements in one transaction in which row-level security shows `tenantId`'s rows only;
   * rolled back when `fn` throws.
   */
  run<T>(tenantId: string, fn: (tx: RawTx) => Promise<T>): Promise<T>;
}

/** Hears each statement sent, transaction control included (benchmarks and tests count them). */
type OnQuery = ((sql: string) => void) | undefined;

const TIMESTAMP = 1114;
const BYTEA = 17;
const INT8 = 20;

/** `2026-12-04 01:02:03.456` (a timestamp column, written in UTC) as that instant. */
const utcTimestamp = (text: string) => new Date(`${text.replace(' ', 'T')}Z`);

const parseBytea = pg.types.getTypeParser(BYTEA) as (text: string) => Buffer;

/** pg's parsers, but for the three types Prisma maps otherwise. */
const PG_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TIMESTAMP) return utcTimestamp;
    if (oid === BYTEA) return (text: string) => new Uint8Array(parseBytea(text));
    if (oid === INT8) return (text: string) => BigInt(text);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/**
 * On a PostgreSQL server: a client of Prisma's own pool for the transaction. A client whose
 * connection failed is closed rather than given back to the pool.
 */
export function poolTransactions(pool: pg.Pool, onQuery?: OnQuery): RawTransactions {
  return {
    async run(tenantId, fn) {
      const client = await pool.connect();
      // a checked-out client's socket error has no other listener: it would end the process
      let failed: Error | undefined;
      const onError = (err: Error) => (failed ??= err);
      client.on('error', onError);
      const quote = (value: string) => client.escapeLiteral(value);
      // BEGIN and the tenant go with the first statement, in one message when its values can be
      // literals (one round trip instead of two), else as a message of their own before it
      const begin = settingsLiteral({ tenantId }, quote);
      let begun = false;
      const send = async (sql: string, values: unknown[] = []): Promise<pg.QueryResult> => {
        if (!begun) {
          begun = true;
          onQuery?.('BEGIN');
          onQuery?.(begin);
          const inlined = withLiterals(sql, values, quote);
          if (inlined !== undefined) {
            onQuery?.(sql);
            const results = (await client.query({ text: `BEGIN; ${begin}; ${inlined}`, types: PG_TYPES })) as unknown as pg.QueryResult[];
            return results.at(-1)!;
          }
          await client.query(`BEGIN; ${begin}`);
        }
        onQuery?.(sql);
        return client.query({ text: sql, values, types: PG_TYPES });
      };
      try {
        const result = await fn({
          $queryRawUnsafe: async <T>(sql: string, ...values: unknown[]) => (await send(sql, values)).rows as T,
          $executeRawUnsafe: async (sql: string, ...values: unknown[]) => (await send(sql, values)).rowCount ?? 0,
        });
        // work that sent no statement opened no transaction
        if (begun) await send('COMMIT');
        return result;
      } catch (err) {
        if (!begun) throw err;
        // ended at once (a failed statement aborted it anyway); a rollback that fails marks the connection broken
        onQuery?.('ROLLBACK');
        await client.query('ROLLBACK').catch((rollbackError: Error) => (failed ??= rollbackError));
        throw err;
      } finally {
        client.off('error', onError);
        client.release(failed);
      }
    },
  };
}

/**
 * `sql` with each `$n` replaced by its value as a quoted literal, which PostgreSQL types as it
 * types a text parameter (unknown until the context gives it a type); undefined when a value is
 * not a string, number, boolean or null (those are left to the driver's serialisation). `sql` is
 * the code's own text, whose only `$n` are placeholders; `quote` is the driver's `escapeLiteral`.
 */
export function withLiterals(sql: string, values: readonly unknown[], quote: (value: string) => string): string | undefined {
  const literals: string[] = [];
  for (const value of values) {
    if (value === null) literals.push('NULL');
    else if (typeof value === 'string') literals.push(quote(value));
    else if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') literals.push(quote(String(value)));
    else return undefined;
  }
  let missing = false;
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => literals[Number(n) - 1] ?? ((missing = true), ''));
  return missing ? undefined : text;
}

const PGLITE_PARSERS = {
  [TIMESTAMP]: utcTimestamp,
  [INT8]: (text: string) => BigInt(text),
};

/**
 * Embedded: PGlite's transaction, which holds its one connection until it ends, as Prisma's
 * adapter and pg-boss's statements wait for it.
 */
export function pgliteTransactions(pglite: PGlite, onQuery?: OnQuery): RawTransactions {
  return {
    run(tenantId, fn) {
      onQuery?.('BEGIN');
      return pglite
        .transaction(async (tx: Transaction) => {
          const send = async (sql: string, values: unknown[] = []) => {
            onQuery?.(sql);
            return tx.query(sql, values, { parsers: PGLITE_PARSERS });
          };
          const [settings, ...names] = settingsStatement({ tenantId });
          await send(settings, names);
          const result = await fn({
            $queryRawUnsafe: async <T>(sql: string, ...values: unknown[]) => (await send(sql, values)).rows as T,
            $executeRawUnsafe: async (sql: string, ...values: unknown[]) => (await send(sql, values)).affectedRows ?? 0,
          });
          onQuery?.('COMMIT');
          return result;
        })
        .catch((err: unknown) => {
          onQuery?.('ROLLBACK');
          throw err;
        });
    },
  };
}
