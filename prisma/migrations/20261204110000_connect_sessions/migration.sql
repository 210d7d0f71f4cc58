-- CreateTable
CREATE TABLE "ConnectSession" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "appId" TEXT,
    "tokenHash" TEXT NOT NULL,
    "allowedProviders" TEXT[],
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "revokedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdBy" TEXT,

    CONSTRAINT "ConnectSession_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ConnectSession_tokenHash_key" ON "ConnectSession"("tokenHash");

-- CreateIndex
CREATE INDEX "ConnectSession_tenantId_id_idx" ON "ConnectSession"("tenantId", "id");

-- CreateIndex
CREATE INDEX "ConnectSession_expiresAt_idx" ON "ConnectSession"("expiresAt");

-- Row-level security as on every tenant-owned table (the row_level_security migration). A
-- session is found by the SHA-256 of its token before its tenant is known, as an API key is:
-- the authentication setting (app.api_key_hash, the hash of whatever credential is presented)
-- shows that one row and nothing else.
-- (No semicolons in comments: the PostgreSQL adapter splits scripts on them.)

ALTER TABLE "ConnectSession" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "ConnectSession" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "ConnectSession"
    USING ("tenantId" = current_setting('app.tenant_id', true))
    WITH CHECK ("tenantId" = current_setting('app.tenant_id', true));

CREATE POLICY authentication ON "ConnectSession" FOR SELECT
    USING ("tokenHash" = current_setting('app.api_key_hash', true));
