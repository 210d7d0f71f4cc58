/**
 * Named prepared statements on PGlite's one connection (issue #18). PGlite's `query` parses,
 * plans and describes every statement anew, in six calls into its WebAssembly backend: a
 * primary-key read costs about 0.3 ms of CPU. Here a statement is parsed, analysed and described
 * once per text and kept; each use binds and executes it in one call, and after five uses
 * PostgreSQL keeps a generic plan when it costs no more than the custom ones (plan_cache_mode
 * auto): about 0.13 ms for the same read (docs/performance.md, "Prepared statements on PGlite").
 *
 * Only on PGlite: its connection is this process's own, so a named statement cannot meet a
 * transaction pooler, the reason a server's connections do not use them.
 *
 * Values are serialised by the parameter types PostgreSQL inferred when the statement was parsed,
 * with PGlite's own serialisers, and rows are parsed by its parsers: the results are those of
 * `pglite.query` (its errors lack the `query` and `params` PGlite adds; nothing reads them). The
 * statements kept are bounded (least recently used first out, closed in the next message sent). A statement PostgreSQL no longer accepts as it was prepared (a table's
 * columns changed under `SELECT *`: 0A000; deallocated: 26000) is dropped and prepared again: at
 * once outside a transaction (PostgreSQL refuses it at Bind, before anything runs); within one,
 * on its next use, the call failing as a statement in a transaction fails (the service changes
 * its schema only in migrations, before it serves).
 *
 * It relies on PGlite's documented protocol methods (`execProtocolStream`, `protocol.serialize`,
 * `parse`) and on its locks (`_runExclusiveQuery`, `_runExclusiveTransaction`), which its own
 * `query` takes: test/unit/pglite-statements.test.ts runs them against PGlite itself.
 */
import { type PGlite, parse, protocol, type QueryOptions, type Results, type Transaction } from '@electric-sql/pglite';

type Parsers = PGlite['parsers'];

interface Prepared {
  name: string;
  /** The parameter types PostgreSQL inferred, in order. */
  types: number[];
}

/**
 * A kept statement PostgreSQL refuses at Bind, before anything ran: its result columns changed
 * (0A000 from the plan cache's revalidation, not any "feature not supported"), or it is gone.
 */
const STALE: Record<string, string> = { '0A000': 'RevalidateCachedQuery', '26000': 'FetchPreparedStatement' };

function isStale(err: unknown): boolean {
  const { code, routine } = (err ?? {}) as { code?: unknown; routine?: unknown };
  return typeof code === 'string' && STALE[code] !== undefined && STALE[code] === routine;
}

/** Each instance's statements are named apart (a second instance on one PGlite: tests). */
let instances = 0;

/** The statements kept by default: the service's hot statements are a few dozen. */
const DEFAULT_LIMIT = 256;

const { serialize } = protocol;

export class PgliteStatements {
  /** By text, in order of last use (a Map keeps insertion order). */
  private readonly prepared = new Map<string, Prepared>();
  /** Statements dropped from `prepared` and not yet closed in the backend. */
  private closing: string[] = [];
  private count = 0;
  private readonly prefix = `icp_${++instances}_`;
  /**
   * PGlite's parsers with a query's own (`options.parsers`), merged once per parsers object: PGlite
   * adds to its own only in `refreshArrayTypes`, after an extension's types (the service loads none).
   */
  private readonly merged = new WeakMap<Parsers, Parsers>();

  private readonly limit: number;

  constructor(
    readonly pglite: PGlite,
    limit = DEFAULT_LIMIT,
  ) {
    this.limit = Math.max(1, limit);
  }

  /** As `pglite.query`: waits for a transaction in progress, then runs on its own. */
  async query<T>(sql: string, values: readonly unknown[] = [], options?: QueryOptions): Promise<Results<T>> {
    if (options?.blob || options?.paramTypes) return this.pglite.query<T>(sql, values as unknown[], options);
    await this.pglite._checkReady();
    return this.pglite._runExclusiveTransaction(() =>
      this.pglite._runExclusiveQuery(async () => {
        // refused as stale at Bind, nothing ran: prepared again and sent once more
        const results = await this.send<T>(sql, values, options, true);
        await this.pglite.syncToFs();
        return results;
      }),
    );
  }

  /** As `tx.query`, within PGlite's transaction `tx`. */
  async inTransaction<T>(tx: Transaction, sql: string, values: readonly unknown[] = [], options?: QueryOptions): Promise<Results<T>> {
    if (options?.blob || options?.paramTypes) return tx.query<T>(sql, values as unknown[], options);
    if (tx.closed) throw new Error('Transaction is closed');
    return this.pglite._runExclusiveQuery(() => this.send<T>(sql, values, options, false));
  }

  /**
   * Drops every statement kept (closed in the next message): after a change of the schema, so
   * that no statement is kept across it.
   */
  forget(): void {
    for (const { name } of this.prepared.values()) this.closing.push(name);
    this.prepared.clear();
  }

  /** The statements kept now (tests). */
  get size(): number {
    return this.prepared.size;
  }

  /** `sql` bound and executed; a kept statement refused as stale is dropped, and with `retry` prepared and sent again. */
  private async send<T>(sql: string, values: readonly unknown[], options: QueryOptions | undefined, retry: boolean): Promise<Results<T>> {
    const kept = this.prepared.get(sql);
    const statement = kept ?? (await this.prepare(sql, options?.onNotice));
    // most recently used last
    this.prepared.delete(sql);
    this.prepared.set(sql, statement);
    const serializers = this.pglite.serializers;
    const text = values.map((value, i) => {
      if (value == null) return null;
      const type = statement.types[i]!;
      const serializer = options?.serializers?.[type] ?? serializers[type];
      return serializer ? serializer(value) : String(value);
    });
    let messages: Awaited<ReturnType<PGlite['execProtocolStream']>>;
    try {
      messages = await this.exec(
        [
          serialize.bind({ statement: statement.name, values: text }),
          serialize.describe({ type: 'P' }),
          serialize.execute({}),
          serialize.sync(),
        ],
        options?.onNotice,
      );
    } catch (err) {
      if (!kept || !isStale(err) || this.prepared.get(sql) !== statement) throw err;
      this.prepared.delete(sql);
      this.closing.push(statement.name);
      if (!retry) throw err;
      return this.send<T>(sql, values, options, false);
    }
    // the parsers merged here, once: given a query's own, `parseResults` would copy PGlite's (some 300) every time
    const rowMode = options?.rowMode ? { rowMode: options.rowMode } : undefined;
    return parse.parseResults(messages, this.parsers(options), rowMode)[0] as Results<T>;
  }

  /** Parses and describes `sql` as a named statement, making room for it (`send` keeps it). */
  private async prepare(sql: string, onNotice: QueryOptions['onNotice']): Promise<Prepared> {
    while (this.prepared.size >= this.limit) {
      const [oldest, { name }] = this.prepared.entries().next().value as [string, Prepared];
      this.prepared.delete(oldest);
      this.closing.push(name);
    }
    const name = `${this.prefix}${++this.count}`;
    const messages = await this.exec(
      [serialize.parse({ name, text: sql }), serialize.describe({ type: 'S', name }), serialize.sync()],
      onNotice,
    );
    return { name, types: parse.parseDescribeStatementResults(messages) };
  }

  /** `parts` in one call into the backend, after closing the statements dropped since the last. */
  private exec(parts: Uint8Array[], onNotice?: QueryOptions['onNotice']) {
    const closes = this.closing.map((name) => serialize.close({ type: 'S', name }));
    this.closing = [];
    return this.pglite.execProtocolStream(Buffer.concat([...closes, ...parts]), { syncToFs: false, onNotice });
  }

  private parsers(options: QueryOptions | undefined): Parsers {
    const own = options?.parsers as Parsers | undefined;
    if (!own) return this.pglite.parsers;
    let merged = this.merged.get(own);
    if (!merged) {
      merged = { ...this.pglite.parsers, ...own };
      this.merged.set(own, merged);
    }
    return merged;
  }
}
