-- The first page of a tenant's webhooks in one statement, read without Prisma's client
-- (src/webhooks/first-page.ts), with each webhook's newest deliveries, their events and their
-- last attempts, and each webhook's count of deliveries, as one JSON value: the rows Prisma's
-- findMany gives for the same include, which the caller converts (instants, as Prisma writes them:
-- UTC without a zone). The tenant is named for row-level security by a setting local to the
-- statement's own transaction, and in every WHERE. Runs as its caller: the policies apply as to
-- any read of the service role.
--
-- Unlike Prisma's relation joins, which build every delivery of a webhook (with its event and
-- attempts) before ordering and cutting them, each webhook's deliveries are cut first (the index
-- on tenantId, webhookId, id, newest first) and only those are joined: the page costs the same
-- however long a webhook's history. Its count still visits every retained delivery of the webhook.
--
-- Arguments: the webhook filters (app: an application's credential sees its own; event_types:
-- any of them; include_deleted), take (the page and one more); deliveries_take (null: deliveries
-- not read) with their status filter and the retention rule's instant (a delivery shows while
-- PENDING or updated since then; null: all); count_deliveries; with_event and event_payload (an
-- event's payload is read only when asked for); attempts_take (the last ones; null: not read) and
-- attempt_body (likewise a response body). The sealed columns of Webhook are never read out.
-- Each part asked for is switched on within its own WHERE (a condition on arguments alone is
-- checked once there, before any row is read, in the generic plan PL/pgSQL keeps after a few
-- calls as in a custom one; in a join's ON it would only filter what the part had read).
-- Columns are named one by one (JSON built from whole rows then cut was twice as slow):
-- test/integration/webhook-first-page.test.ts compares every row with Prisma's, so a column added
-- to a model and not here fails there.
CREATE FUNCTION icp_webhook_page(
    tenant text, app text, only_status text, only_tag text, event_types text[], include_deleted boolean, take integer,
    deliveries_take integer, deliveries_status text, deliveries_since timestamp, count_deliveries boolean,
    with_event boolean, event_payload boolean, attempts_take integer, attempt_body boolean
)
    RETURNS json
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
    page json;
BEGIN
    IF tenant IS NULL OR tenant = '' THEN
        RAISE EXCEPTION 'icp_webhook_page: a tenant is required' USING ERRCODE = '22004';
    END IF;
    PERFORM set_config('app.tenant_id', tenant, true);
    SELECT json_build_object('rows', coalesce(json_agg(row_to_json(r) ORDER BY r."id" DESC), '[]'::json),
                             'matching', coalesce(max(p.matching), 0))
      INTO page
      FROM (SELECT w.*, (count(*) OVER ())::integer AS matching
              FROM public."Webhook" AS w
             WHERE w."tenantId" = tenant
               AND (include_deleted OR w."deletedAt" IS NULL)
               AND (app IS NULL OR w."appId" = app)
               AND (only_status IS NULL OR w."status"::text = only_status)
               AND (only_tag IS NULL OR w."tags" @> ARRAY[only_tag])
               AND (event_types IS NULL OR w."eventTypes" && event_types)
             ORDER BY w."id" DESC
             LIMIT take) AS p
      LEFT JOIN LATERAL (
        SELECT coalesce(json_agg(row_to_json(dr) ORDER BY dr."id" DESC), '[]'::json) AS list
          FROM (SELECT x.*
                  FROM public."WebhookDelivery" AS x
                 WHERE deliveries_take IS NOT NULL
                   AND x."tenantId" = tenant AND x."webhookId" = p."id"
                   AND (deliveries_status IS NULL OR x."status"::text = deliveries_status)
                   AND (deliveries_since IS NULL OR x."status" = 'PENDING' OR x."updatedAt" >= deliveries_since)
                 ORDER BY x."id" DESC
                 LIMIT coalesce(deliveries_take, 0)) AS dl
          LEFT JOIN LATERAL (
            SELECT row_to_json(e) AS shown
              FROM (SELECT y."id", y."tenantId", y."appId", y."type", y."subjectId",
                           CASE WHEN event_payload THEN y."payload" END AS "payload",
                           y."sourceIntegrationId", y."providerEventId", y."occurredAt", y."version",
                           y."createdAt", y."updatedAt", y."createdBy", y."updatedBy", y."deletedAt", y."deletedBy"
                      FROM public."Event" AS y
                     WHERE with_event AND y."id" = dl."eventId" AND y."tenantId" = tenant
                     LIMIT 1) AS e
          ) AS ev ON true
          LEFT JOIN LATERAL (
            SELECT coalesce(json_agg(row_to_json(a) ORDER BY a."attemptNumber"), '[]'::json) AS list
              FROM (SELECT y."id", y."tenantId", y."deliveryId", y."attemptNumber", y."startedAt", y."durationMs",
                           y."responseStatus", y."error", CASE WHEN attempt_body THEN y."responseBody" END AS "responseBody",
                           y."version", y."createdAt", y."updatedAt", y."createdBy", y."updatedBy", y."deletedAt", y."deletedBy"
                      FROM public."DeliveryAttempt" AS y
                     WHERE attempts_take IS NOT NULL AND y."deliveryId" = dl."id" AND y."tenantId" = tenant
                     ORDER BY y."attemptNumber" DESC
                     LIMIT coalesce(attempts_take, 0)) AS a
          ) AS at ON true
          CROSS JOIN LATERAL (
            SELECT dl."id", dl."tenantId", dl."webhookId", dl."eventId", dl."status", dl."attemptCount", dl."nextAttemptAt",
                   dl."version", dl."createdAt", dl."updatedAt", dl."createdBy", dl."updatedBy", dl."deletedAt", dl."deletedBy",
                   ev.shown AS "event", at.list AS "attempts"
          ) AS dr
      ) AS d ON true
      LEFT JOIN LATERAL (
        SELECT count(*)::integer AS n
          FROM public."WebhookDelivery" AS z
         WHERE count_deliveries AND z."tenantId" = tenant AND z."webhookId" = p."id"
           AND (deliveries_status IS NULL OR z."status"::text = deliveries_status)
           AND (deliveries_since IS NULL OR z."status" = 'PENDING' OR z."updatedAt" >= deliveries_since)
      ) AS c ON true
      CROSS JOIN LATERAL (
        SELECT p."id", p."tenantId", p."appId", p."name", p."url", p."eventTypes", p."headers", p."status",
               p."maxAttempts", p."timeoutMs", p."secretFingerprint", p."previousSecretExpiresAt", p."secretRevision",
               p."consecutiveFailures", p."pausedAt", p."disabledAt", p."lastDeliveryAt", p."lastDeliveryStatus",
               p."source", p."sourceType", p."schemaVersion", p."tags", p."connectorId", p."version",
               p."createdAt", p."updatedAt", p."createdBy", p."updatedBy", p."deletedAt", p."deletedBy",
               d.list AS "deliveries", json_build_object('deliveries', c.n) AS "_count"
      ) AS r;
    RETURN page;
END
$$;

REVOKE ALL ON FUNCTION icp_webhook_page(text, text, text, text, text[], boolean, integer, integer, text, timestamp, boolean, boolean, boolean, integer, boolean) FROM PUBLIC;
