/** The operations log, newest first, a page at a time; each row opens to show its attempts. */
import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../gql';
import type { OperationStatus } from '../gql/graphql';
import { ErrorBanner, StatusBadge, When } from '../ui/common.tsx';
import { PAGE_SIZE, Pager, usePager } from '../ui/pager.tsx';

const OperationsQuery = graphql(`
  query ConsoleOperations($first: Int!, $after: String, $status: OperationStatus) {
    operations(first: $first, after: $after, status: $status) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          capability
          status
          createdAt
          completedAt
          usedFallback
          deliveryStatus
          providerReference
          attemptCount
          error {
            code
            message
          }
          integration {
            id
            provider {
              displayName
            }
          }
          attempts {
            attemptNumber
            outcome
            httpStatus
            durationMs
            error
            startedAt
            integration {
              id
              provider {
                displayName
              }
            }
          }
        }
      }
    }
  }
`);

const STATUSES: OperationStatus[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED'];

export function OperationsPage() {
  const pager = usePager();
  const [status, setStatus] = useState<OperationStatus | ''>('');
  const [{ data, error, fetching }] = useQuery({
    query: OperationsQuery,
    variables: { first: PAGE_SIZE, after: pager.after, status: status || null },
  });
  return (
    <section aria-labelledby="operations-title">
      <div className="page-head">
        <h1 id="operations-title">Operations</h1>
        <div className="filters">
          <label htmlFor="operation-status">Status</label>
          <select
            id="operation-status"
            value={status}
            onChange={(e) => {
              setStatus(e.target.value as OperationStatus | '');
              pager.reset();
            }}
          >
            <option value="">All</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.toLowerCase()}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorBanner error={error} />
      {fetching && !data ? <p>Loading…</p> : null}
      {data && data.operations.edges.length === 0 ? <p>No operations yet.</p> : null}
      <ul className="rows">
        {(data?.operations.edges ?? []).map(({ node: o }) => (
          <li key={o.id} className="row">
            <details>
              <summary>
                <StatusBadge status={o.status} /> <strong>{o.capability}</strong> via {o.integration?.provider.displayName ?? '—'} ·{' '}
                <When at={o.createdAt} /> · {o.attemptCount} attempt(s)
                {o.deliveryStatus ? ` · delivery ${o.deliveryStatus}` : ''}
              </summary>
              <dl className="facts">
                <dt>Id</dt>
                <dd>
                  <code>{o.id}</code>
                </dd>
                {o.providerReference ? (
                  <>
                    <dt>Provider reference</dt>
                    <dd>
                      <code>{o.providerReference}</code>
                    </dd>
                  </>
                ) : null}
                {o.error ? (
                  <>
                    <dt>Error</dt>
                    <dd className="last-error">
                      {o.error.code}: {o.error.message}
                    </dd>
                  </>
                ) : null}
                {o.usedFallback ? (
                  <>
                    <dt>Fallback</dt>
                    <dd>used</dd>
                  </>
                ) : null}
              </dl>
              <table>
                <caption>Attempts</caption>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Integration</th>
                    <th scope="col">Outcome</th>
                    <th scope="col">HTTP</th>
                    <th scope="col">Time</th>
                  </tr>
                </thead>
                <tbody>
                  {o.attempts.map((a) => (
                    <tr key={a.attemptNumber}>
                      <td>{a.attemptNumber}</td>
                      <td>{a.integration.provider.displayName}</td>
                      <td>
                        {a.outcome}
                        {a.error ? <span className="last-error"> {a.error}</span> : null}
                      </td>
                      <td>{a.httpStatus ?? '—'}</td>
                      <td>{a.durationMs} ms</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          </li>
        ))}
      </ul>
      <Pager pager={pager} pageInfo={data?.operations.pageInfo} totalCount={data?.operations.totalCount} label="Operation" />
    </section>
  );
}
