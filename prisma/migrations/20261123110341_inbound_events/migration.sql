-- AlterTable
ALTER TABLE "Event" ADD COLUMN     "providerEventId" TEXT,
ADD COLUMN     "sourceIntegrationId" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "Event_sourceIntegrationId_providerEventId_key" ON "Event"("sourceIntegrationId", "providerEventId");
