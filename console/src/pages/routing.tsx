/**
 * Routing rules of one capability at a time (ten to a page), with resolveRoute's answer to "which integration
 * serves this now", a form to add a rule, and deletion with confirmation.
 */
import { type FormEvent, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import { describeError, ErrorBanner, StatusBadge } from '../ui/common.tsx';
import { ConfirmDialog } from '../ui/dialog.tsx';
import { ListPager } from '../ui/pager.tsx';

/** A stable context (urql re-runs a query whose context object changes): refetch after mutations returning RoutingRule. */
const ROUTING_RULE_TYPENAMES = { additionalTypenames: ['RoutingRule'] };
const PER_PAGE = 10;

const CapabilitiesQuery = graphql(`
  query ConsoleCapabilities {
    providers {
      id
      capabilities
    }
  }
`);

const RoutingQuery = graphql(`
  query ConsoleRouting($capability: String!) {
    routingRules(capability: $capability) {
      id
      priority
      isDefault
      version
      integration {
        id
        status
        provider {
          displayName
        }
      }
      fallbackIntegration {
        id
        status
        provider {
          displayName
        }
      }
    }
    resolveRoute(capability: $capability) {
      usedFallback
      integration {
        id
        status
        provider {
          displayName
        }
      }
      rule {
        id
      }
      error {
        code
        message
      }
    }
    integrations(first: 100) {
      edges {
        node {
          id
          status
          enabledCapabilities
          provider {
            displayName
          }
        }
      }
    }
  }
`);

const CreateRuleMutation = graphql(`
  mutation ConsoleCreateRoutingRule($input: CreateRoutingRuleInput!) {
    createRoutingRule(input: $input) {
      __typename
      ... on CreateRoutingRulePayload {
        routingRule {
          id
        }
      }
      ...Failure
    }
  }
`);

const DeleteRuleMutation = graphql(`
  mutation ConsoleDeleteRoutingRule($id: ID!) {
    deleteRoutingRule(input: { id: $id }) {
      __typename
      ...Failure
    }
  }
`);

export function RoutingPage() {
  const [{ data: caps }] = useQuery({ query: CapabilitiesQuery });
  const capabilities = [...new Set((caps?.providers ?? []).flatMap((p) => p.capabilities))].sort();
  const [chosen, setChosen] = useState('');
  const capability = chosen || capabilities[0] || '';
  const [{ data, error }, refetch] = useQuery({
    query: RoutingQuery,
    variables: { capability },
    pause: !capability,
    context: ROUTING_RULE_TYPENAMES,
  });
  const [, createRule] = useMutation(CreateRuleMutation);
  const [, deleteRule] = useMutation(DeleteRuleMutation);
  const [message, setMessage] = useState<string | null>(null);
  const [form, setForm] = useState({ integrationId: '', fallbackIntegrationId: '', priority: '0', isDefault: false });
  const [removing, setRemoving] = useState<string | null>(null);
  // at most 100 rules (the API's bound), shown a page at a time
  const [wanted, setPage] = useState(0);
  const rules = data?.routingRules ?? [];
  // a deletion may leave the page past the last one
  const page = Math.max(0, Math.min(wanted, Math.ceil(rules.length / PER_PAGE) - 1));
  const shown = rules.slice(page * PER_PAGE, (page + 1) * PER_PAGE);
  const candidates = (data?.integrations.edges ?? []).map((e) => e.node).filter((n) => n.enabledCapabilities.includes(capability));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setMessage(null);
    const answer = await createRule({
      input: {
        capability,
        integrationId: form.integrationId,
        fallbackIntegrationId: form.fallbackIntegrationId || null,
        priority: Number(form.priority) || 0,
        isDefault: form.isDefault,
      },
    });
    const result = answer.data?.createRoutingRule;
    if (!result) return setMessage(answer.error?.message ?? 'The request failed');
    if (result.__typename !== 'CreateRoutingRulePayload' && 'message' in result) {
      const fields = 'fieldErrors' in result ? result.fieldErrors.map((f) => `${f.path.join('.')} ${f.message}`).join('; ') : '';
      return setMessage(`${describeError(result)}${fields ? `: ${fields}` : ''}`);
    }
    refetch({ requestPolicy: 'network-only' });
  };

  const route = data?.resolveRoute;
  return (
    <section aria-labelledby="routing-title">
      <div className="page-head">
        <h1 id="routing-title">Routing</h1>
        <div className="filters">
          <label htmlFor="capability">Capability</label>
          <select
            id="capability"
            value={capability}
            onChange={(e) => {
              setChosen(e.target.value);
              setPage(0);
            }}
          >
            {capabilities.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorBanner error={error} />
      <ErrorBanner error={message} />
      {route ? (
        <div className="card preview" aria-live="polite">
          <h2>Serving {capability} now</h2>
          {route.integration ? (
            <p>
              <strong>{route.integration.provider.displayName}</strong> <StatusBadge status={route.integration.status} />
              {route.usedFallback ? ' (the fallback: the rule’s first choice is not active)' : ''}
            </p>
          ) : (
            <p className="last-error">{route.error?.message ?? 'Nothing would serve it.'}</p>
          )}
        </div>
      ) : null}
      <table>
        <caption className="visually-hidden">Rules for {capability}</caption>
        <thead>
          <tr>
            <th scope="col">Priority</th>
            <th scope="col">Integration</th>
            <th scope="col">Fallback</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.id} className={route?.rule?.id === r.id ? 'current' : undefined}>
              <td>
                {r.priority}
                {r.isDefault ? ' (default)' : ''}
              </td>
              <td>
                {r.integration.provider.displayName} <StatusBadge status={r.integration.status} />
              </td>
              <td>{r.fallbackIntegration ? r.fallbackIntegration.provider.displayName : '—'}</td>
              <td>
                <button type="button" className="danger" onClick={() => setRemoving(r.id)}>
                  Delete<span className="visually-hidden"> rule {r.priority}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && rules.length === 0 ? <p>No rules for {capability}.</p> : null}
      <ListPager page={page} perPage={PER_PAGE} total={rules.length} label="Rule" onPage={setPage} />
      <form className="card inline-form" onSubmit={submit}>
        <h2>Add a rule</h2>
        <div className="field">
          <label htmlFor="rule-integration">Integration</label>
          <select
            id="rule-integration"
            required
            value={form.integrationId}
            onChange={(e) => setForm({ ...form, integrationId: e.target.value })}
          >
            <option value="">Choose…</option>
            {candidates.map((c) => (
              <option key={c.id} value={c.id}>
                {c.provider.displayName} ({c.status.toLowerCase()})
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="rule-fallback">Fallback</label>
          <select
            id="rule-fallback"
            value={form.fallbackIntegrationId}
            onChange={(e) => setForm({ ...form, fallbackIntegrationId: e.target.value })}
          >
            <option value="">None</option>
            {candidates
              .filter((c) => c.id !== form.integrationId)
              .map((c) => (
                <option key={c.id} value={c.id}>
                  {c.provider.displayName}
                </option>
              ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="rule-priority">Priority</label>
          <input id="rule-priority" type="number" value={form.priority} onChange={(e) => setForm({ ...form, priority: e.target.value })} />
        </div>
        <div className="field checkbox">
          <input
            id="rule-default"
            type="checkbox"
            checked={form.isDefault}
            onChange={(e) => setForm({ ...form, isDefault: e.target.checked })}
          />
          <label htmlFor="rule-default">Default rule</label>
        </div>
        <div className="actions">
          <button type="submit" className="primary" disabled={!capability}>
            Add rule
          </button>
        </div>
      </form>
      {removing ? (
        <ConfirmDialog
          title="Delete this rule?"
          confirmLabel="Delete"
          danger
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            const r = (await deleteRule({ id: removing })).data?.deleteRoutingRule;
            if (r && 'message' in r && r.message) setMessage(describeError(r));
            refetch({ requestPolicy: 'network-only' });
          }}
        >
          <p>Operations of {capability} are routed by the remaining rules.</p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
