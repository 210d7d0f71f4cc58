-- Maintenance across tenants is the tables' owner's alone.
--
-- The policies that let a transaction read or write every tenant's rows (key_rotation of the
-- row_level_security migration, key_check of the key_canary migration) key on app.maintenance,
-- a setting any role can set: on its own it would let the service's role, or SQL injected into
-- it, see every tenant. These RESTRICTIVE policies are ANDed with every permissive one: a
-- transaction that names a maintenance task sees and writes nothing unless its role is (a member
-- of) the role that owns the table.
--
-- With DATABASE_MIGRATION_URL the owner is the migration role and the service's role is not
-- (src/db/owner.ts): maintenance (npm run keys:rotate, the start-up key check) runs only through
-- the owner's connection. With one role (the embedded database, or DATABASE_URL alone) the
-- service's role owns the tables and nothing changes, as an owner could drop the policies anyway.
--
-- Any other table that gets a policy naming app.maintenance needs the same policy
-- (test/row-level-security.test.ts checks). The owner lookup runs only when a maintenance task
-- is named, and once per statement.
-- (No semicolons in comments: the PostgreSQL adapter splits scripts on them.)

CREATE POLICY maintenance_by_owner_only ON "Integration" AS RESTRICTIVE
    USING (coalesce(current_setting('app.maintenance', true), '') = ''
           OR pg_has_role(current_user, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = '"Integration"'::regclass), 'MEMBER'));

CREATE POLICY maintenance_by_owner_only ON "Webhook" AS RESTRICTIVE
    USING (coalesce(current_setting('app.maintenance', true), '') = ''
           OR pg_has_role(current_user, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = '"Webhook"'::regclass), 'MEMBER'));
