-- Every committed change of an Integration row is announced to every instance of the service
-- (NOTIFY on the pub/sub channel, src/events/pg-event-target.ts, with the row's tenant): the
-- GraphQL response cache (src/cache/response-cache.ts) then stops answering from what it kept for
-- that tenant. The trigger sees every writer (requests, the verification worker, inbound
-- callbacks, key rotation, other instances). PostgreSQL sends notifications at commit, never for a
-- rolled-back change, and folds the identical ones of one transaction into one.
-- The function body spells its semicolons \x3B: the PostgreSQL adapter splits scripts on them.

CREATE FUNCTION icp_announce_integration_change() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN PERFORM pg_notify(''icp_pubsub'', json_build_object(''topic'', ''integration:changed'', ''data'', COALESCE(NEW."tenantId", OLD."tenantId"))::text)\x3B RETURN NULL\x3B END';

CREATE TRIGGER announce_change AFTER INSERT OR UPDATE OR DELETE ON "Integration"
    FOR EACH ROW EXECUTE FUNCTION icp_announce_integration_change();
