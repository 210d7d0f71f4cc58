/**
 * Relay paging (`first`/`after`) with a stack of the cursors already passed, so Previous
 * returns to the exact page it came from.
 */
import { useState } from 'react';

export const PAGE_SIZE = 10;

export function usePager() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return {
    after: cursors.at(-1) ?? null,
    page: cursors.length,
    next: (endCursor: string | null | undefined) => endCursor && setCursors((c) => [...c, endCursor]),
    previous: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
    reset: () => setCursors([null]),
  };
}

export function Pager({
  pager,
  pageInfo,
  totalCount,
  label,
}: {
  pager: ReturnType<typeof usePager>;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null } | undefined;
  totalCount: number | undefined;
  label: string;
}) {
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" disabled={pager.page <= 1} onClick={pager.previous}>
        Previous
      </button>
      <span>
        Page {pager.page}
        {totalCount !== undefined ? ` · ${totalCount} in all` : ''}
      </span>
      <button type="button" disabled={!pageInfo?.hasNextPage} onClick={() => pager.next(pageInfo?.endCursor)}>
        Next
      </button>
    </nav>
  );
}

/** Pages of a list the API returns whole (and bounded): nothing when it fits on one page. */
export function ListPager({
  page,
  perPage,
  total,
  label,
  onPage,
}: {
  page: number;
  perPage: number;
  total: number;
  label: string;
  onPage: (page: number) => void;
}) {
  if (total <= perPage) return null;
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" disabled={page === 0} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span>
        Page {page + 1} of {Math.ceil(total / perPage)} · {total} in all
      </span>
      <button type="button" disabled={(page + 1) * perPage >= total} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}
