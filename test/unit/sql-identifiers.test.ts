/**
 * The two helpers that put identifiers into SQL text (src/db/insert-many.ts, src/db/lock.ts) take
 * only constants: a table or column name that is not one of theirs is refused at run time, even
 * when a caller's types were bypassed, so no string from outside can become SQL.
 */
import { describe, expect, it } from 'vitest';
import { insertManySql, insertManyStatement } from '../../src/db/insert-many.ts';
import { lockForUpdate } from '../../src/db/lock.ts';

const now = new Date('2026-01-01T00:00:00Z');
const entry = { id: 'a1', tenantId: 't', via: 'jwt', operation: 'op', outcome: 'ok', createdAt: now, updatedAt: now };

describe('insertManyStatement', () => {
  it('names the table and exactly the columns the rows carry', () => {
    const [sql, json] = insertManyStatement('AuditEntry', [entry])!;
    expect(sql).toBe(
      'INSERT INTO "AuditEntry" ("id", "tenantId", "via", "operation", "outcome", "createdAt", "updatedAt") ' +
        'SELECT "id", "tenantId", "via", "operation", "outcome", "createdAt", "updatedAt" FROM jsonb_populate_recordset(NULL::"AuditEntry", $1::jsonb)',
    );
    expect(JSON.parse(json)).toEqual([{ ...entry, createdAt: now.toISOString(), updatedAt: now.toISOString() }]);
    expect(insertManyStatement('AuditEntry', [])).toBeNull();
  });

  it('refuses a key that is not a column of the table, as from a spread input', () => {
    for (const key of ['"); DROP TABLE "ApiKey"; --', 'secretHash', 'nope', '__proto__']) {
      const row = JSON.parse(JSON.stringify({ ...entry, [key]: 'x' }));
      expect(() => insertManyStatement('AuditEntry', [row]), key).toThrow(/is not a column of AuditEntry/);
    }
    // a column of another table is not one of this one's
    expect(() => insertManyStatement('DeliveryAttempt', [{ ...entry } as never])).toThrow(/"via" is not a column of DeliveryAttempt/);
  });

  it('puts the rows in the placeholder given, and takes nothing else for one', () => {
    expect(insertManySql('AuditEntry', [entry], '$12')).toMatch(/jsonb_populate_recordset\(NULL::"AuditEntry", \$12::jsonb\)$/);
    for (const placeholder of ['$0', '$01', '$1 ', '$1; DROP TABLE "ApiKey"', "'x'", '', '$']) {
      expect(() => insertManySql('AuditEntry', [entry], placeholder), placeholder).toThrow(/is not a placeholder/);
    }
  });

  it('refuses a table it does not write', () => {
    for (const table of ['ApiKey', 'AuditEntry" CASCADE; --', 'constructor', 'toString']) {
      expect(() => insertManyStatement(table as never, [entry as never]), table).toThrow(/is not a table it writes/);
    }
  });
});

describe('lockForUpdate', () => {
  function recorder() {
    const statements: { sql: string; values: unknown[] }[] = [];
    return {
      statements,
      tx: {
        $executeRawUnsafe: async (sql: string, ...values: unknown[]) => {
          statements.push({ sql, values });
          return 0;
        },
      } as never,
    };
  }

  it('sends the constant statement of the table, with the id and tenant as parameters', async () => {
    const { tx, statements } = recorder();
    await lockForUpdate(tx, 'Webhook', 'tenant-a', 'wh_1');
    expect(statements).toEqual([
      { sql: 'SELECT 1 FROM "Webhook" WHERE "id" = $1 AND "tenantId" = $2 FOR UPDATE', values: ['wh_1', 'tenant-a'] },
    ]);
  });

  it('refuses any other table name and sends nothing', async () => {
    const { tx, statements } = recorder();
    for (const table of ['ApiKey', 'Integration" WHERE true; --', 'constructor', 'hasOwnProperty']) {
      await expect(lockForUpdate(tx, table as never, 'tenant-a', 'x'), table).rejects.toThrow(/is not a table it locks/);
    }
    expect(statements).toEqual([]);
  });
});
