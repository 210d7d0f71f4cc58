/**
 * Many rows in one `INSERT … SELECT … FROM jsonb_populate_recordset($1)`: one statement, one
 * parameter, any number of rows. Prisma 7 plans every `createMany` afresh (its query-plan cache
 * leaves `createMany` out, since the plan depends on the row count), and that planning costs more
 * CPU than the insert itself; the hot paths (the outbox's fan-out, recorded delivery attempts, the
 * audit log) use this instead.
 *
 * Rows are written as given, with keys that are column names: Prisma's client-side defaults
 * (`uuid(7)` ids, `@updatedAt`) do not apply, so the row types require them; a column a row leaves
 * out is NULL in that row (the database default applies only to columns no row names). JSON
 * carries the values, so dates go as ISO strings in UTC, which is how Prisma stores them.
 *
 * Identifiers cannot be parameters, so the statement names the table and columns in its text.
 * Neither ever comes from a caller's string: the table is one of `STATEMENTS`' constant keys, and
 * every column a row names must be one of that model's fields (Prisma's generated field list,
 * which are the column names: the schema maps none); anything else is refused, whatever the
 * types said.
 */
import { Prisma } from '../generated/prisma/client.ts';

type Stamped = { id: string; createdAt: Date; updatedAt: Date };

interface Tables {
  WebhookDelivery: Prisma.WebhookDeliveryCreateManyInput & Stamped;
  DeliveryAttempt: Prisma.DeliveryAttemptCreateManyInput & Stamped;
  AuditEntry: Prisma.AuditEntryCreateManyInput & Stamped;
}

const COLUMNS: { readonly [T in keyof Tables]: ReadonlySet<string> } = {
  WebhookDelivery: new Set(Object.values(Prisma.WebhookDeliveryScalarFieldEnum)),
  DeliveryAttempt: new Set(Object.values(Prisma.DeliveryAttemptScalarFieldEnum)),
  AuditEntry: new Set(Object.values(Prisma.AuditEntryScalarFieldEnum)),
};

/** `[sql, rowsAsJson]` for `$executeRawUnsafe`; null when there is nothing to insert. */
export function insertManyStatement<T extends keyof Tables>(table: T, rows: readonly Tables[T][]): [string, string] | null {
  if (!Object.hasOwn(COLUMNS, table)) throw new TypeError(`insertManyStatement: "${String(table)}" is not a table it writes`);
  if (!rows.length) return null;
  const allowed = COLUMNS[table];
  const names = new Set<string>();
  for (const row of rows) for (const [key, value] of Object.entries(row)) if (value !== undefined) names.add(key);
  for (const name of names) if (!allowed.has(name)) throw new TypeError(`insertManyStatement: "${name}" is not a column of ${table}`);
  const columns = [...names].map((c) => `"${c}"`).join(', ');
  return [
    `INSERT INTO "${table}" (${columns}) SELECT ${columns} FROM jsonb_populate_recordset(NULL::"${table}", $1::jsonb)`,
    JSON.stringify(rows),
  ];
}
