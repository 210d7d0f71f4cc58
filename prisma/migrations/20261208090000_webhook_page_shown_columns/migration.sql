-- icp_webhook_page (migration 20261207090000_webhook_first_page) gives a delivery, its event and
-- its attempts only the columns their GraphQL types can show (WebhookDelivery: id, status,
-- attemptCount, nextAttemptAt, createdAt; Event: id, type, payload, occurredAt; DeliveryAttempt:
-- id, deliveryId, attemptNumber, startedAt, durationMs, responseStatus, error, responseBody), no
-- longer every column of their models. The three types are in plugin-prisma's select mode, so a
-- page names the columns it reads, and src/webhooks/first-page.ts leaves to Prisma a read that
-- names another. A delivery of the requests bench's page carried 14 + 16 + 16 columns and its
-- page used 4 + 3 + 6 of them (docs/performance.md).
CREATE OR REPLACE FUNCTION icp_webhook_page(
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
              FROM (SELECT y."id", y."type", CASE WHEN event_payload THEN y."payload" END AS "payload", y."occurredAt"
                      FROM public."Event" AS y
                     WHERE with_event AND y."id" = dl."eventId" AND y."tenantId" = tenant
                     LIMIT 1) AS e
          ) AS ev ON true
          LEFT JOIN LATERAL (
            SELECT coalesce(json_agg(row_to_json(a) ORDER BY a."attemptNumber"), '[]'::json) AS list
              FROM (SELECT y."id", y."deliveryId", y."attemptNumber", y."startedAt", y."durationMs",
                           y."responseStatus", y."error", CASE WHEN attempt_body THEN y."responseBody" END AS "responseBody"
                      FROM public."DeliveryAttempt" AS y
                     WHERE attempts_take IS NOT NULL AND y."deliveryId" = dl."id" AND y."tenantId" = tenant
                     ORDER BY y."attemptNumber" DESC
                     LIMIT coalesce(attempts_take, 0)) AS a
          ) AS at ON true
          CROSS JOIN LATERAL (
            SELECT dl."id", dl."status", dl."attemptCount", dl."nextAttemptAt", dl."createdAt",
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

