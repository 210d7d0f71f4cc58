import { isObjectType, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { CACHED_FIELDS, ChangeVersions, isCacheable, UNCACHED_FIELDS } from '../../src/cache/response-cache.ts';
import { schema } from '../../src/schema/index.ts';

describe('CACHED_FIELDS', () => {
  it('classifies every field of every cached type (a new field must be judged: does it read only Integration rows?)', () => {
    for (const typeName of Object.keys(CACHED_FIELDS).filter((t) => t !== 'Query')) {
      const type = schema.getType(typeName);
      expect(isObjectType(type), typeName).toBe(true);
      const fields = Object.keys(isObjectType(type) ? type.getFields() : {}).map((f) => `${typeName}.${f}`);
      const classified = [
        ...CACHED_FIELDS[typeName]!.map((f) => `${typeName}.${f}`),
        ...UNCACHED_FIELDS.filter((f) => f.startsWith(`${typeName}.`)),
      ];
      expect(classified.sort(), typeName).toEqual(fields.sort());
    }
  });

  it('names only root fields that exist', () => {
    const root = Object.keys(schema.getQueryType()!.getFields());
    for (const field of CACHED_FIELDS.Query!) expect(root).toContain(field);
  });
});

describe('isCacheable', () => {
  const cacheable = (text: string, name?: string) => isCacheable(schema, parse(text), name);

  it('takes queries of the integrations read model, fragments and __typename included', () => {
    expect(cacheable('{ integrations { totalCount edges { node { id provider { name integration { status } } } } } }')).toBe(true);
    expect(cacheable('query Q { __typename providers { ...P } } fragment P on Provider { name isConfigured }')).toBe(true);
  });

  it('refuses anything else: other fields, mutations, subscriptions, introspection, no data at all', () => {
    expect(cacheable('{ integrations { edges { node { routingRules { id } } } } }')).toBe(false);
    expect(cacheable('{ integrations { totalCount } webhooks { totalCount } }')).toBe(false);
    expect(cacheable('{ node(id: "x") { id } }')).toBe(false);
    expect(cacheable('{ __schema { queryType { name } } }')).toBe(false);
    expect(cacheable('mutation { deleteIntegration(input: { id: "x" }) { __typename } }')).toBe(false);
    expect(cacheable('subscription { integrationStatusChanged { id } }')).toBe(false);
    expect(cacheable('{ __typename }')).toBe(false);
    expect(cacheable('query A { integrations { totalCount } } query B { integrations { totalCount } }')).toBe(false);
    expect(cacheable('query A { integrations { totalCount } } query B { integrations { totalCount } }', 'A')).toBe(true);
  });
});

describe('ChangeVersions', () => {
  it('moves a tenant’s version on its own changes only', () => {
    const versions = new ChangeVersions();
    const a = versions.of('a');
    const b = versions.of('b');
    versions.changed('a');
    expect(versions.of('a')).not.toBe(a);
    expect(versions.of('b')).toBe(b);
  });

  it('has no version while changes may go unheard, and never gives an old one back', () => {
    const versions = new ChangeVersions();
    versions.changed('a');
    const seen = new Set([versions.of('a'), versions.of('b')]);
    versions.deaf();
    expect(versions.of('a')).toBeUndefined();
    versions.changed('a');
    expect(versions.of('a')).toBeUndefined();
    versions.hearing();
    expect(seen.has(versions.of('a'))).toBe(false);
    expect(seen.has(versions.of('b'))).toBe(false);
  });

  it('starts deaf when told to', () => {
    expect(new ChangeVersions(false).of('a')).toBeUndefined();
  });
});
