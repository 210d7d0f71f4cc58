/** API keys: the list (paged), create (the secret shown once), revoke with confirmation. */
import { type FormEvent, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import type { Scope } from '../gql/graphql';
import { describeError, ErrorBanner, SecretOnce, When } from '../ui/common.tsx';
import { ConfirmDialog } from '../ui/dialog.tsx';
import { PAGE_SIZE, Pager, usePager } from '../ui/pager.tsx';

/** A stable context (urql re-runs a query whose context object changes): refetch after mutations returning ApiKey. */
const API_KEY_TYPENAMES = { additionalTypenames: ['ApiKey'] };

const ApiKeysQuery = graphql(`
  query ConsoleApiKeys($first: Int!, $after: String) {
    apiKeys(first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          prefix
          scopes
          createdAt
          lastUsedAt
          revokedAt
        }
      }
    }
  }
`);

const CreateApiKeyMutation = graphql(`
  mutation ConsoleCreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      __typename
      ... on CreateApiKeyPayload {
        secret
        apiKey {
          id
          name
        }
      }
      ...Failure
    }
  }
`);

const RevokeApiKeyMutation = graphql(`
  mutation ConsoleRevokeApiKey($id: ID!) {
    revokeApiKey(input: { id: $id }) {
      __typename
      ... on RevokeApiKeyPayload {
        apiKey {
          id
          revokedAt
        }
      }
      ...Failure
    }
  }
`);

/** Scope enum value → the scope string createApiKey takes. */
const SCOPES: { value: Scope; scope: string }[] = [
  { value: 'INTEGRATIONS_READ', scope: 'integrations:read' },
  { value: 'INTEGRATIONS_WRITE', scope: 'integrations:write' },
  { value: 'OPERATIONS_READ', scope: 'operations:read' },
  { value: 'OPERATIONS_WRITE', scope: 'operations:write' },
  { value: 'WEBHOOKS_READ', scope: 'webhooks:read' },
  { value: 'WEBHOOKS_WRITE', scope: 'webhooks:write' },
];

export function ApiKeysPage() {
  const pager = usePager();
  const [{ data, error }, refetch] = useQuery({
    query: ApiKeysQuery,
    variables: { first: PAGE_SIZE, after: pager.after },
    context: API_KEY_TYPENAMES,
  });
  const [, create] = useMutation(CreateApiKeyMutation);
  const [, revoke] = useMutation(RevokeApiKeyMutation);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['integrations:read']);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<{ id: string; name: string } | null>(null);
  const reload = () => refetch({ requestPolicy: 'network-only' });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setMessage(null);
    const answer = await create({ input: { name, scopes } });
    const result = answer.data?.createApiKey;
    if (!result) return setMessage(answer.error?.message ?? 'The request failed');
    if (result.__typename === 'CreateApiKeyPayload') {
      setCreated({ name: result.apiKey.name, secret: result.secret });
      setName('');
      return reload();
    }
    const fields = 'fieldErrors' in result ? result.fieldErrors.map((f) => `${f.path.at(-1)} ${f.message}`).join('; ') : '';
    if ('message' in result) setMessage(`${describeError(result)}${fields ? `: ${fields}` : ''}`);
  };

  return (
    <section aria-labelledby="keys-title">
      <div className="page-head">
        <h1 id="keys-title">API keys</h1>
      </div>
      <ErrorBanner error={error} />
      <ErrorBanner error={message} />
      {created ? (
        <div className="card">
          <SecretOnce label={`API key “${created.name}”`} secret={created.secret} />
          <button type="button" onClick={() => setCreated(null)}>
            Done, I have copied it
          </button>
        </div>
      ) : null}
      <form className="card inline-form" onSubmit={submit}>
        <h2>New key</h2>
        <div className="field">
          <label htmlFor="key-name">Name</label>
          <input id="key-name" required value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <div key={s.scope} className="checkbox">
              <input
                id={`scope-${s.value}`}
                type="checkbox"
                checked={scopes.includes(s.scope)}
                onChange={(e) => setScopes(e.target.checked ? [...scopes, s.scope] : scopes.filter((x) => x !== s.scope))}
              />
              <label htmlFor={`scope-${s.value}`}>{s.scope}</label>
            </div>
          ))}
        </fieldset>
        <div className="actions">
          <button type="submit" className="primary">
            Create key
          </button>
        </div>
      </form>
      <table>
        <caption className="visually-hidden">API keys</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Prefix</th>
            <th scope="col">Scopes</th>
            <th scope="col">Last used</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(data?.apiKeys.edges ?? []).map(({ node: k }) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td>
                <code>{k.prefix}…</code>
              </td>
              <td>{k.scopes.map((s) => s.toLowerCase().replace('_', ':')).join(', ')}</td>
              <td>
                <When at={k.lastUsedAt} />
              </td>
              <td>
                {k.revokedAt ? (
                  <span className="muted">
                    revoked <When at={k.revokedAt} />
                  </span>
                ) : (
                  <button type="button" className="danger" onClick={() => setRevoking({ id: k.id, name: k.name })}>
                    Revoke<span className="visually-hidden"> {k.name}</span>
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager pager={pager} pageInfo={data?.apiKeys.pageInfo} totalCount={data?.apiKeys.totalCount} label="API key" />
      {revoking ? (
        <ConfirmDialog
          title={`Revoke “${revoking.name}”?`}
          confirmLabel="Revoke"
          danger
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            const r = (await revoke({ id: revoking.id })).data?.revokeApiKey;
            if (r && 'code' in r && r.code) setMessage(describeError(r));
            reload();
          }}
        >
          <p>Requests with this key are refused from now on.</p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
