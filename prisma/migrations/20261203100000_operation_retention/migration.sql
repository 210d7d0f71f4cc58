-- Retention of operation payloads (OPERATION_RETENTION_DAYS, src/operations/retention.ts): the
-- input and result of operations that ended long enough ago are removed, the records stay.
--
-- Every tenant's operations, yet the service's role gets no way to read them: it may only call
-- icp_purge_operation_payloads, which runs as the tables' owner (SECURITY DEFINER), names the
-- maintenance task while it works, and does nothing but clear payloads. The policies below admit
-- the task, and maintenance_by_owner_only (the operations migration) keeps any other role that
-- names it out. Whatever the argument, nothing that ended less than a day ago is cleared. EXECUTE
-- is the owner's alone, granted to the service's role after migrating (src/db/owner.ts).
-- (No semicolons in this script but between statements: the PostgreSQL adapter splits on them,
-- which is also why each function is one SQL statement rather than PL/pgSQL.)

CREATE POLICY operation_retention_read ON "Operation" FOR SELECT
    USING (current_setting('app.maintenance', true) = 'operation-retention');

CREATE POLICY operation_retention ON "Operation" FOR UPDATE
    USING (current_setting('app.maintenance', true) = 'operation-retention')
    WITH CHECK (current_setting('app.maintenance', true) = 'operation-retention');

-- The ended operations still holding a payload: each run reads only those due.
CREATE INDEX "Operation_completedAt_unpurged_idx" ON "Operation"("completedAt") WHERE "purgedAt" IS NULL AND "completedAt" IS NOT NULL;

-- Three functions of one SQL statement each, run in this order by nesting (an argument is
-- evaluated before the call it feeds): the maintenance task is named, the due operations are
-- cleared under it, and it is named no more (set_config lasts for the caller's transaction
-- otherwise). A function's SET clause would restore it by itself, but only a superuser may
-- create one that sets app.maintenance. Each SET search_path also keeps the planner from
-- inlining them, which could reorder them.

-- How many it cleared (at most batch, in no particular order: sorting a large backlog for each
-- batch would cost more than the batch). Timestamps are UTC without time zone, as Prisma writes them.
CREATE FUNCTION icp_clear_due_operation_payloads(maintenance text, retention_days integer, batch integer) RETURNS integer
    LANGUAGE sql VOLATILE
    SET search_path = public, pg_temp
AS $$
    WITH due AS (
        SELECT "id" FROM "Operation"
         WHERE "purgedAt" IS NULL AND "completedAt" IS NOT NULL
           AND "completedAt" < (now() AT TIME ZONE 'UTC') - make_interval(days => greatest(retention_days, 1))
         LIMIT greatest(batch, 0)
         FOR UPDATE SKIP LOCKED
    ), purged AS (
        UPDATE "Operation" o
           SET "inputKeyId" = NULL, "inputDataKey" = NULL, "inputIv" = NULL, "inputTag" = NULL, "inputCiphertext" = NULL,
               "resultKeyId" = NULL, "resultDataKey" = NULL, "resultIv" = NULL, "resultTag" = NULL, "resultCiphertext" = NULL,
               "purgedAt" = now() AT TIME ZONE 'UTC', "updatedAt" = now() AT TIME ZONE 'UTC',
               "updatedBy" = 'system:operation-retention', "version" = o."version" + 1
          FROM due
         WHERE o."id" = due."id"
        RETURNING 1
    )
    SELECT count(*)::integer FROM purged
$$;

CREATE FUNCTION icp_end_maintenance(result integer) RETURNS integer
    LANGUAGE sql VOLATILE
    SET search_path = public, pg_temp
AS $$
    SELECT result FROM (SELECT set_config('app.maintenance', '', true)) ended
$$;

CREATE FUNCTION icp_purge_operation_payloads(retention_days integer, batch integer) RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    SELECT icp_end_maintenance(icp_clear_due_operation_payloads(
        set_config('app.maintenance', 'operation-retention', true), retention_days, batch))
$$;

REVOKE ALL ON FUNCTION icp_clear_due_operation_payloads(text, integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION icp_end_maintenance(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION icp_purge_operation_payloads(integer, integer) FROM PUBLIC;
