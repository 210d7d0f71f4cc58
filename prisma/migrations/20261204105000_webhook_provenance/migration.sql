-- CreateEnum
CREATE TYPE "SourceType" AS ENUM ('FRONTEND', 'BACKEND', 'SERVER', 'SYSTEM', 'API');

-- AlterTable
ALTER TABLE "Webhook" ADD COLUMN     "connectorId" TEXT,
ADD COLUMN     "schemaVersion" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "source" TEXT NOT NULL DEFAULT 'api',
ADD COLUMN     "sourceType" "SourceType" NOT NULL DEFAULT 'API',
ADD COLUMN     "tags" TEXT[] DEFAULT ARRAY[]::TEXT[];
