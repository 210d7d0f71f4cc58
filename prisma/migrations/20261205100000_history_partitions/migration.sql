-- History partitioned by time (docs/scaling.md, "Partitioning by time").
--
-- Event, WebhookDelivery, Operation and AuditEntry become tables partitioned by RANGE of their
-- id, DeliveryAttempt and OperationAttempt by RANGE of their parent's id. Ids are uuid(7): their
-- first 48 bits are the creation time in milliseconds, so a range of ids is a range of time, the
-- primary keys (id) already hold the partition key, and the foreign keys between these tables
-- stay. Attempts share their parent's bounds, so a day of deliveries and its attempts are
-- dropped together.
--
-- Each existing table that holds rows is kept whole as the partition "<table>_legacy" (every id
-- up to the end of the day of its newest row, and at least of yesterday: no row is copied), under a new
-- partitioned table of the same name, columns, indexes, row-level security policies and foreign
-- keys. "<table>_default" takes rows no other partition covers. Daily partitions ahead
-- ("<table>_pYYYYMMDD", AuditEntry monthly "_pYYYYMM") are made by icp_create_history_partition
-- and dropped whole once expired by icp_drop_expired_partition (src/retention/partitions.ts), on
-- PostgreSQL servers; the embedded database keeps every new row in the default partition and
-- deletes expired rows in batches (icp_delete_expired), as before, which also empties the legacy
-- and default partitions on servers.
--
-- A partition has row-level security on and no policy: read or written through its partitioned
-- table the parent's policies apply, named directly it shows and takes no row.

-- A partitioned table cannot hold a unique index without its partition key: an inbound provider
-- event is stored once by a lock on its id instead (src/inbound/handler.ts).
DROP INDEX "Event_sourceIntegrationId_providerEventId_key";
CREATE INDEX "Event_sourceIntegrationId_providerEventId_idx" ON "Event"("sourceIntegrationId", "providerEventId");

-- The foreign keys of the tables converted, made again on the partitioned tables below.
ALTER TABLE "WebhookDelivery" DROP CONSTRAINT "WebhookDelivery_eventId_fkey";
ALTER TABLE "WebhookDelivery" DROP CONSTRAINT "WebhookDelivery_webhookId_fkey";
ALTER TABLE "DeliveryAttempt" DROP CONSTRAINT "DeliveryAttempt_deliveryId_fkey";
ALTER TABLE "Operation" DROP CONSTRAINT "Operation_integrationId_fkey";
ALTER TABLE "OperationAttempt" DROP CONSTRAINT "OperationAttempt_operationId_fkey";
ALTER TABLE "OperationAttempt" DROP CONSTRAINT "OperationAttempt_integrationId_fkey";

-- Attempts are partitioned by their parent's id, which their primary key must hold.
ALTER TABLE "DeliveryAttempt" DROP CONSTRAINT "DeliveryAttempt_pkey";
ALTER TABLE "DeliveryAttempt" ADD CONSTRAINT "DeliveryAttempt_pkey" PRIMARY KEY ("deliveryId", "id");
ALTER TABLE "OperationAttempt" DROP CONSTRAINT "OperationAttempt_pkey";
ALTER TABLE "OperationAttempt" ADD CONSTRAINT "OperationAttempt_pkey" PRIMARY KEY ("operationId", "id");

-- The smallest uuid(7), as text, of the millisecond `at` (UTC, as Prisma stores times): the
-- bound of a partition that starts then. Text order of uuids in this fixed form is time order.
CREATE FUNCTION icp_uuid7_floor(at timestamp) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-0000-0000-000000000000'
      FROM (SELECT lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0') AS h) AS x
$$;

-- The time a uuid(7) was made, to the millisecond; null for a text of another form.
CREATE FUNCTION icp_uuid7_time(id text) RETURNS timestamp
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-7'
        THEN to_timestamp(('x' || lpad(substr(id, 1, 8) || substr(id, 10, 4), 16, '0'))::bit(64)::bigint / 1000.0) AT TIME ZONE 'UTC'
    END
$$;

-- The greatest value of `partition_key` in `t`, all tenants' rows seen: with row-level security
-- forced the owner saw none, and the first version took every table for empty and dropped it with
-- its rows. Not forced from here until the conversion forces the legacy table again, inside this
-- migration's transaction. Used by this migration only.
CREATE FUNCTION icp_newest_of(t text, partition_key text) RETURNS text
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
AS $$
DECLARE
    newest text;
BEGIN
    EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('SELECT max(%I) FROM %I', partition_key, t) INTO newest;
    IF newest IS NOT NULL AND icp_uuid7_time(newest) IS NULL THEN
        RAISE EXCEPTION 'cannot partition "%" by "%": its greatest value is not a uuid(7)', t, partition_key;
    END IF;
    RETURN newest;
END
$$;

-- Converts one table (used by this migration only, dropped at its end). `newest`: the greatest
-- key of its family (a table and its attempts share their legacy bound), null when all are empty.
CREATE FUNCTION icp_partition_history_table(t text, partition_key text, newest text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
AS $$
DECLARE
    legacy text := t || '_legacy';
    pkey_name text;
    pkey_def text;
    index_names text[];
    index_defs text[];
    bound timestamp;
    p record;
    i integer;
BEGIN
    SELECT c.conname, pg_get_constraintdef(c.oid) INTO pkey_name, pkey_def
      FROM pg_constraint c WHERE c.conrelid = format('%I', t)::regclass AND c.contype = 'p';
    SELECT coalesce(array_agg(x.indexrelid::regclass::text ORDER BY x.indexrelid), '{}'),
           coalesce(array_agg(pg_get_indexdef(x.indexrelid) ORDER BY x.indexrelid), '{}')
      INTO index_names, index_defs
      FROM pg_index x
     WHERE x.indrelid = format('%I', t)::regclass
       AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = x.indexrelid);
    -- rows of today and before stay where they are; partitions of their own start after them
    bound := greatest(date_trunc('day', now() AT TIME ZONE 'UTC'), date_trunc('day', icp_uuid7_time(newest)) + interval '1 day');

    EXECUTE format('ALTER TABLE %I RENAME TO %I', t, legacy);
    EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', legacy, pkey_name, legacy || '_pkey');
    FOR i IN 1 .. coalesce(array_length(index_names, 1), 0) LOOP
        EXECUTE format('ALTER INDEX %s RENAME TO %I', index_names[i], left(trim(both '"' from index_names[i]), 56) || '_legacy');
    END LOOP;

    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE) PARTITION BY RANGE (%I)',
                   t, legacy, partition_key);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', t, pkey_name, pkey_def);
    FOR i IN 1 .. coalesce(array_length(index_defs, 1), 0) LOOP
        EXECUTE index_defs[i];
    END LOOP;

    -- the policies move to the partitioned table; the partitions keep row-level security on, with none
    FOR p IN SELECT polname, polcmd, polpermissive, pg_get_expr(polqual, polrelid) AS qual, pg_get_expr(polwithcheck, polrelid) AS checked
               FROM pg_policy WHERE polrelid = format('%I', legacy)::regclass AND polname <> 'maintenance_by_owner_only' LOOP
        EXECUTE format('CREATE POLICY %I ON %I AS %s FOR %s%s%s', p.polname, t,
                       CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                       CASE WHEN p.qual IS NULL THEN '' ELSE ' USING (' || p.qual || ')' END,
                       CASE WHEN p.checked IS NULL THEN '' ELSE ' WITH CHECK (' || p.checked || ')' END);
    END LOOP;
    EXECUTE format($f$CREATE POLICY maintenance_by_owner_only ON %I AS RESTRICTIVE
        USING (coalesce(current_setting('app.maintenance', true), '') = ''
               OR pg_has_role(current_user, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = %L::regclass), 'MEMBER'))$f$,
        t, format('%I', t));
    FOR p IN SELECT polname FROM pg_policy WHERE polrelid = format('%I', legacy)::regclass LOOP
        EXECUTE format('DROP POLICY %I ON %I', p.polname, legacy);
    END LOOP;
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', legacy);
    IF newest IS NULL THEN
        -- nothing to keep: every range is free for partitions of its own
        EXECUTE format('DROP TABLE %I', legacy);
    ELSE
        -- the legacy table's indexes are taken as its partition's, without building them again
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)', t, legacy, icp_uuid7_floor(bound));
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', t || '_default', t);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t || '_default');
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t || '_default');
    -- the default partition holds rows no day covers (all of them on the embedded database): the
    -- batched purge reads and deletes its expired rows directly, as the owner naming the task;
    -- no tenant policy, so to anyone else it still shows and takes no row
    EXECUTE format($f$CREATE POLICY data_retention_read ON %I FOR SELECT USING (current_setting('app.maintenance', true) = 'data-retention')$f$, t || '_default');
    EXECUTE format($f$CREATE POLICY data_retention ON %I FOR DELETE USING (current_setting('app.maintenance', true) = 'data-retention')$f$, t || '_default');
    EXECUTE format($f$CREATE POLICY maintenance_by_owner_only ON %I AS RESTRICTIVE
        USING (coalesce(current_setting('app.maintenance', true), '') = ''
               OR pg_has_role(current_user, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = %L::regclass), 'MEMBER'))$f$,
        t || '_default', format('%I', t || '_default'));
END
$$;

DO $$
DECLARE
    events text := icp_newest_of('Event', 'id');
    deliveries text := greatest(icp_newest_of('WebhookDelivery', 'id'), icp_newest_of('DeliveryAttempt', 'deliveryId'));
    operations text := greatest(icp_newest_of('Operation', 'id'), icp_newest_of('OperationAttempt', 'operationId'));
    audit text := icp_newest_of('AuditEntry', 'id');
BEGIN
    PERFORM icp_partition_history_table('Event', 'id', events);
    PERFORM icp_partition_history_table('WebhookDelivery', 'id', deliveries);
    PERFORM icp_partition_history_table('DeliveryAttempt', 'deliveryId', deliveries);
    PERFORM icp_partition_history_table('Operation', 'id', operations);
    PERFORM icp_partition_history_table('OperationAttempt', 'operationId', operations);
    PERFORM icp_partition_history_table('AuditEntry', 'id', audit);
END
$$;
DROP FUNCTION icp_partition_history_table(text, text, text);
DROP FUNCTION icp_newest_of(text, text);

ALTER TABLE "WebhookDelivery" ADD CONSTRAINT "WebhookDelivery_eventId_fkey" FOREIGN KEY ("eventId") REFERENCES "Event"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "WebhookDelivery" ADD CONSTRAINT "WebhookDelivery_webhookId_fkey" FOREIGN KEY ("webhookId") REFERENCES "Webhook"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "DeliveryAttempt" ADD CONSTRAINT "DeliveryAttempt_deliveryId_fkey" FOREIGN KEY ("deliveryId") REFERENCES "WebhookDelivery"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "Operation" ADD CONSTRAINT "Operation_integrationId_fkey" FOREIGN KEY ("integrationId") REFERENCES "Integration"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "OperationAttempt" ADD CONSTRAINT "OperationAttempt_operationId_fkey" FOREIGN KEY ("operationId") REFERENCES "Operation"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "OperationAttempt" ADD CONSTRAINT "OperationAttempt_integrationId_fkey" FOREIGN KEY ("integrationId") REFERENCES "Integration"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The lower bound of the oldest partition of `t` made by icp_create_partitions, or null while
-- there is none (the embedded database): rows below it are in the legacy and default partitions,
-- which the batched purge empties; rows above it leave with their partition, dropped whole.
CREATE FUNCTION icp_partitioned_from(t text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = public, pg_temp
AS $$
    SELECT min(substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''([^'']+)''\)'))
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = format('%I', t)::regclass AND c.relname ~ ('^' || t || '_p[0-9]+$')
$$;

-- Whether a partition of `t` other than the default one holds the bound `lo` (the legacy
-- partition holds every bound below its upper one).
CREATE FUNCTION icp_partition_taken(t text, lo text) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = public, pg_temp
AS $$
    SELECT EXISTS (
        SELECT FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
               LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS b) AS bound
         WHERE i.inhparent = format('%I', t)::regclass AND bound.b <> 'DEFAULT'
           AND coalesce(substring(bound.b FROM 'FROM \(''([^'']+)''\)'), '') <= lo
           AND lo < substring(bound.b FROM 'TO \(''([^'']+)''\)'))
$$;

-- Makes the partition of history table `t` that starts at `lo` (a day, a month for AuditEntry),
-- with row-level security on and no policy, and says its name. Fails as CREATE TABLE does: when
-- another partition holds its range, or the default one holds rows of it.
CREATE FUNCTION icp_make_partition(t text, lo timestamp) RETURNS text
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
AS $$
DECLARE
    monthly boolean := t = 'AuditEntry';
    name text;
BEGIN
    IF t IS NULL OR t NOT IN ('Event', 'WebhookDelivery', 'DeliveryAttempt', 'Operation', 'OperationAttempt', 'AuditEntry') THEN
        RAISE EXCEPTION 'not a table of history: %', t;
    END IF;
    lo := date_trunc(CASE WHEN monthly THEN 'month' ELSE 'day' END, lo);
    name := t || '_p' || to_char(lo, CASE WHEN monthly THEN 'YYYYMM' ELSE 'YYYYMMDD' END);
    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', name, t, icp_uuid7_floor(lo),
                   icp_uuid7_floor(lo + CASE WHEN monthly THEN interval '1 month' ELSE interval '1 day' END));
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
    RETURN name;
END
$$;

-- Makes the missing partitions of history table `t` that cover [from_at, to_at), skipping what
-- another partition holds, and warning of (and skipping) a range whose rows the default partition
-- holds already. How many it made. The owner's alone: tests and the soak bench make partitions in
-- the past with it.
CREATE FUNCTION icp_create_partitions(t text, from_at timestamp, to_at timestamp) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
AS $$
DECLARE
    monthly boolean := t = 'AuditEntry';
    lo timestamp := date_trunc(CASE WHEN monthly THEN 'month' ELSE 'day' END, from_at);
    made integer := 0;
BEGIN
    WHILE lo < to_at LOOP
        IF NOT icp_partition_taken(t, icp_uuid7_floor(lo)) THEN
            BEGIN
                PERFORM icp_make_partition(t, lo);
                made := made + 1;
            EXCEPTION WHEN check_violation THEN
                RAISE WARNING 'partition of % from % not made: %', t, lo, SQLERRM;
            END;
        END IF;
        lo := lo + CASE WHEN monthly THEN interval '1 month' ELSE interval '1 day' END;
    END LOOP;
    RETURN made;
END
$$;

-- The service's entry: makes the missing partitions of ONE day (a month for AuditEntry) of one
-- table of history between today and `days_ahead` days on (at most 31), as the owner, a table
-- with its attempts together (they share bounds: a day of deliveries is dropped with its
-- attempts, so neither may exist without the other), other than those named in `skip` (by the
-- name it answered), and says 'made <name>', or 'failed <name>: <why>', or null when none
-- is missing. One a call, each its own transaction: making a partition locks its table (and the
-- tables its foreign keys name) for a moment, and waits at most 200 ms for those locks, less than
-- PostgreSQL waits before it looks for a deadlock, so a busy table fails this call rather than
-- the service's own transactions. They are made days before rows need them, so a failure is
-- tried again by a later run.
CREATE FUNCTION icp_create_history_partition(days_ahead integer, skip text[]) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
    SET lock_timeout = '200ms'
AS $$
DECLARE
    t text;
    child text;
    monthly boolean;
    lo timestamp;
    suffix text;
    missing text[];
    one text;
    horizon timestamp := (now() AT TIME ZONE 'UTC') + make_interval(days => least(greatest(days_ahead, 1), 31));
BEGIN
    FOREACH t IN ARRAY ARRAY['Event', 'WebhookDelivery', 'Operation', 'AuditEntry'] LOOP
        child := CASE t WHEN 'WebhookDelivery' THEN 'DeliveryAttempt' WHEN 'Operation' THEN 'OperationAttempt' END;
        monthly := t = 'AuditEntry';
        lo := date_trunc(CASE WHEN monthly THEN 'month' ELSE 'day' END, now() AT TIME ZONE 'UTC');
        WHILE lo < horizon LOOP
            suffix := '_p' || to_char(lo, CASE WHEN monthly THEN 'YYYYMM' ELSE 'YYYYMMDD' END);
            missing := ARRAY(SELECT x FROM unnest(ARRAY[t, child]) AS x
                              WHERE x IS NOT NULL AND NOT icp_partition_taken(x, icp_uuid7_floor(lo)));
            IF cardinality(missing) > 0 AND NOT ((missing[1] || suffix) = ANY (coalesce(skip, '{}'))) THEN
                BEGIN
                    FOREACH one IN ARRAY missing LOOP
                        PERFORM icp_make_partition(one, lo);
                    END LOOP;
                    RETURN 'made ' || missing[1] || suffix;
                EXCEPTION WHEN check_violation OR lock_not_available OR duplicate_table OR invalid_object_definition THEN
                    RETURN 'failed ' || missing[1] || suffix || ': ' || SQLERRM;
                END;
            END IF;
            lo := lo + CASE WHEN monthly THEN interval '1 month' ELSE interval '1 day' END;
        END LOOP;
    END LOOP;
    RETURN NULL;
END
$$;

-- Drops the oldest partition of a family of history after the partition named `after` ('' for the
-- first) once every row in it has expired by the rules of icp_delete_expired, with the child
-- partition of the same bounds. Families: deliveries (WebhookDelivery with DeliveryAttempt),
-- events (Event), operations (Operation with OperationAttempt), audit (AuditEntry). Says what it
-- did: 'dropped <name>'; 'kept <name>' when a row in it has not expired (a delivery still PENDING
-- or changed within the window, an operation not ended or ended within it), when rows elsewhere
-- still refer to it (the deliveries of a day's events that a later day holds), or when its table
-- was busy for 200 ms (as for icp_create_history_partition); 'busy' while another instance purges; null when no partition after
-- `after` has expired. One partition a call, so each drop is a transaction of its own.
CREATE FUNCTION icp_drop_expired_partition(family text, retention_seconds bigint, after text) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
    SET lock_timeout = '200ms'
AS $$
DECLARE
    t text := CASE family WHEN 'deliveries' THEN 'WebhookDelivery' WHEN 'events' THEN 'Event'
                          WHEN 'operations' THEN 'Operation' WHEN 'audit' THEN 'AuditEntry' END;
    child text := CASE family WHEN 'deliveries' THEN 'DeliveryAttempt' WHEN 'operations' THEN 'OperationAttempt' END;
    child_key text := CASE family WHEN 'deliveries' THEN 'deliveryId' WHEN 'operations' THEN 'operationId' END;
    cutoff timestamp := (now() AT TIME ZONE 'UTC') - make_interval(secs => greatest(retention_seconds, 1));
    name text;
    lo text;
    hi text;
    live boolean := false;
BEGIN
    IF t IS NULL THEN
        RAISE EXCEPTION 'not a family of history: %', family;
    END IF;
    IF NOT pg_try_advisory_xact_lock(7305066121040271616) THEN
        RETURN 'busy';
    END IF;
    SELECT c.relname,
           substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''([^'']+)''\)'),
           substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')
      INTO name, lo, hi
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = format('%I', t)::regclass AND c.relname ~ ('^' || t || '_p[0-9]+$') AND c.relname > coalesce(after, '')
     ORDER BY c.relname
     LIMIT 1;
    IF name IS NULL OR hi > icp_uuid7_floor(cutoff) THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('app.maintenance', 'data-retention', true);
    BEGIN
        -- no row may come to refer to it while it is looked at (a reference takes a lock this one excludes)
        EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', name);
        IF family = 'deliveries' THEN
            SELECT EXISTS (SELECT FROM "WebhookDelivery" d WHERE d."id" >= lo AND d."id" < hi
                              AND (d."status" = 'PENDING' OR d."updatedAt" >= cutoff)) INTO live;
        ELSIF family = 'operations' THEN
            SELECT EXISTS (SELECT FROM "Operation" o WHERE o."id" >= lo AND o."id" < hi
                              AND (o."completedAt" IS NULL OR o."completedAt" >= cutoff OR o."status" NOT IN ('SUCCEEDED', 'FAILED'))) INTO live;
        ELSIF family = 'events' THEN
            -- checked here rather than left to DETACH's own check, which row-level security narrows
            SELECT EXISTS (SELECT FROM "WebhookDelivery" d WHERE d."eventId" >= lo AND d."eventId" < hi) INTO live;
        END IF;
        IF NOT live THEN
            IF child IS NOT NULL THEN
                IF to_regclass(format('%I', child || substr(name, length(t) + 1))) IS NOT NULL THEN
                    EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', child, child || substr(name, length(t) + 1));
                    EXECUTE format('DROP TABLE %I', child || substr(name, length(t) + 1));
                END IF;
                -- attempts of these rows that another partition holds (the default one, had the child been missing)
                EXECUTE format('SELECT EXISTS (SELECT FROM %I WHERE %I >= $1 AND %I < $2)', child, child_key, child_key) INTO live USING lo, hi;
                IF live THEN
                    RAISE EXCEPTION 'rows of % refer to %', child, name;
                END IF;
            END IF;
            EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', t, name);
            EXECUTE format('DROP TABLE %I', name);
        END IF;
    EXCEPTION WHEN raise_exception OR foreign_key_violation OR lock_not_available THEN
        live := true; -- and the child partition stays too
    END;
    PERFORM set_config('app.maintenance', '', true);
    RETURN CASE WHEN live THEN 'kept ' ELSE 'dropped ' END || name;
END
$$;

REVOKE ALL ON FUNCTION icp_partitioned_from(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION icp_partition_taken(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION icp_make_partition(text, timestamp) FROM PUBLIC;
REVOKE ALL ON FUNCTION icp_create_partitions(text, timestamp, timestamp) FROM PUBLIC;
REVOKE ALL ON FUNCTION icp_create_history_partition(integer, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION icp_drop_expired_partition(text, bigint, text) FROM PUBLIC;

-- The batched purge, as before but for the rows that day partitions hold (they leave with their
-- partition, whole): only rows below the oldest day partition made (icp_partitioned_from: the
-- legacy partition's), all rows while there is none, and the default partition's wherever they are. Attempts are found and deleted by their parent's id and their own, the key
-- of their partitions. PL/pgSQL, so a call plans only the one DELETE it runs (the SQL version
-- planned all seven over every partition on each call).
CREATE OR REPLACE FUNCTION icp_delete_expired(maintenance text, what text, retention_seconds bigint, batch integer) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = public, pg_temp
AS $$
DECLARE
    cutoff timestamp := (now() AT TIME ZONE 'UTC') - make_interval(secs => greatest(retention_seconds, 1));
    n integer := least(greatest(batch, 0), 10000);
    below text := 'g'; -- above every uuid: no bound while there is no day partition
    more integer := 0;
    deleted integer := 0;
BEGIN
    IF what IN ('DeliveryAttempt', 'WebhookDelivery', 'Event', 'OperationAttempt', 'Operation', 'AuditEntry') THEN
        below := coalesce(icp_partitioned_from(CASE what WHEN 'DeliveryAttempt' THEN 'WebhookDelivery'
                                                         WHEN 'OperationAttempt' THEN 'Operation' ELSE what END), below);
    END IF;
    IF what = 'DeliveryAttempt' THEN
        DELETE FROM "DeliveryAttempt" WHERE "deliveryId" < below AND ("deliveryId", "id") IN (
            SELECT a."deliveryId", a."id" FROM "DeliveryAttempt" a JOIN "WebhookDelivery" d ON d."id" = a."deliveryId"
             WHERE d."status" <> 'PENDING' AND d."updatedAt" < cutoff AND d."id" < below AND a."deliveryId" < below LIMIT n);
    ELSIF what = 'WebhookDelivery' THEN
        DELETE FROM "WebhookDelivery" WHERE "id" < below AND "id" IN (
            SELECT d."id" FROM "WebhookDelivery" d
             WHERE d."status" <> 'PENDING' AND d."updatedAt" < cutoff AND d."id" < below
               AND NOT EXISTS (SELECT FROM "DeliveryAttempt" a WHERE a."deliveryId" = d."id")
             LIMIT n);
    ELSIF what = 'Event' THEN
        DELETE FROM "Event" WHERE "id" < below AND "id" IN (
            SELECT e."id" FROM "Event" e
             WHERE e."createdAt" < cutoff AND e."id" < below
               AND NOT EXISTS (SELECT FROM "WebhookDelivery" d WHERE d."eventId" = e."id")
             LIMIT n);
    ELSIF what = 'OperationAttempt' THEN
        DELETE FROM "OperationAttempt" WHERE "operationId" < below AND ("operationId", "id") IN (
            SELECT a."operationId", a."id" FROM "OperationAttempt" a JOIN "Operation" o ON o."id" = a."operationId"
             WHERE o."completedAt" < cutoff AND o."status" IN ('SUCCEEDED', 'FAILED') AND o."id" < below AND a."operationId" < below
             LIMIT n);
    ELSIF what = 'Operation' THEN
        DELETE FROM "Operation" WHERE "id" < below AND "id" IN (
            SELECT o."id" FROM "Operation" o
             WHERE o."completedAt" < cutoff AND o."status" IN ('SUCCEEDED', 'FAILED') AND o."id" < below
               AND NOT EXISTS (SELECT FROM "OperationAttempt" a WHERE a."operationId" = o."id")
             LIMIT n);
    ELSIF what = 'AuditEntry' THEN
        DELETE FROM "AuditEntry" WHERE "id" < below AND "id" IN (
            SELECT x."id" FROM "AuditEntry" x WHERE x."createdAt" < cutoff AND x."id" < below LIMIT n);
    ELSIF what = 'ConnectSession' THEN
        DELETE FROM "ConnectSession" WHERE "id" IN (
            SELECT s."id" FROM "ConnectSession" s WHERE s."expiresAt" < cutoff LIMIT n);
    ELSE
        RETURN 0;
    END IF;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    n := n - deleted;
    IF n <= 0 THEN
        RETURN deleted;
    END IF;
    -- the default partition's expired rows, whatever their id (rows of days no partition covered:
    -- partitions missed for a week), read there directly (its own policies admit the task)
    IF what = 'DeliveryAttempt' THEN
        DELETE FROM "DeliveryAttempt_default" WHERE ("deliveryId", "id") IN (
            SELECT a."deliveryId", a."id" FROM "DeliveryAttempt_default" a JOIN "WebhookDelivery" d ON d."id" = a."deliveryId"
             WHERE d."status" <> 'PENDING' AND d."updatedAt" < cutoff LIMIT n);
    ELSIF what = 'WebhookDelivery' THEN
        DELETE FROM "WebhookDelivery_default" WHERE "id" IN (
            SELECT d."id" FROM "WebhookDelivery_default" d
             WHERE d."status" <> 'PENDING' AND d."updatedAt" < cutoff
               AND NOT EXISTS (SELECT FROM "DeliveryAttempt" a WHERE a."deliveryId" = d."id")
             LIMIT n);
    ELSIF what = 'Event' THEN
        DELETE FROM "Event_default" WHERE "id" IN (
            SELECT e."id" FROM "Event_default" e
             WHERE e."createdAt" < cutoff AND NOT EXISTS (SELECT FROM "WebhookDelivery" d WHERE d."eventId" = e."id")
             LIMIT n);
    ELSIF what = 'OperationAttempt' THEN
        DELETE FROM "OperationAttempt_default" WHERE ("operationId", "id") IN (
            SELECT a."operationId", a."id" FROM "OperationAttempt_default" a JOIN "Operation" o ON o."id" = a."operationId"
             WHERE o."completedAt" < cutoff AND o."status" IN ('SUCCEEDED', 'FAILED') LIMIT n);
    ELSIF what = 'Operation' THEN
        DELETE FROM "Operation_default" WHERE "id" IN (
            SELECT o."id" FROM "Operation_default" o
             WHERE o."completedAt" < cutoff AND o."status" IN ('SUCCEEDED', 'FAILED')
               AND NOT EXISTS (SELECT FROM "OperationAttempt" a WHERE a."operationId" = o."id")
             LIMIT n);
    ELSIF what = 'AuditEntry' THEN
        DELETE FROM "AuditEntry_default" WHERE "id" IN (
            SELECT x."id" FROM "AuditEntry_default" x WHERE x."createdAt" < cutoff LIMIT n);
    ELSE
        RETURN deleted;
    END IF;
    GET DIAGNOSTICS more = ROW_COUNT;
    RETURN deleted + more;
END
$$;
