/**
 * The embedded database's bootstrap (src/db/database.ts), run as PGlite's superuser: it makes the
 * service role and hands it what data directories of earlier versions hold (tables, enums,
 * functions and the queue's schema, all owned by the superuser then), so the service can open
 * them as that role. Idempotent.
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EMBEDDED_BOOTSTRAP } from '../../src/db/database.ts';
import { APP_ROLE } from '../../src/db/row-security.ts';

let pglite: PGlite;

beforeAll(async () => {
  pglite = new PGlite();
  await pglite.waitReady;
  // as an earlier version left it: everything belongs to the bootstrap superuser
  await pglite.exec(`
    CREATE TYPE "Status" AS ENUM ('ACTIVE', 'INACTIVE');
    CREATE TABLE "Thing" ("id" TEXT PRIMARY KEY, "status" "Status", "n" SERIAL);
    CREATE SEQUENCE "loose_seq";
    CREATE SCHEMA pgboss;
    CREATE TABLE pgboss.job ("id" UUID, "name" TEXT) PARTITION BY LIST ("name");
    CREATE TABLE pgboss.j1 PARTITION OF pgboss.job FOR VALUES IN ('q');
    CREATE FUNCTION pgboss.create_queue(name text) RETURNS void AS $$ BEGIN END $$ LANGUAGE plpgsql;
  `);
});

afterAll(() => pglite?.close());

it('hands the schemas and every object in them to the service role, twice without error', async () => {
  await pglite.exec(EMBEDDED_BOOTSTRAP);
  await pglite.exec(EMBEDDED_BOOTSTRAP);
  const owners = await pglite.query<{ object: string; owner: string }>(`
    SELECT n.nspname || '.' || c.relname AS object, pg_get_userbyid(c.relowner) AS owner
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('public', 'pgboss') AND c.relkind IN ('r', 'p', 'S')
    UNION ALL SELECT 'type ' || typname, pg_get_userbyid(typowner) FROM pg_type WHERE typname = 'Status'
    UNION ALL SELECT 'function ' || proname, pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'create_queue'
    UNION ALL SELECT 'schema ' || nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname IN ('public', 'pgboss')
     ORDER BY 1`);
  expect(owners.rows.map((r) => r.object)).toEqual([
    'function create_queue',
    'pgboss.j1',
    'pgboss.job',
    'public.Thing',
    'public.Thing_n_seq',
    'public.loose_seq',
    'schema pgboss',
    'schema public',
    'type Status',
  ]);
  for (const row of owners.rows) expect(row, row.object).toEqual({ object: row.object, owner: APP_ROLE });
});

it('makes a role that is neither superuser nor BYPASSRLS, and can work as it', async () => {
  const role = await pglite.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
    `SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1`,
    [APP_ROLE],
  );
  expect(role.rows).toEqual([{ rolsuper: false, rolbypassrls: false }]);
  await pglite.exec(`SET ROLE ${APP_ROLE}`);
  await pglite.exec(
    `INSERT INTO "Thing" ("id", "status") VALUES ('a', 'ACTIVE'); CREATE TABLE pgboss.j2 PARTITION OF pgboss.job FOR VALUES IN ('r')`,
  );
  expect((await pglite.query(`SELECT current_user AS who`)).rows).toEqual([{ who: APP_ROLE }]);
  await pglite.exec('RESET ROLE');
});
