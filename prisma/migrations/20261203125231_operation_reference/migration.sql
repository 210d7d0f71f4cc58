-- CreateIndex
CREATE INDEX "Operation_tenantId_providerReference_idx" ON "Operation"("tenantId", "providerReference");
