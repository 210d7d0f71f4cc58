/**
 * Many rows in one `INSERT … SELECT … FROM jsonb_populate_recordset($1)` for the hot paths (outbox
 * events and fan-out, delivery and operation attempts, audit log): Prisma plans every `createMany`
 * afresh, at more CPU than the insert (docs/design-notes.md). Rows go as given: no Prisma
 * client-side defaults (the row types require ids and `updatedAt`), a column a row leaves out is
 * NULL in it, dates are ISO strings in UTC. Table and column names come only from fixed lists
 * (docs/security-model.md).
 */
import { Prisma } from '../generated/prisma/client.ts';

type Stamped = { id: string; createdAt: Date; updatedAt: Date };

interface Tables {
  WebhookDelivery: Prisma.WebhookDeliveryCreateManyInput & Stamped;
  DeliveryAttempt: Prisma.DeliveryAttemptCreateManyInput & Stamped;
  AuditEntry: Prisma.AuditEntryCreateManyInput & Stamped;
  Event: Prisma.EventCreateManyInput & Stamped;
  OperationAttempt: Prisma.OperationAttemptCreateManyInput & Stamped;
}

const COLUMNS: { readonly [T in keyof Tables]: ReadonlySet<string> } = {
  WebhookDelivery: new Set(Object.values(Prisma.WebhookDeliveryScalarFieldEnum)),
  DeliveryAttempt: new Set(Object.values(Prisma.DeliveryAttemptScalarFieldEnum)),
  AuditEntry: new Set(Object.values(Prisma.AuditEntryScalarFieldEnum)),
  Event: new Set(Object.values(Prisma.EventScalarFieldEnum)),
  OperationAttempt: new Set(Object.values(Prisma.OperationAttemptScalarFieldEnum)),
};

/** `[sql, rowsAsJson]` for `$executeRawUnsafe`; null when there is nothing to insert. */
export function insertManyStatement<T extends keyof Tables>(table: T, rows: readonly Tables[T][]): [string, string] | null {
  if (!rows.length) return null;
  return [insertManySql(table, rows, '$1'), JSON.stringify(rows)];
}

/**
 * The SQL of `insertManyStatement` alone, the rows in the parameter `placeholder` (`$n`): for a
 * statement that holds the INSERT among parameters of its own, the rows serialised once.
 */
export function insertManySql<T extends keyof Tables>(table: T, rows: readonly Tables[T][], placeholder: string): string {
  if (!Object.hasOwn(COLUMNS, table)) throw new TypeError(`insertManyStatement: "${String(table)}" is not a table it writes`);
  if (!/^\$[1-9][0-9]*$/.test(placeholder)) throw new TypeError(`insertManyStatement: "${placeholder}" is not a placeholder`);
  const allowed = COLUMNS[table];
  const names = new Set<string>();
  for (const row of rows) for (const [key, value] of Object.entries(row)) if (value !== undefined) names.add(key);
  for (const name of names) if (!allowed.has(name)) throw new TypeError(`insertManyStatement: "${name}" is not a column of ${table}`);
  const columns = [...names].map((c) => `"${c}"`).join(', ');
  return `INSERT INTO "${table}" (${columns}) SELECT ${columns} FROM jsonb_populate_recordset(NULL::"${table}", ${placeholder}::jsonb)`;
}
