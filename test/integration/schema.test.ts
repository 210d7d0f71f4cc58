/** The checked-in artefacts match the code: schema.graphql and the committed migrations. */
import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import {
  buildSchema,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
  Kind,
  parse,
  validate,
} from 'graphql';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { describe, expect, it } from 'vitest';
import { diffSchemaAgainstMigrations, readMigrations } from '../../src/db/schema-engine.ts';
import { GRAPHIQL_DEFAULT_QUERY } from '../../src/graphql/graphiql.ts';
import { schema } from '../../src/schema/index.ts';
import { printedSchema, SCHEMA_FILE } from '../../src/scripts/print-schema.ts';

/** Every type, field, argument and enum value without a description: `Type`, `Type.field`, `Type.field(arg)`, `Enum.VALUE`. */
function undescribed(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    if (!type.description?.trim()) missing.push(type.name);
    if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (!field.description?.trim()) missing.push(`${type.name}.${field.name}`);
        for (const arg of 'args' in field ? field.args : []) {
          if (!arg.description?.trim()) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
    }
    if (isEnumType(type)) {
      for (const value of type.getValues()) if (!value.description?.trim()) missing.push(`${type.name}.${value.name}`);
    }
  }
  return missing;
}

/**
 * Deprecated fields, arguments, input fields and enum values whose reason is missing or
 * graphql-js's default ("No longer supported"), which tells a client nothing about what to use.
 */
function deprecatedWithoutReason(schema: GraphQLSchema): string[] {
  const vague = (reason: string | null | undefined) => !reason?.trim() || reason === 'No longer supported';
  const found: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type)) continue;
    if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (field.deprecationReason != null && vague(field.deprecationReason)) found.push(`${type.name}.${field.name}`);
        for (const arg of 'args' in field ? field.args : []) {
          if (arg.deprecationReason != null && vague(arg.deprecationReason)) found.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
    }
    if (isEnumType(type)) {
      for (const value of type.getValues())
        if (value.deprecationReason != null && vague(value.deprecationReason)) found.push(`${type.name}.${value.name}`);
    }
  }
  return found;
}

describe('schema.graphql', () => {
  it('is the printed form of the schema the code builds (fix: npm run schema:print)', async () => {
    expect(await readFile(SCHEMA_FILE, 'utf8')).toBe(printedSchema());
  });

  it('has the contract’s names', () => {
    const sdl = printedSchema();
    for (const name of [
      'interface Node',
      'interface Error',
      'enum ErrorCode',
      'type FieldError',
      'type ValidationError implements Error',
      'type NotFoundError implements Error',
      'type ConflictError implements Error',
      'type InvalidStateError implements Error',
      'enum ProviderCategory',
      'enum IntegrationStatus',
      'enum CredentialFieldType',
      'type CredentialField',
      'type Provider implements Node',
      'type CredentialValue',
      'type Integration implements Node',
      'type Event implements Node',
      'scalar DateTime',
      'scalar JSONObject',
      'scalar JSON',
      'scalar URL',
      'union ConfigureIntegrationResult',
    ]) {
      expect(sdl).toContain(name);
    }
  });
});

describe('the schema', () => {
  it('describes every type, field, argument and enum value', () => {
    expect(undescribed(schema)).toEqual([]);
  });

  it('gives every deprecation a reason that says what to use instead', () => {
    expect(deprecatedWithoutReason(schema)).toEqual([]);
    // the check itself: a bare @deprecated is caught
    const bare = buildSchema(`type Query { old: Int @deprecated, new: Int, worded: Int @deprecated(reason: "Use new.") }`);
    expect(deprecatedWithoutReason(bare)).toEqual(['Query.old']);
  });
});

describe('GraphiQL’s default document', () => {
  it('is valid against the schema', () => {
    expect(validate(schema, parse(GRAPHIQL_DEFAULT_QUERY)).map((e) => e.message)).toEqual([]);
  });

  it('walks through the main flow as named operations', () => {
    const operations = parse(GRAPHIQL_DEFAULT_QUERY).definitions.flatMap((d) =>
      d.kind === Kind.OPERATION_DEFINITION ? [`${d.operation} ${d.name?.value}`] : [],
    );
    expect(operations).toEqual([
      'query Providers',
      'mutation ConfigureTwilio',
      'query TwilioStatus',
      'mutation CreateWebhook',
      'mutation RouteSms',
      'mutation SendSms',
      'query LatestSms',
      'mutation TakePayment',
      'mutation RequestSignature',
      'query Events',
    ]);
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
  }, 120_000);

  it('enforce one live integration per provider per tenant with a partial unique index', async () => {
    const migrations = await readMigrations();
    expect(migrations.map((m) => m.sql).join('\n')).toMatch(
      /CREATE UNIQUE INDEX "Integration_tenantId_provider_live_key" ON "Integration"\("tenantId", "provider"\) WHERE "deletedAt" IS NULL/,
    );
  });
});
