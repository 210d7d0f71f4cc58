-- Retention of history (DATA_RETENTION, AUDIT_RETENTION: src/retention/purge.ts and windows.ts).
--
-- Indexes the purge walks to find expired rows across tenants (IF NOT EXISTS: an earlier
-- migration generated alongside may hold the same ones).
CREATE INDEX IF NOT EXISTS "AuditEntry_createdAt_idx" ON "AuditEntry"("createdAt");
CREATE INDEX IF NOT EXISTS "Event_createdAt_idx" ON "Event"("createdAt");
CREATE INDEX IF NOT EXISTS "Operation_completedAt_status_idx" ON "Operation"("completedAt", "status");
CREATE INDEX IF NOT EXISTS "WebhookDelivery_updatedAt_idx" ON "WebhookDelivery"("updatedAt");

-- Every tenant's expired rows, yet the service's role gets no way to read them: it may only call
-- icp_purge_expired, which runs as the tables' owner (SECURITY DEFINER), names the maintenance
-- task data-retention while it deletes, and deletes nothing that has not expired by the rules
-- below. The policies admit the task, and maintenance_by_owner_only keeps any other role that
-- names it out (as for operation retention). EXECUTE is the owner's alone, granted to the
-- service's role after migrating (src/db/owner.ts).
-- (No semicolons in this script but between statements: the PostgreSQL adapter splits on them.)

CREATE POLICY data_retention_read ON "Event" FOR SELECT USING (current_setting('app.maintenance', true) = 'data-retention');
CREATE POLICY data_retention ON "Event" FOR DELETE USING (current_setting('app.maintenance', true) = 'data-retention');
CREATE POLICY data_retention_read ON "WebhookDelivery" FOR SELECT USING (current_setting('app.maintenance', true) = 'data-retention');
CREATE POLICY data_retention ON "WebhookDelivery" FOR DELETE USING (current_setting('app.maintenance', true) = 'data-retention');
CREATE POLICY data_retention_read ON "DeliveryAttempt" FOR SELECT USING (current_setting('app.maintenance', true) = 'data-retention');
CREATE POLICY data_retention ON "DeliveryAttempt" FOR DELETE USING (current_setting('app.maintenance', true) = 'data-retention');
CREATE POLICY data_retention_read ON "Operation" FOR SELECT USING (current_setting('app.maintenance', true) = 'data-retention');
CREATE POLICY data_retention ON "Operation" FOR DELETE USING (current_setting('app.maintenance', true) = 'data-retention');
CREATE POLICY data_retention_read ON "OperationAttempt" FOR SELECT USING (current_setting('app.maintenance', true) = 'data-retention');
CREATE POLICY data_retention ON "OperationAttempt" FOR DELETE USING (current_setting('app.maintenance', true) = 'data-retention');
CREATE POLICY data_retention_read ON "AuditEntry" FOR SELECT USING (current_setting('app.maintenance', true) = 'data-retention');
CREATE POLICY data_retention ON "AuditEntry" FOR DELETE USING (current_setting('app.maintenance', true) = 'data-retention');

CREATE POLICY maintenance_by_owner_only ON "Event" AS RESTRICTIVE
    USING (coalesce(current_setting('app.maintenance', true), '') = ''
           OR pg_has_role(current_user, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = '"Event"'::regclass), 'MEMBER'));
CREATE POLICY maintenance_by_owner_only ON "WebhookDelivery" AS RESTRICTIVE
    USING (coalesce(current_setting('app.maintenance', true), '') = ''
           OR pg_has_role(current_user, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = '"WebhookDelivery"'::regclass), 'MEMBER'));
CREATE POLICY maintenance_by_owner_only ON "DeliveryAttempt" AS RESTRICTIVE
    USING (coalesce(current_setting('app.maintenance', true), '') = ''
           OR pg_has_role(current_user, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = '"DeliveryAttempt"'::regclass), 'MEMBER'));
CREATE POLICY maintenance_by_owner_only ON "OperationAttempt" AS RESTRICTIVE
    USING (coalesce(current_setting('app.maintenance', true), '') = ''
           OR pg_has_role(current_user, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = '"OperationAttempt"'::regclass), 'MEMBER'));
CREATE POLICY maintenance_by_owner_only ON "AuditEntry" AS RESTRICTIVE
    USING (coalesce(current_setting('app.maintenance', true), '') = ''
           OR pg_has_role(current_user, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = '"AuditEntry"'::regclass), 'MEMBER'));

-- One batch of one kind of row (what), children before parents by the caller's order: attempts
-- of expired deliveries, expired deliveries without attempts, expired events without deliveries,
-- attempts of expired operations, expired operations without attempts, expired audit entries.
-- Expired: a delivery not PENDING and unchanged for the window, an operation ended (completedAt)
-- longer ago, an event or audit entry created longer ago. How many it deleted (at most batch).
-- Timestamps are UTC without time zone, as Prisma writes them.
CREATE FUNCTION icp_delete_expired(maintenance text, what text, retention_seconds bigint, batch integer) RETURNS integer
    LANGUAGE sql VOLATILE
    SET search_path = public, pg_temp
AS $$
    WITH cutoff AS (
        SELECT (now() AT TIME ZONE 'UTC') - make_interval(secs => greatest(retention_seconds, 1)) AS at,
               least(greatest(batch, 0), 10000) AS n
    ), delivery_attempts AS (
        DELETE FROM "DeliveryAttempt" WHERE what = 'DeliveryAttempt' AND "id" IN (
            SELECT a."id" FROM "DeliveryAttempt" a JOIN "WebhookDelivery" d ON d."id" = a."deliveryId", cutoff
             WHERE d."status" <> 'PENDING' AND d."updatedAt" < cutoff.at LIMIT (SELECT n FROM cutoff))
        RETURNING 1
    ), deliveries AS (
        DELETE FROM "WebhookDelivery" WHERE what = 'WebhookDelivery' AND "id" IN (
            SELECT d."id" FROM "WebhookDelivery" d, cutoff
             WHERE d."status" <> 'PENDING' AND d."updatedAt" < cutoff.at
               AND NOT EXISTS (SELECT FROM "DeliveryAttempt" a WHERE a."deliveryId" = d."id")
             LIMIT (SELECT n FROM cutoff))
        RETURNING 1
    ), events AS (
        DELETE FROM "Event" WHERE what = 'Event' AND "id" IN (
            SELECT e."id" FROM "Event" e, cutoff
             WHERE e."createdAt" < cutoff.at
               AND NOT EXISTS (SELECT FROM "WebhookDelivery" d WHERE d."eventId" = e."id")
             LIMIT (SELECT n FROM cutoff))
        RETURNING 1
    ), operation_attempts AS (
        DELETE FROM "OperationAttempt" WHERE what = 'OperationAttempt' AND "id" IN (
            SELECT a."id" FROM "OperationAttempt" a JOIN "Operation" o ON o."id" = a."operationId", cutoff
             WHERE o."completedAt" < cutoff.at AND o."status" IN ('SUCCEEDED', 'FAILED') LIMIT (SELECT n FROM cutoff))
        RETURNING 1
    ), operations AS (
        DELETE FROM "Operation" WHERE what = 'Operation' AND "id" IN (
            SELECT o."id" FROM "Operation" o, cutoff
             WHERE o."completedAt" < cutoff.at AND o."status" IN ('SUCCEEDED', 'FAILED')
               AND NOT EXISTS (SELECT FROM "OperationAttempt" a WHERE a."operationId" = o."id")
             LIMIT (SELECT n FROM cutoff))
        RETURNING 1
    ), audit AS (
        DELETE FROM "AuditEntry" WHERE what = 'AuditEntry' AND "id" IN (
            SELECT x."id" FROM "AuditEntry" x, cutoff WHERE x."createdAt" < cutoff.at LIMIT (SELECT n FROM cutoff))
        RETURNING 1
    )
    SELECT ((SELECT count(*) FROM delivery_attempts) + (SELECT count(*) FROM deliveries) + (SELECT count(*) FROM events)
          + (SELECT count(*) FROM operation_attempts) + (SELECT count(*) FROM operations) + (SELECT count(*) FROM audit))::integer
$$;

-- The service's entry: one batch, as the owner, under the maintenance task (named, then named no
-- more, by nesting as in operation_retention), and only while no other instance runs a batch
-- (a transaction-level advisory lock: -1 when another holds it, and the caller stops its run).
CREATE FUNCTION icp_purge_expired(what text, retention_seconds bigint, batch integer) RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    SELECT CASE WHEN pg_try_advisory_xact_lock(7305066121040271616)
        THEN icp_end_maintenance(icp_delete_expired(set_config('app.maintenance', 'data-retention', true), what, retention_seconds, batch))
        ELSE -1 END
$$;

REVOKE ALL ON FUNCTION icp_delete_expired(text, text, bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION icp_purge_expired(text, bigint, integer) FROM PUBLIC;
