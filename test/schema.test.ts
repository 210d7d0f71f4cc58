/** The checked-in artefacts match the code: schema.graphql and the committed migrations. */
import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { describe, expect, it } from 'vitest';
import { diffSchemaAgainstMigrations, readMigrations } from '../src/db/schema-engine.ts';
import { printedSchema, SCHEMA_FILE } from '../src/scripts/print-schema.ts';

describe('schema.graphql', () => {
  it('is the printed form of the schema the code builds (fix: npm run schema:print)', async () => {
    expect(await readFile(SCHEMA_FILE, 'utf8')).toBe(printedSchema());
  });

  it('has the contract’s names', () => {
    const sdl = printedSchema();
    for (const name of [
      'interface Node', 'interface Error', 'enum ErrorCode', 'type FieldError', 'type ValidationError implements Error',
      'type NotFoundError implements Error', 'type ConflictError implements Error', 'type InvalidStateError implements Error',
      'enum ProviderCategory', 'enum IntegrationStatus', 'enum CredentialFieldType', 'type CredentialField',
      'type Provider implements Node', 'type CredentialValue', 'type Integration implements Node', 'type Event implements Node',
      'scalar DateTime', 'scalar JSONObject', 'scalar JSON', 'scalar URL', 'union ConfigureIntegrationResult',
    ]) {
      expect(sdl).toContain(name);
    }
  });
});

describe('prisma/migrations', () => {
  it('hold everything prisma/schema.prisma declares (fix: npm run db:diff -- <name>)', async () => {
    const pglite = new PGlite();
    try {
      expect(await diffSchemaAgainstMigrations(new PrismaPGlite(pglite), await readMigrations())).toBe('');
    } finally {
      await pglite.close();
    }
  });

  it('enforce one live integration per provider per tenant with a partial unique index', async () => {
    const migrations = await readMigrations();
    expect(migrations.map((m) => m.sql).join('\n')).toMatch(
      /CREATE UNIQUE INDEX "Integration_tenantId_provider_live_key" ON "Integration"\("tenantId", "provider"\) WHERE "deletedAt" IS NULL/,
    );
  });
});
