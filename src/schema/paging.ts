import { type GraphQLResolveInfo, Kind, type SelectionSetNode } from 'graphql';
import type { Context } from '../context.ts';
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

type PageArgs = { first?: number | null; last?: number | null; after?: string | null; before?: string | null };

/**
 * Whether a page of these arguments holds every row that matches, given that at most `most` can
 * (a bound the database holds, such as one live integration per provider): the first page, read
 * forward, at least that long.
 */
export function holdsEveryRow(args: PageArgs, most: number): boolean {
  return args.after == null && args.before == null && args.last == null && (args.first ?? DEFAULT_PAGE_SIZE) >= most;
}

/**
 * A connection's count, started in the same tick as its page when the request selects
 * `totalCount`, so both reads share one transaction (src/db/tenant.ts batches the reads of a tick)
 * instead of the count running in a second one after the page (the connection's `totalCount` runs
 * only once the page resolved). The page resolver calls `start` after its argument guard; `totalCount`
 * is the connection's option of that name, and takes the started count (or counts anew).
 *
 * A page resolver that learns the count with its page gives it to `start` (`known`, resolving to
 * undefined when it did not learn it after all; called only when `totalCount` is asked for, so a
 * failed page leaves no promise unread): no COUNT is sent then. A first page that comes
 * back with no more rows than asked for holds every matching row, so its length is the count
 * (`uncutLength`).
 */
export function pageCount<Args extends object>(count: (args: Args, ctx: Context) => Promise<number>) {
  /** Counts this connection's page resolver started, per request, by arguments. */
  const startedCounts = new WeakMap<Context, Map<string, Promise<number>>>();
  return {
    start(ctx: Context, args: Args & PageArgs, info: GraphQLResolveInfo, known?: () => Promise<number | undefined>): void {
      if (!selects(info, 'totalCount')) return;
      const promise = known ? known().then((n) => n ?? count(args, ctx)) : count(args, ctx);
      // when the page fails, its count is never read: the page's error is the one reported
      promise.catch(() => {});
      let byArgs = startedCounts.get(ctx);
      if (!byArgs) startedCounts.set(ctx, (byArgs = new Map()));
      byArgs.set(JSON.stringify(args), promise);
    },
    totalCount(_root: unknown, args: Args & PageArgs, ctx: Context): Promise<number> {
      pageArgsGuard(args);
      const key = JSON.stringify(args);
      const started = startedCounts.get(ctx)?.get(key);
      if (!started) return count(args, ctx);
      startedCounts.get(ctx)!.delete(key);
      return started;
    },
  };
}

/** The length of a first page that holds every matching row (no more than asked for), else undefined. */
export function uncutLength(args: PageArgs, rows: readonly unknown[]): number | undefined {
  const first = args.after == null && args.before == null && args.last == null;
  return first && rows.length <= (args.first ?? DEFAULT_PAGE_SIZE) ? rows.length : undefined;
}
