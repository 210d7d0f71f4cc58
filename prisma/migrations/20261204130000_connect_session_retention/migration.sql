-- Expired connect sessions leave with the rest of the history: one that expired longer than
-- DATA_RETENTION ago is deleted by the retention purge (its token has authenticated nothing since
-- it expired, and what it wrote keeps connect:<id> in createdBy and updatedBy). The same
-- maintenance task as the data_retention migration, the same owner-only restriction, and
-- icp_delete_expired with one more kind of row ('ConnectSession').
-- (No semicolons in this script but between statements: the PostgreSQL adapter splits on them.)

CREATE POLICY data_retention_read ON "ConnectSession" FOR SELECT USING (current_setting('app.maintenance', true) = 'data-retention');
CREATE POLICY data_retention ON "ConnectSession" FOR DELETE USING (current_setting('app.maintenance', true) = 'data-retention');
CREATE POLICY maintenance_by_owner_only ON "ConnectSession" AS RESTRICTIVE
    USING (coalesce(current_setting('app.maintenance', true), '') = ''
           OR pg_has_role(current_user, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = '"ConnectSession"'::regclass), 'MEMBER'));

CREATE OR REPLACE FUNCTION icp_delete_expired(maintenance text, what text, retention_seconds bigint, batch integer) RETURNS integer
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
        RETURNING 1    ), connect_sessions AS (
        DELETE FROM "ConnectSession" WHERE what = 'ConnectSession' AND "id" IN (
            SELECT s."id" FROM "ConnectSession" s, cutoff WHERE s."expiresAt" < cutoff.at LIMIT (SELECT n FROM cutoff))
        RETURNING 1
    )
    SELECT ((SELECT count(*) FROM delivery_attempts) + (SELECT count(*) FROM deliveries) + (SELECT count(*) FROM events)
          + (SELECT count(*) FROM operation_attempts) + (SELECT count(*) FROM operations) + (SELECT count(*) FROM audit)
          + (SELECT count(*) FROM connect_sessions))::integer
$$;
