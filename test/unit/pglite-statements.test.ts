/**
 * Prepared statements on PGlite (src/db/pglite-statements.ts), against PGlite itself: the same
 * results as `pglite.query`, each text prepared once, the statements kept bounded, failures as
 * PGlite's own, a statement whose table changed prepared again, and PGlite's locks kept (a
 * statement outside a transaction waits for it).
 */
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { PgliteStatements } from '../../src/db/pglite-statements.ts';

let pglite: PGlite;
let statements: PgliteStatements;

const TEXT_ARRAY_TYPE = 1009;

beforeAll(async () => {
  pglite = new PGlite();
  await pglite.waitReady;
});

afterAll(() => pglite?.close());

beforeEach(async () => {
  await pglite.exec(`
    DEALLOCATE ALL;
    DROP TABLE IF EXISTS t;
    CREATE TABLE t (id text PRIMARY KEY, n int8, doc jsonb, tags text[], at timestamp(3), bytes bytea, note text);
    INSERT INTO t VALUES ('a', 9007199254740993, '{"x": [1, "y"]}', '{p,q}', '2026-12-04 01:02:03.456', '\\x0102ff', NULL);
  `);
  statements = new PgliteStatements(pglite);
});

/** The named statements the backend holds now, by text. */
async function held(): Promise<string[]> {
  const rows = await pglite.query<{ statement: string }>(
    'SELECT statement FROM pg_prepared_statements WHERE NOT from_sql ORDER BY statement',
  );
  return rows.rows.map((r) => r.statement);
}

it('gives the rows, fields and counts pglite.query gives, in both row modes and with parsers of the query', async () => {
  const read = 'SELECT * FROM t WHERE id = $1 AND tags = $2';
  const values = ['a', ['p', 'q']];
  expect(await statements.query(read, values)).toEqual(await pglite.query(read, values));
  expect(await statements.query(read, values, { rowMode: 'array' })).toEqual(await pglite.query(read, values, { rowMode: 'array' }));
  const parsers = { [TEXT_ARRAY_TYPE]: (text: string) => `tags ${text}` };
  const parsed = await statements.query<{ tags: string }>(read, values, { parsers });
  expect(parsed.rows[0]!.tags).toBe('tags {p,q}');
  expect(parsed).toEqual(await pglite.query(read, values, { parsers }));

  // parameters serialised by their inferred types: JSON, an array, an instant, bytes, a null
  const write = 'INSERT INTO t (id, n, doc, tags, at, bytes, note) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *';
  const row = ['b', 12, { k: ['v', 2] }, ['x', 'y z'], new Date('2026-12-04T05:06:07.089Z'), new Uint8Array([0, 255]), null];
  const ours = await statements.query(write, row);
  const theirs = await pglite.query(write, ['c', ...row.slice(1)]);
  expect({ ...ours, rows: ours.rows.map((r) => ({ ...(r as object), id: 'c' })) }).toEqual(theirs);
  expect(ours.affectedRows).toBe(1);

  const update = await statements.query('UPDATE t SET note = $1 WHERE id <> $2', ['seen', 'zzz']);
  expect(update.affectedRows).toBe(3);
  expect(update.rows).toEqual([]);
});

it('prepares each text once, and keeps no more statements than its limit, the least recently used out first', async () => {
  const bounded = new PgliteStatements(pglite, 2);
  for (let i = 0; i < 3; i++) expect((await bounded.query('SELECT id FROM t WHERE id = $1', ['a'])).rows).toEqual([{ id: 'a' }]);
  expect(await held()).toEqual(['SELECT id FROM t WHERE id = $1']);

  await bounded.query('SELECT 1 AS one');
  await bounded.query('SELECT 2 AS two');
  await bounded.query('SELECT 1 AS one');
  await bounded.query('SELECT 3 AS three');
  expect(bounded.size).toBe(2);
  // the statements dropped are closed with the next message sent: "two" was used least recently
  await bounded.query('SELECT 3 AS three');
  expect(await held()).toEqual(['SELECT 1 AS one', 'SELECT 3 AS three']);
});

it('fails as PGlite does, and the statement and the connection stay usable', async () => {
  const insert = 'INSERT INTO t (id) VALUES ($1)';
  await expect(statements.query(insert, ['a'])).rejects.toMatchObject({ code: '23505', constraint: 't_pkey' });
  await expect(statements.query('SELEC 1')).rejects.toMatchObject({ code: '42601' });
  expect(statements.size).toBe(1);

  await expect(
    pglite.transaction(async (tx) => {
      await statements.inTransaction(tx, insert, ['d']);
      await statements.inTransaction(tx, insert, ['a']);
    }),
  ).rejects.toMatchObject({ code: '23505' });
  // rolled back as a whole; the statement is still held and still works
  expect((await statements.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 1 }]);
  expect((await statements.query(insert, ['e'])).affectedRows).toBe(1);
  expect(await held()).toContain(insert);
});

it('prepares a statement again once its table changed under it, and after forget()', async () => {
  const all = 'SELECT * FROM t WHERE id = $1';
  await statements.query(all, ['a']);
  await pglite.exec('ALTER TABLE t ADD COLUMN extra int DEFAULT 7');
  // PostgreSQL refuses the kept statement at Bind (its columns changed): prepared again and sent again
  expect((await statements.query<{ extra: number }>(all, ['a'])).rows[0]!.extra).toBe(7);
  expect(await held()).toEqual([all]);

  // within a transaction the refusal fails the statement, and its transaction; the next use prepares it again
  await pglite.exec('ALTER TABLE t DROP COLUMN extra');
  await expect(pglite.transaction((tx) => statements.inTransaction(tx, all, ['a']))).rejects.toMatchObject({ code: '0A000' });
  const again = await pglite.transaction((tx) => statements.inTransaction<object>(tx, all, ['a']));
  expect(Object.keys(again.rows[0]!)).not.toContain('extra');

  await pglite.exec('ALTER TABLE t ADD COLUMN later int DEFAULT 8');
  statements.forget();
  expect((await pglite.transaction((tx) => statements.inTransaction<{ later: number }>(tx, all, ['a']))).rows[0]!.later).toBe(8);
  expect(await held()).toEqual([all]);
});

it('sends a statement once when it fails as it runs, whatever its SQLSTATE', async () => {
  // "feature not supported" raised by the statement itself, not the plan cache's refusal: no retry
  await pglite.exec(`
    DROP SEQUENCE IF EXISTS calls;
    CREATE SEQUENCE calls;
    CREATE OR REPLACE FUNCTION refuse(n int) RETURNS int LANGUAGE plpgsql AS $$
      BEGIN PERFORM nextval('calls'); RAISE EXCEPTION 'not supported' USING ERRCODE = '0A000'; END $$;
  `);
  for (let i = 0; i < 2; i++) await expect(statements.query('SELECT refuse($1)', [i])).rejects.toMatchObject({ code: '0A000' });
  expect((await pglite.query<{ n: number }>('SELECT last_value::int AS n FROM calls')).rows).toEqual([{ n: 2 }]);
  expect(await held()).toEqual(['SELECT refuse($1)']);
});

it('waits for a transaction in progress outside it, and refuses a transaction that ended', async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let ended: Transaction | undefined;
  const writing = pglite.transaction(async (tx) => {
    ended = tx;
    await statements.inTransaction(tx, 'INSERT INTO t (id) VALUES ($1)', ['f']);
    await held;
  });
  let counted = false;
  const count = statements.query<{ n: number }>('SELECT count(*)::int AS n FROM t').finally(() => {
    counted = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  // still waiting for the transaction's end (on the one connection it would have run inside it)
  expect(counted).toBe(false);
  release();
  await writing;
  // it ran after the commit: it sees the row
  expect((await count).rows).toEqual([{ n: 2 }]);
  await expect(statements.inTransaction(ended!, 'SELECT 1')).rejects.toThrow('Transaction is closed');
});
