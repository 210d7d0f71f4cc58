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
