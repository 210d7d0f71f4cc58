import { badArgument } from '../errors.ts';

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
