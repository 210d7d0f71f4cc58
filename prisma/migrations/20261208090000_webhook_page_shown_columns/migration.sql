-- icp_webhook_page_v2: icp_webhook_page (migration 20261207090000_webhook_first_page) with the same
-- arguments, in two statements, and answering in another shape. icp_webhook_page stays as it was:
-- an instance of the previous release still running while a new one has migrated (a rolling
-- upgrade) keeps reading the shape it knows; a later migration drops it.
--
-- The page of webhooks is read first, then, only when the page asks for deliveries or their
-- count, each webhook's deliveries and count for the webhooks of that page. A page that asks for
-- neither (the console's list) touches no history table: the one statement had every history
-- partition's scan set up on each call, however its parts were switched off, about two thirds of
-- such a call (and more with every day of partitions kept). It answers
--   { rows: [webhook, …], matching, deliveries?: [[delivery, …], …], counts?: [n, …] }
-- with `deliveries` and `counts` in the order of `rows` (src/webhooks/first-page.ts puts them on
-- each row), both absent when neither was asked for or the page is empty.
--
-- A delivery, its event and its attempts carry only the columns a page can read: those their
-- GraphQL fields show (WebhookDelivery: id, status, attemptCount, nextAttemptAt, createdAt; Event:
-- id, type, payload, occurredAt; DeliveryAttempt: attemptNumber, startedAt, durationMs,
-- responseStatus, error, responseBody) and the keys plugin-prisma selects besides (an attempt's id
-- and deliveryId), no longer every column of their models. The three types are in plugin-prisma's
-- select mode, so a page names the columns it reads, and first-page.ts leaves to Prisma a read
-- that names another. A delivery of the requests bench's page carried 14 + 16 + 16 columns and its
-- page used 4 + 3 + 6 of them (docs/performance.md).
CREATE FUNCTION icp_webhook_page_v2(
    tenant text, app text, only_status text, only_tag text, event_types text[], include_deleted boolean, take integer,
    deliveries_take integer, deliveries_status text, deliveries_since timestamp, count_deliveries boolean,
    with_event boolean, event_payload boolean, attempts_take integer, attempt_body boolean
)
    RETURNS json
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
    shown json;
    matching integer;
    ids text[];
    history json;
BEGIN
    IF tenant IS NULL OR tenant = '' THEN
        RAISE EXCEPTION 'icp_webhook_page_v2: a tenant is required' USING ERRCODE = '22004';
    END IF;
    PERFORM set_config('app.tenant_id', tenant, true);
    SELECT coalesce(json_agg(row_to_json(r) ORDER BY r."id" DESC), '[]'::json), coalesce(max(p.matching), 0),
           coalesce(array_agg(p."id" ORDER BY p."id" DESC), '{}')
      INTO shown, matching, ids
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
      CROSS JOIN LATERAL (
        SELECT p."id", p."tenantId", p."appId", p."name", p."url", p."eventTypes", p."headers", p."status",
               p."maxAttempts", p."timeoutMs", p."secretFingerprint", p."previousSecretExpiresAt", p."secretRevision",
               p."consecutiveFailures", p."pausedAt", p."disabledAt", p."lastDeliveryAt", p."lastDeliveryStatus",
               p."source", p."sourceType", p."schemaVersion", p."tags", p."connectorId", p."version",
               p."createdAt", p."updatedAt", p."createdBy", p."updatedBy", p."deletedAt", p."deletedBy"
      ) AS r;
    IF (deliveries_take IS NULL AND NOT count_deliveries) OR cardinality(ids) = 0 THEN
        RETURN json_build_object('rows', shown, 'matching', matching);
    END IF;
    -- each webhook's deliveries and count, in the order of its rows
    SELECT json_build_object('deliveries', json_agg(d.list ORDER BY u.n), 'counts', json_agg(c.n ORDER BY u.n))
      INTO history
      FROM unnest(ids) WITH ORDINALITY AS u(id, n)
      LEFT JOIN LATERAL (
        SELECT coalesce(json_agg(row_to_json(dr) ORDER BY dr."id" DESC), '[]'::json) AS list
          FROM (SELECT x.*
                  FROM public."WebhookDelivery" AS x
                 WHERE deliveries_take IS NOT NULL
                   AND x."tenantId" = tenant AND x."webhookId" = u.id
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
         WHERE count_deliveries AND z."tenantId" = tenant AND z."webhookId" = u.id
           AND (deliveries_status IS NULL OR z."status"::text = deliveries_status)
           AND (deliveries_since IS NULL OR z."status" = 'PENDING' OR z."updatedAt" >= deliveries_since)
      ) AS c ON true;
    RETURN json_build_object('rows', shown, 'matching', matching, 'deliveries', history->'deliveries', 'counts', history->'counts');
END
$$;

REVOKE ALL ON FUNCTION icp_webhook_page_v2(text, text, text, text, text[], boolean, integer, integer, text, timestamp, boolean, boolean, boolean, integer, boolean) FROM PUBLIC;
