-- Row-level security on every tenant-owned table (defence in depth behind src/db/tenant.ts).
--
-- A row is visible and writable only in a transaction whose app.tenant_id setting names its
-- tenant. The application sets it with set_config(..., true) at the start of every transaction
-- (src/db/row-security.ts). FORCE makes the policies bind the tables' owner too, which is the
-- role the application connects as. Superusers and BYPASSRLS roles would skip them, so the
-- server refuses to run as one. Without the setting, every query sees no rows and writes fail.
--
-- Three narrower policies let a transaction find rows before it knows the tenant, each only
-- with a secret that already names the row:
--   authentication: an API key row by the SHA-256 of the presented key (app.api_key_hash)
--   inbound callbacks: an integration by its URL token (app.inbound_token)
--   npm run keys:rotate: Integration and Webhook rows while re-wrapping data keys
--     (app.maintenance = 'rotate-keys')
-- (No semicolons in comments: the PostgreSQL adapter splits scripts on them.)

ALTER TABLE "Integration" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "Integration" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Integration"
    USING ("tenantId" = current_setting('app.tenant_id', true))
    WITH CHECK ("tenantId" = current_setting('app.tenant_id', true));

ALTER TABLE "Event" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "Event" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Event"
    USING ("tenantId" = current_setting('app.tenant_id', true))
    WITH CHECK ("tenantId" = current_setting('app.tenant_id', true));

ALTER TABLE "ApiKey" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "ApiKey" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "ApiKey"
    USING ("tenantId" = current_setting('app.tenant_id', true))
    WITH CHECK ("tenantId" = current_setting('app.tenant_id', true));

ALTER TABLE "RoutingRule" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "RoutingRule" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "RoutingRule"
    USING ("tenantId" = current_setting('app.tenant_id', true))
    WITH CHECK ("tenantId" = current_setting('app.tenant_id', true));

ALTER TABLE "Webhook" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "Webhook" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Webhook"
    USING ("tenantId" = current_setting('app.tenant_id', true))
    WITH CHECK ("tenantId" = current_setting('app.tenant_id', true));

ALTER TABLE "WebhookDelivery" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "WebhookDelivery" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "WebhookDelivery"
    USING ("tenantId" = current_setting('app.tenant_id', true))
    WITH CHECK ("tenantId" = current_setting('app.tenant_id', true));

ALTER TABLE "DeliveryAttempt" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "DeliveryAttempt" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "DeliveryAttempt"
    USING ("tenantId" = current_setting('app.tenant_id', true))
    WITH CHECK ("tenantId" = current_setting('app.tenant_id', true));

ALTER TABLE "AuditEntry" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "AuditEntry" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "AuditEntry"
    USING ("tenantId" = current_setting('app.tenant_id', true))
    WITH CHECK ("tenantId" = current_setting('app.tenant_id', true));

CREATE POLICY authentication ON "ApiKey" FOR SELECT
    USING ("secretHash" = current_setting('app.api_key_hash', true));

CREATE POLICY inbound_lookup ON "Integration" FOR SELECT
    USING ("inboundToken" = current_setting('app.inbound_token', true));

CREATE POLICY key_rotation ON "Integration"
    USING (current_setting('app.maintenance', true) = 'rotate-keys')
    WITH CHECK (current_setting('app.maintenance', true) = 'rotate-keys');

CREATE POLICY key_rotation ON "Webhook"
    USING (current_setting('app.maintenance', true) = 'rotate-keys')
    WITH CHECK (current_setting('app.maintenance', true) = 'rotate-keys');
