-- CreateTable
CREATE TABLE "RoutingRule" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "appId" TEXT,
    "capability" TEXT NOT NULL,
    "integrationId" TEXT NOT NULL,
    "fallbackIntegrationId" TEXT,
    "priority" INTEGER NOT NULL DEFAULT 100,
    "isDefault" BOOLEAN NOT NULL DEFAULT false,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "createdBy" TEXT,
    "updatedBy" TEXT,
    "deletedAt" TIMESTAMP(3),
    "deletedBy" TEXT,

    CONSTRAINT "RoutingRule_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "RoutingRule_tenantId_capability_isDefault_priority_idx" ON "RoutingRule"("tenantId", "capability", "isDefault", "priority");

-- CreateIndex
CREATE INDEX "RoutingRule_integrationId_idx" ON "RoutingRule"("integrationId");

-- CreateIndex
CREATE INDEX "RoutingRule_fallbackIntegrationId_idx" ON "RoutingRule"("fallbackIntegrationId");

-- AddForeignKey
ALTER TABLE "RoutingRule" ADD CONSTRAINT "RoutingRule_integrationId_fkey" FOREIGN KEY ("integrationId") REFERENCES "Integration"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoutingRule" ADD CONSTRAINT "RoutingRule_fallbackIntegrationId_fkey" FOREIGN KEY ("fallbackIntegrationId") REFERENCES "Integration"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- At most one live default rule per capability per tenant.
-- Written by hand: Prisma's schema language has no partial unique index.
CREATE UNIQUE INDEX "RoutingRule_tenantId_capability_default_key" ON "RoutingRule"("tenantId", "capability") WHERE "isDefault" AND "deletedAt" IS NULL;
