-- CreateEnum
CREATE TYPE "OperationStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED');

-- CreateTable
CREATE TABLE "Operation" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "appId" TEXT,
    "capability" TEXT NOT NULL,
    "status" "OperationStatus" NOT NULL DEFAULT 'QUEUED',
    "idempotencyKey" TEXT,
    "inputKeyId" TEXT,
    "inputDataKey" BYTEA,
    "inputIv" BYTEA,
    "inputTag" BYTEA,
    "inputCiphertext" BYTEA,
    "resultKeyId" TEXT,
    "resultDataKey" BYTEA,
    "resultIv" BYTEA,
    "resultTag" BYTEA,
    "resultCiphertext" BYTEA,
    "purgedAt" TIMESTAMP(3),
    "integrationId" TEXT,
    "usedFallback" BOOLEAN NOT NULL DEFAULT false,
    "walk" INTEGER NOT NULL DEFAULT 1,
    "attemptCount" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMP(3),
    "providerReference" TEXT,
    "deliveryStatus" TEXT,
    "deliveryUpdatedAt" TIMESTAMP(3),
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "completedAt" TIMESTAMP(3),
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "createdBy" TEXT,
    "updatedBy" TEXT,
    "deletedAt" TIMESTAMP(3),
    "deletedBy" TEXT,

    CONSTRAINT "Operation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "OperationAttempt" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "operationId" TEXT NOT NULL,
    "attemptNumber" INTEGER NOT NULL,
    "integrationId" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "durationMs" INTEGER NOT NULL,
    "httpStatus" INTEGER,
    "outcome" TEXT NOT NULL,
    "error" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "createdBy" TEXT,
    "updatedBy" TEXT,
    "deletedAt" TIMESTAMP(3),
    "deletedBy" TEXT,

    CONSTRAINT "OperationAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Operation_tenantId_id_idx" ON "Operation"("tenantId", "id");

-- CreateIndex
CREATE INDEX "Operation_tenantId_integrationId_id_idx" ON "Operation"("tenantId", "integrationId", "id");

-- CreateIndex
CREATE INDEX "Operation_tenantId_capability_idempotencyKey_idx" ON "Operation"("tenantId", "capability", "idempotencyKey");

-- CreateIndex
CREATE INDEX "Operation_integrationId_providerReference_idx" ON "Operation"("integrationId", "providerReference");

-- CreateIndex
CREATE INDEX "OperationAttempt_tenantId_integrationId_startedAt_idx" ON "OperationAttempt"("tenantId", "integrationId", "startedAt");

-- CreateIndex
CREATE UNIQUE INDEX "OperationAttempt_operationId_attemptNumber_key" ON "OperationAttempt"("operationId", "attemptNumber");

-- AddForeignKey
ALTER TABLE "Operation" ADD CONSTRAINT "Operation_integrationId_fkey" FOREIGN KEY ("integrationId") REFERENCES "Integration"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OperationAttempt" ADD CONSTRAINT "OperationAttempt_operationId_fkey" FOREIGN KEY ("operationId") REFERENCES "Operation"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OperationAttempt" ADD CONSTRAINT "OperationAttempt_integrationId_fkey" FOREIGN KEY ("integrationId") REFERENCES "Integration"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Row-level security as on every tenant-owned table (the row_level_security migration). The
-- start-up key check and npm run keys:rotate read (and re-wrap) the sealed input and result of
-- every tenant's operations, as the tables' owner only, like Integration and Webhook.
-- (No semicolons in comments: the PostgreSQL adapter splits scripts on them.)

ALTER TABLE "Operation" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "Operation" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Operation"
    USING ("tenantId" = current_setting('app.tenant_id', true))
    WITH CHECK ("tenantId" = current_setting('app.tenant_id', true));

ALTER TABLE "OperationAttempt" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "OperationAttempt" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "OperationAttempt"
    USING ("tenantId" = current_setting('app.tenant_id', true))
    WITH CHECK ("tenantId" = current_setting('app.tenant_id', true));

CREATE POLICY key_check ON "Operation" FOR SELECT
    USING (current_setting('app.maintenance', true) = 'key-check');

CREATE POLICY key_rotation ON "Operation"
    USING (current_setting('app.maintenance', true) = 'rotate-keys')
    WITH CHECK (current_setting('app.maintenance', true) = 'rotate-keys');

CREATE POLICY maintenance_by_owner_only ON "Operation" AS RESTRICTIVE
    USING (coalesce(current_setting('app.maintenance', true), '') = ''
           OR pg_has_role(current_user, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = '"Operation"'::regclass), 'MEMBER'));

-- The key ids that seal operations are found by skipping through these indexes (one probe per
-- distinct key), not by reading every operation.
CREATE INDEX "Operation_inputKeyId_idx" ON "Operation"("inputKeyId") WHERE "inputKeyId" IS NOT NULL;
CREATE INDEX "Operation_resultKeyId_idx" ON "Operation"("resultKeyId") WHERE "resultKeyId" IS NOT NULL;
