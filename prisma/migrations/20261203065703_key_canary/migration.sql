-- CreateTable
CREATE TABLE "KeyCanary" (
    "keyId" TEXT NOT NULL,
    "dataKey" BYTEA NOT NULL,
    "iv" BYTEA NOT NULL,
    "tag" BYTEA NOT NULL,
    "ciphertext" BYTEA NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "KeyCanary_pkey" PRIMARY KEY ("keyId")
);

-- The start-up key check (src/crypto/key-check.ts) reads which key ids seal the stored records
-- of every tenant, and opens a few of them, before the service is ready: read-only, and only in
-- a transaction that names this maintenance task (app.maintenance = 'key-check').
-- KeyCanary holds no tenant data and has no row-level security, like RateLimit.
-- (No semicolons in comments: the PostgreSQL adapter splits scripts on them.)

CREATE POLICY key_check ON "Integration" FOR SELECT
    USING (current_setting('app.maintenance', true) = 'key-check');

CREATE POLICY key_check ON "Webhook" FOR SELECT
    USING (current_setting('app.maintenance', true) = 'key-check');
