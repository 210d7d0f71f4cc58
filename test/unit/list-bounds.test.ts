/**
 * Every list of objects in the schema is bounded where the cost check can see it: a connection's
 * page size, or a declared maxItems (src/graphql-hardening/list-bounds.ts). A new unbounded list
 * fails here before it can be the next heap exhaustion.
 */
import { getOperationAST, isObjectType, parse } from 'graphql';
import { expect, it } from 'vitest';
import { TENANT_CAPS } from '../../src/db/tenant-caps.ts';
import { costOf } from '../../src/graphql-hardening/cost.ts';
import { declaredMaxItems, isObjectList } from '../../src/graphql-hardening/list-bounds.ts';
import { schema } from '../../src/schema/index.ts';

it('gives every list of objects a bound: a page size, or a declared maxItems', () => {
  const unbounded: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (!isObjectList(field)) continue;
      const paged = field.args.some((a) => a.name === 'first' || a.name === 'last');
      // a connection's edges are as many as its field's first/last
      const edgesOfPage = type.name.endsWith('Connection') && field.name === 'edges';
      if (!paged && !edgesOfPage && declaredMaxItems(field) === undefined) unbounded.push(`${type.name}.${field.name}`);
    }
  }
  expect(unbounded).toEqual([]);
});

it('counts an unpaged list as its bound, so nesting it multiplies the cost', () => {
  const cost = (query: string) => {
    const document = parse(query);
    return costOf(schema, document, getOperationAST(document)!);
  };
  const one = cost('{ routingRules { id } }');
  const nested = cost('{ routingRules { id integration { id routingRules { id } } } }');
  expect(one).toBeGreaterThanOrEqual(TENANT_CAPS.routingRules);
  expect(nested).toBeGreaterThanOrEqual(TENANT_CAPS.routingRules ** 2);
});
