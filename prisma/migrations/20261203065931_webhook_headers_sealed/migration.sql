-- Webhook static header values are sealed like signing secrets (src/webhooks/headers.ts): one
-- envelope per webhook, and "headers" keeps only the names, each with the value null. Rows
-- written before hold their values in "headers" until the service seals them at its next start
-- (SQL cannot: sealing needs the key-encryption key). The existing row-level security policies
-- of "Webhook" cover the new columns.
-- (No semicolons in comments: the PostgreSQL adapter splits scripts on them.)

-- AlterTable
ALTER TABLE "Webhook" ADD COLUMN     "headersCiphertext" BYTEA,
ADD COLUMN     "headersDataKey" BYTEA,
ADD COLUMN     "headersIv" BYTEA,
ADD COLUMN     "headersKeyId" TEXT,
ADD COLUMN     "headersTag" BYTEA;
