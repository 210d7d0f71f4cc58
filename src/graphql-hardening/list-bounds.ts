/**
 * Every list a response can hold has a bound the cost check knows. Connections take `first`/`last`
 * (at most MAX_PAGE_SIZE); every other list of objects declares its largest possible length in its
 * field's `extensions.maxItems` (a tenant cap, a retry limit, the catalog's size), and the cost
 * check multiplies by it as it multiplies by a page size (src/graphql-hardening/cost.ts).
 * test/unit/list-bounds.test.ts fails when a list of objects declares none.
 */
import { type GraphQLField, getNamedType, getNullableType, isCompositeType, isListType } from 'graphql';

/** The `extensions` a list field declares its bound with: `t.field({ …, extensions: maxItems(100) })`. */
export function maxItems(n: number) {
  return { maxItems: n };
}

/** The declared bound of a field's list, if it declares one. */
export function declaredMaxItems(field: GraphQLField<unknown, unknown>): number | undefined {
  const n = (field.extensions as { maxItems?: unknown } | undefined)?.maxItems;
  return typeof n === 'number' ? n : undefined;
}

/** Whether the field returns a list of objects (what multiplies a response's size). */
export function isObjectList(field: GraphQLField<unknown, unknown>): boolean {
  return isListType(getNullableType(field.type)) && isCompositeType(getNamedType(field.type));
}
