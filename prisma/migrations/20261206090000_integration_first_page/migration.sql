-- The first page of a tenant's integrations in one statement, read without Prisma's client
-- (src/integrations/first-page.ts): the tenant named for row-level security by a setting local to
-- the statement's own transaction (nothing stays on the connection, so any pooler may carry it),
-- and in the WHERE as well. Every column but the sealed ones, timestamps (UTC without a zone, as
-- Prisma writes them) as instants, newest first, with the count of every matching row. Runs as
-- its caller: the policies apply as to any read of the service role.
CREATE FUNCTION icp_integration_page(tenant text, only_status text, only_providers text[], take integer)
    RETURNS TABLE (
        "id" text, "tenantId" text, "appId" text, "provider" text, "status" text,
        "enabledCapabilities" text[], "metadata" jsonb, "config" jsonb, "secretKeys" text[],
        "credentialsRevision" integer, "verifiedRevision" integer, "lastError" text,
        "verifiedAt" timestamptz, "inboundToken" text, "version" integer,
        "createdAt" timestamptz, "updatedAt" timestamptz, "createdBy" text, "updatedBy" text,
        "deletedAt" timestamptz, "deletedBy" text, "matching" integer
    )
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
#variable_conflict use_column
BEGIN
    IF tenant IS NULL OR tenant = '' THEN
        RAISE EXCEPTION 'icp_integration_page: a tenant is required' USING ERRCODE = '22004';
    END IF;
    PERFORM set_config('app.tenant_id', tenant, true);
    RETURN QUERY
        SELECT i."id", i."tenantId", i."appId", i."provider", i."status"::text,
               i."enabledCapabilities", i."metadata", i."config", i."secretKeys",
               i."credentialsRevision", i."verifiedRevision", i."lastError",
               i."verifiedAt" AT TIME ZONE 'UTC', i."inboundToken", i."version",
               i."createdAt" AT TIME ZONE 'UTC', i."updatedAt" AT TIME ZONE 'UTC', i."createdBy", i."updatedBy",
               i."deletedAt" AT TIME ZONE 'UTC', i."deletedBy", (count(*) OVER ())::integer
          FROM public."Integration" AS i
         WHERE i."tenantId" = tenant AND i."deletedAt" IS NULL
           AND (only_status IS NULL OR i."status"::text = only_status)
           AND (only_providers IS NULL OR i."provider" = ANY (only_providers))
         ORDER BY i."id" DESC
         LIMIT take;
END
$$;

REVOKE ALL ON FUNCTION icp_integration_page(text, text, text[], integer) FROM PUBLIC;
