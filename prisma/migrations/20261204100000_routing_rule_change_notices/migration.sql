-- Every committed change of a RoutingRule row is announced as the tenant's change, as Integration
-- changes are (20261123180000_integration_change_notices): the routing table each instance keeps
-- in memory (src/routing/table.ts) then reads the tenant's rules again. Same function, same topic,
-- so one version per tenant covers both tables. The response cache, which keeps no rule, only
-- loses what it kept for the tenant.

CREATE TRIGGER announce_change AFTER INSERT OR UPDATE OR DELETE ON "RoutingRule"
    FOR EACH ROW EXECUTE FUNCTION icp_announce_integration_change();
