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
import type { Results, Transaction } from '@electric-sql/pglite';
import pg from 'pg';
import type { PgliteStatements } from './pglite-statements.ts';
import type { OnQuery } from './row-reader.ts';
import { type RowSecuritySettings, settingsStatement } from './row-security.ts';

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
 * The limits of Prisma's interactive transactions (src/db/database.ts), kept: a pooled connection
 * waited for at most 10 s, and a transaction (a statement, or idling between two) at most 20 s,
 * so a change stuck behind a lock fails rather than holding its connection until the pool is gone.
 */
const CONNECT_WAIT_MS = 10_000;
const BEGIN = `BEGIN; SET LOCAL statement_timeout = '20s'; SET LOCAL idle_in_transaction_session_timeout = '20s'`;

/** A client of `pool` within `ms`, or an error classified as a full pool (Prisma's P2024: a 503). */
async function connectWithin(pool: pg.Pool, ms: number): Promise<pg.PoolClient> {
  const connecting = pool.connect();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // the client that comes later goes back to the pool unused
      connecting.then(
        (late) => late.release(),
        () => {},
      );
      reject(Object.assign(new Error(`no database connection free within ${ms / 1000} s`), { code: 'P2024' }));
    }, ms);
  });
  try {
    return await Promise.race([connecting, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** pg sends a Date as local time with its offset, which a `timestamp` cast drops: UTC, as Prisma sends it. */
const asSent = (values: unknown[]) => values.map((value) => (value instanceof Date ? value.toISOString() : value));

/** The connection failure of each client this module checked out, while it is checked out. */
const failures = new WeakMap<pg.PoolClient, Error | undefined>();

/**
 * A checked-out client's socket error has no listener of pg-pool's, and one without any listener
 * ends the process; pg may emit it after the statement it failed has been rejected, even after the
 * client was released. So each client gets one listener for good (a pooled client is reused).
 */
function watchForFailure(client: pg.PoolClient): void {
  if (!failures.has(client)) client.on('error', (err: Error) => failures.set(client, failures.get(client) ?? err));
  failures.set(client, undefined);
}

/**
 * On a PostgreSQL server: a client of Prisma's own pool for the transaction. A client whose
 * connection failed is closed rather than given back to the pool.
 */
export function poolTransactions(pool: pg.Pool, onQuery?: OnQuery, connectWaitMs = CONNECT_WAIT_MS): RawTransactions {
  return {
    async run(tenantId, fn) {
      const client = await connectWithin(pool, connectWaitMs);
      watchForFailure(client);
      const quote = (value: string) => client.escapeLiteral(value);
      // BEGIN and the tenant go with the first statement, in one message when its values can be
      // literals (one round trip instead of two), else as a message of their own before it
      const begin = settingsLiteral({ tenantId }, quote);
      let begun = false;
      const send = async (sql: string, values: unknown[] = []): Promise<pg.QueryResult> => {
        if (!begun) {
          begun = true;
          onQuery?.(BEGIN);
          onQuery?.(begin);
          const inlined = withLiterals(sql, values, quote);
          if (inlined !== undefined) {
            onQuery?.(sql);
            const results = (await client.query({
              text: `${BEGIN}; ${begin}; ${inlined}`,
              types: PG_TYPES,
            })) as unknown as pg.QueryResult[];
            return results.at(-1)!;
          }
          await client.query(`${BEGIN}; ${begin}`);
        }
        onQuery?.(sql);
        return client.query({ text: sql, values: asSent(values), types: PG_TYPES });
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
        await client.query('ROLLBACK').catch((rollbackError: Error) => failures.set(client, failures.get(client) ?? rollbackError));
        throw err;
      } finally {
        client.release(failures.get(client));
      }
    },
  };
}

/**
 * `settingsStatement` with its values as literals quoted by `quote`: a statement without
 * parameters, which may share one simple-protocol message (one round trip) with BEGIN.
 */
export function settingsLiteral(settings: RowSecuritySettings, quote: (value: string) => string): string {
  const [sql, ...values] = settingsStatement(settings);
  // its text holds no string, comment or dollar quote, and its values are strings: always inlined
  return withLiterals(sql, values, quote)!;
}

/**
 * `sql` with each `$n` replaced by its value as a quoted literal, which PostgreSQL types as it
 * types a text parameter (unknown until the context gives it a type); undefined when a value is
 * not a string, number, boolean or null (those are left to the driver's serialisation), and when
 * `sql` holds a string literal, a comment or a dollar quote, where a `$n` might not be a
 * placeholder. `sql` is the code's own text; `quote` is the driver's `escapeLiteral`.
 */
export function withLiterals(sql: string, values: readonly unknown[], quote: (value: string) => string): string | undefined {
  // where a `$n` could be text rather than a placeholder (a string, a comment, a dollar quote), parameters
  if (/'|--|\/\*|\$[A-Za-z_]*\$/.test(sql)) return undefined;
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

/**
 * PGlite reads a `timestamp` as local time: read as UTC here, as Prisma maps it. The parsers are
 * merged with PGlite's once (pglite-statements.ts), not for every query as PGlite's `query` does;
 * `int8` values are made BigInts after the query.
 */
const PGLITE_OPTIONS = { parsers: { [TIMESTAMP]: utcTimestamp } };

/** Each `int8` value of `result` as a BigInt, as Prisma maps it (PGlite gives a number when it fits). */
function bigInts(result: Results<Record<string, unknown>>): Results<Record<string, unknown>> {
  const wide = result.fields.filter((f) => f.dataTypeID === INT8).map((f) => f.name);
  if (!wide.length) return result;
  for (const row of result.rows) {
    for (const name of wide) if (typeof row[name] === 'number') row[name] = BigInt(row[name] as number);
  }
  return result;
}

/**
 * Embedded: PGlite's transaction, which holds its one connection until it ends, as Prisma's
 * adapter and pg-boss's statements wait for it; its statements prepared (pglite-statements.ts).
 */
export function pgliteTransactions(statements: PgliteStatements, onQuery?: OnQuery): RawTransactions {
  return {
    run(tenantId, fn) {
      onQuery?.('BEGIN');
      return statements.pglite
        .transaction(async (tx: Transaction) => {
          const send = async (sql: string, values: unknown[] = []) => {
            onQuery?.(sql);
            return bigInts(await statements.inTransaction<Record<string, unknown>>(tx, sql, values, PGLITE_OPTIONS));
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
