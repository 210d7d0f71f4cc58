/**
 * The tenant's integrations: status badges kept live by integrationStatusChanged, the last error,
 * and the lifecycle actions, each confirmed first. A VERSION_CONFLICT is reported as such.
 */
import { useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { freshest, IntegrationStatusSubscription, VerifyIntegrationMutation } from '../documents.ts';
import { graphql } from '../gql';
import type { IntegrationRowFragment, IntegrationStatus } from '../gql/graphql';
import { Link } from '../router.tsx';
import { describeError, ErrorBanner, StatusBadge, When } from '../ui/common.tsx';
import { ConfirmDialog } from '../ui/dialog.tsx';
import { PAGE_SIZE, Pager, usePager } from '../ui/pager.tsx';

/** A stable context (urql re-runs a query whose context object changes): refetch after mutations returning Integration. */
const INTEGRATION_TYPENAMES = { additionalTypenames: ['Integration'] };

const IntegrationsQuery = graphql(`
  query ConsoleIntegrations($first: Int!, $after: String, $status: IntegrationStatus) {
    integrations(first: $first, after: $after, status: $status) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...IntegrationRow
        }
      }
    }
  }
`);

const ActivateMutation = graphql(`
  mutation ConsoleActivateIntegration($id: ID!) {
    activateIntegration(input: { id: $id }) {
      __typename
      ... on ActivateIntegrationPayload {
        integration {
          ...IntegrationRow
        }
      }
      ...Failure
    }
  }
`);

const DisableMutation = graphql(`
  mutation ConsoleDisableIntegration($id: ID!) {
    disableIntegration(input: { id: $id }) {
      __typename
      ... on DisableIntegrationPayload {
        integration {
          ...IntegrationRow
        }
      }
      ...Failure
    }
  }
`);

const DeleteMutation = graphql(`
  mutation ConsoleDeleteIntegration($id: ID!) {
    deleteIntegration(input: { id: $id }) {
      __typename
      ... on DeleteIntegrationPayload {
        deletedId
        affectedRoutingRules {
          id
          capability
        }
      }
      ...Failure
    }
  }
`);

type Action = 'verify' | 'activate' | 'disable' | 'delete';
const ACTIONS: Record<Action, { label: string; title: string; text: string; danger?: boolean }> = {
  verify: { label: 'Verify', title: 'Verify now?', text: 'Checks the stored credentials against the provider again.' },
  activate: { label: 'Activate', title: 'Activate?', text: 'Routing may send operations through it again.' },
  disable: { label: 'Disable', title: 'Disable?', text: 'Routing stops using it; operations fail over or fail.', danger: true },
  delete: {
    label: 'Delete',
    title: 'Delete this integration?',
    text: 'Its credentials are erased and routing rules that name it stop working. This cannot be undone.',
    danger: true,
  },
};

const STATUSES: IntegrationStatus[] = ['ACTIVE', 'ERROR', 'PENDING_VERIFY', 'INACTIVE'];

export function IntegrationsPage() {
  const pager = usePager();
  const [status, setStatus] = useState<IntegrationStatus | ''>('');
  const [{ data, error, fetching }, refetch] = useQuery({
    query: IntegrationsQuery,
    variables: { first: PAGE_SIZE, after: pager.after, status: status || null },
    context: INTEGRATION_TYPENAMES,
  });
  const [live] = useSubscription(
    { query: IntegrationStatusSubscription, variables: {} },
    (seen: Record<string, IntegrationRowFragment> = {}, d) => ({
      ...seen,
      [d.integrationStatusChanged.id]: d.integrationStatusChanged,
    }),
  );
  const [pending, setPending] = useState<{ action: Action; integration: IntegrationRowFragment } | null>(null);
  const [notice, setNotice] = useState<{ kind: 'error' | 'ok'; text: string } | null>(null);
  const [, verify] = useMutation(VerifyIntegrationMutation);
  const [, activate] = useMutation(ActivateMutation);
  const [, disable] = useMutation(DisableMutation);
  const [, remove] = useMutation(DeleteMutation);

  const run = async (action: Action, integration: IntegrationRowFragment) => {
    setNotice(null);
    const vars = { id: integration.id };
    const answer =
      action === 'verify'
        ? await verify(vars)
        : action === 'activate'
          ? await activate(vars)
          : action === 'disable'
            ? await disable(vars)
            : await remove(vars);
    const result = answer.data ? Object.values(answer.data)[0] : undefined;
    if (!result) return setNotice({ kind: 'error', text: answer.error?.message ?? 'The request failed' });
    if ('code' in result && result.code) return setNotice({ kind: 'error', text: describeError(result) });
    const name = integration.provider.displayName;
    if (action === 'delete') {
      const rules = 'affectedRoutingRules' in result ? (result.affectedRoutingRules ?? []) : [];
      setNotice({ kind: 'ok', text: `${name} deleted${rules.length ? `; ${rules.length} routing rule(s) named it` : ''}.` });
      refetch({ requestPolicy: 'network-only' });
    } else setNotice({ kind: 'ok', text: `${name}: ${ACTIONS[action].label.toLowerCase()} requested.` });
  };

  const rows = (data?.integrations.edges ?? []).map((e) => freshest(e.node, live.data?.[e.node.id]));
  return (
    <section aria-labelledby="integrations-title">
      <div className="page-head">
        <h1 id="integrations-title">Integrations</h1>
        <div className="filters">
          <label htmlFor="status-filter">Status</label>
          <select
            id="status-filter"
            value={status}
            onChange={(e) => {
              setStatus(e.target.value as IntegrationStatus | '');
              pager.reset();
            }}
          >
            <option value="">All</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ').toLowerCase()}
              </option>
            ))}
          </select>
          <Link to="/providers" className="button primary">
            Connect a provider
          </Link>
        </div>
      </div>
      <ErrorBanner error={error} />
      {notice ? (
        <p className={`banner ${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'}>
          {notice.text}
        </p>
      ) : null}
      {fetching && !data ? <p>Loading…</p> : null}
      {data && rows.length === 0 ? (
        <p>
          No integrations yet. <Link to="/providers">Connect a provider</Link>.
        </p>
      ) : null}
      <ul className="rows">
        {rows.map((i) => (
          <li key={i.id} className="row" data-integration={i.provider.name}>
            <div className="row-main">
              {i.provider.logoUrl ? <img src={i.provider.logoUrl} alt="" width={32} height={32} /> : null}
              <div>
                <h2>
                  <Link to={`/providers/${encodeURIComponent(i.provider.name)}`}>{i.provider.displayName}</Link>
                </h2>
                <p className="muted">
                  verified <When at={i.verifiedAt} /> · v{i.version} · {i.enabledCapabilities.join(', ')}
                </p>
                {i.lastError ? <p className="last-error">{i.lastError}</p> : null}
              </div>
              <StatusBadge status={i.status} />
            </div>
            <div className="actions">
              {(['verify', 'activate', 'disable'] as const)
                .filter((a) =>
                  a === 'activate' ? i.status === 'INACTIVE' || i.status === 'ERROR' : a === 'disable' ? i.status !== 'INACTIVE' : true,
                )
                .map((a) => (
                  <button key={a} type="button" onClick={() => setPending({ action: a, integration: i })}>
                    {ACTIONS[a].label}
                    <span className="visually-hidden"> {i.provider.displayName}</span>
                  </button>
                ))}
              <Link to={`/providers/${encodeURIComponent(i.provider.name)}`} className="button">
                Rotate credentials<span className="visually-hidden"> of {i.provider.displayName}</span>
              </Link>
              <button type="button" className="danger" onClick={() => setPending({ action: 'delete', integration: i })}>
                Delete<span className="visually-hidden"> {i.provider.displayName}</span>
              </button>
            </div>
          </li>
        ))}
      </ul>
      <Pager pager={pager} pageInfo={data?.integrations.pageInfo} totalCount={data?.integrations.totalCount} label="Integration" />
      {pending ? (
        <ConfirmDialog
          title={`${pending.integration.provider.displayName}: ${ACTIONS[pending.action].title}`}
          confirmLabel={ACTIONS[pending.action].label}
          danger={ACTIONS[pending.action].danger}
          onConfirm={() => run(pending.action, pending.integration)}
          onClose={() => setPending(null)}
        >
          <p>{ACTIONS[pending.action].text}</p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
