import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { badArgument } from '../errors.ts';

/** Page sizes of every connection (set once in src/builder.ts, stated in the paging arguments' descriptions). */
export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 100;

/** Relay paging limits: more than MAX_PAGE_SIZE a page, or a negative size, is an error. */
export function pageArgsGuard(args: { first?: number | null; last?: number | null }) {
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value == null) continue;
    if (value < 0) throw badArgument(name, 'must not be negative');
    if (value > MAX_PAGE_SIZE) throw badArgument(name, `must be at most ${MAX_PAGE_SIZE}`);
  }
}

/**
 * Options for a connection's `totalCount` field, to pass to `t.int` in the connection options'
 * `fields`. plugin-prisma adds `totalCount` without a description and has no option to give it
 * one; a field of the same name in `fields` replaces its own (the plugin's documented pattern for
 * custom connection objects). The parent holds the count, or a function that loads it
 * (prismaConnection); the extension keeps the plugin's "only totalCount selected → skip the page
 * query" shortcut working.
 */
export function totalCountField(description: string) {
  return {
    description,
    extensions: { pothosPrismaTotalCount: true },
    resolve: (connection: object) => {
      const { totalCount } = connection as { totalCount?: number | Promise<number> | (() => number | Promise<number>) };
      return (typeof totalCount === 'function' ? totalCount() : totalCount) as number | Promise<number>;
    },
  };
}

/** Whether the field being resolved selects `name` directly, through inline fragments or fragment spreads. */
function selects(info: GraphQLResolveInfo, name: string): boolean {
  const seen = new Set<string>();
  const within = (set: SelectionSetNode | undefined): boolean =>
    (set?.selections ?? []).some((s) => {
      if (s.kind === Kind.FIELD) return s.name.value === name;
      if (s.kind === Kind.INLINE_FRAGMENT) return within(s.selectionSet);
      if (seen.has(s.name.value)) return false;
      seen.add(s.name.value);
      return within(info.fragments[s.name.value]?.selectionSet);
    });
  return info.fieldNodes.some((node) => within(node.selectionSet));
}

/** Counts started by a connection's page resolver, per request, by the connection's arguments. */
const startedCounts = new WeakMap<object, Map<string, Promise<number>>>();

/**
 * Starts a connection's count in the same tick as its page when the request selects `totalCount`,
 * so both reads share one transaction (src/db/tenant.ts batches the reads of a tick) instead of
 * the count running in a second one after the page (the connection's `totalCount` runs only once
 * the page resolved). Call it from the page resolver, after the argument guard; the connection's
 * `totalCount` takes the count with `startedCount`.
 */
export function startCount(ctx: object, args: object, info: GraphQLResolveInfo, count: () => Promise<number>): void {
  if (!selects(info, 'totalCount')) return;
  const promise = count();
  // when the page fails, its count is never read: the page's error is the one reported
  promise.catch(() => {});
  let byArgs = startedCounts.get(ctx);
  if (!byArgs) startedCounts.set(ctx, (byArgs = new Map()));
  byArgs.set(JSON.stringify(args), promise);
}

/** The count `startCount` began for these arguments (taken once), else a new one. */
export function startedCount(ctx: object, args: object, count: () => Promise<number>): Promise<number> {
  const key = JSON.stringify(args);
  const byArgs = startedCounts.get(ctx);
  const started = byArgs?.get(key);
  if (!started) return count();
  byArgs!.delete(key);
  return started;
}
