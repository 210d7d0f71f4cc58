/**
 * The first statement of a raw transaction rides with BEGIN and its tenant when its values can be
 * literals (src/db/raw-transaction.ts `withLiterals`): each `$n` becomes the driver's quoted
 * literal; anything else, or a placeholder without a value, is left to parameters. The values'
 * round trip through a server: test/integration/raw-transaction.test.ts.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { settingsLiteral, withLiterals } from '../../src/db/raw-transaction.ts';

const client = new pg.Client();
const quote = (value: string) => client.escapeLiteral(value);

describe('withLiterals', () => {
  it('quotes strings, numbers and booleans as PostgreSQL types text parameters, and null as NULL', () => {
    expect(withLiterals('SELECT $1, $2, $3, $4', ['a', 7, true, null], quote)).toBe(`SELECT 'a', '7', 'true', NULL`);
  });

  it('escapes quotes and backslashes, and leaves $n inside a value alone', () => {
    expect(withLiterals('SELECT $1, $2', [`it's`, '$2 \\ end'], quote)).toBe(`SELECT 'it''s',  E'$2 \\\\ end'`);
  });

  it('replaces $10 as ten, not as $1 followed by 0', () => {
    const values = Array.from({ length: 10 }, (_, i) => `v${i + 1}`);
    expect(withLiterals('SELECT $10, $1', values, quote)).toBe(`SELECT 'v10', 'v1'`);
  });

  it('leaves to parameters a value that is not a string, number, boolean or null, or a placeholder without a value', () => {
    for (const value of [new Date(0), new Uint8Array([1]), ['a'], { a: 1 }, undefined, Number.NaN, 10n]) {
      expect(withLiterals('SELECT $1', [value], quote), String(value)).toBeUndefined();
    }
    expect(withLiterals('SELECT $1, $2', ['only one'], quote)).toBeUndefined();
  });

  it('names the tenant in the settings statement as a literal', () => {
    expect(settingsLiteral({ tenantId: `t'1` }, quote)).toBe(`SELECT set_config('app.tenant_id', 't''1', true)`);
  });
});

describe('withLiterals leaves to parameters SQL where a $n might be text', () => {
  it('a string literal, a comment or a dollar quote', () => {
    for (const sql of [`SELECT '$1', $1`, 'SELECT $1 -- $1', 'SELECT /* $1 */ $1', 'SELECT $$ $1 $$, $1', 'SELECT $q$ $1 $q$, $1']) {
      expect(withLiterals(sql, ['x'], quote), sql).toBeUndefined();
    }
  });
});
