/**
 * Every documented operation (the ```graphql blocks of README.md and docs/*.md, GraphiQL's default
 * document and introspection query, the example client's operations and persisted documents) is
 * valid against the schema and stays well inside every document limit, so a limit can never
 * silently break the documentation. "Well inside": four levels below the depth limit, at most a
 * fifth of the others.
 */
import { parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DOCUMENT_LIMITS } from '../../src/graphql/yoga.ts';
import { schema } from '../../src/schema/index.ts';
import { documentedOperations, measure } from '../helpers/documented-operations.ts';

/** The most a documented operation may measure, per limit. */
const WELL_INSIDE = {
  depth: DOCUMENT_LIMITS.depth - 4,
  aliases: DOCUMENT_LIMITS.aliases / 5,
  tokens: DOCUMENT_LIMITS.tokens / 5,
  cost: DOCUMENT_LIMITS.cost / 5,
};
const operations = documentedOperations();

describe('documented operations', () => {
  it('are found where they are documented', () => {
    const where = operations.map((o) => o.where);
    expect(where.filter((w) => w.startsWith('README.md ')).length).toBeGreaterThanOrEqual(1);
    expect(where.filter((w) => /^(README\.md|docs\/[^ ]+\.md) /.test(w)).length).toBeGreaterThanOrEqual(5);
    expect(where).toContain('GraphiQL default document');
    expect(where).toContain('GraphiQL introspection query');
  });

  it.each(operations.map((o) => [o.where, o.source] as const))('%s is valid against the schema', (_where, source) => {
    expect(validate(schema, parse(source)).map((e) => e.message)).toEqual([]);
  });

  it.each(operations.map((o) => [o.where, o.source] as const))('%s is well inside every limit', (_where, source) => {
    const measured = measure(schema, source);
    for (const limit of ['depth', 'aliases', 'tokens', 'cost'] as const) {
      expect(measured[limit], `${limit}: ${measured[limit]}, limit ${DOCUMENT_LIMITS[limit]}`).toBeLessThanOrEqual(WELL_INSIDE[limit]);
    }
  });
});
