/**
 * The console's shell: sign-in until a credential works, then a header with the tenant, the
 * navigation and sign out, and the page the path names.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Provider as UrqlProvider, useQuery } from 'urql';
import { type Credential, loadCredential, parseCredential, saveCredential } from './auth.ts';
import { createConsoleClient, errorCode } from './client.ts';
import { graphql } from './gql';
import { ApiKeysPage } from './pages/api-keys.tsx';
import { ConfigurePage } from './pages/configure.tsx';
import { IntegrationsPage } from './pages/integrations.tsx';
import { OperationsPage } from './pages/operations.tsx';
import { ProvidersPage } from './pages/providers.tsx';
import { RoutingPage } from './pages/routing.tsx';
import { WebhooksPage } from './pages/webhooks.tsx';
import { Link, usePath } from './router.tsx';

const ViewerQuery = graphql(`
  query ConsoleViewer {
    viewer {
      tenantId
      actorId
      authenticatedBy
      scopes
    }
  }
`);

const NAV = [
  { to: '/integrations', label: 'Integrations' },
  { to: '/providers', label: 'Providers' },
  { to: '/routing', label: 'Routing' },
  { to: '/webhooks', label: 'Webhooks' },
  { to: '/operations', label: 'Operations' },
  { to: '/api-keys', label: 'API keys' },
];

export function ConsoleApp() {
  const [credential, setCredential] = useState<Credential | null>(loadCredential);
  const [notice, setNotice] = useState<string | undefined>();
  const session = useMemo(() => (credential ? createConsoleClient(credential) : null), [credential]);
  useEffect(() => () => session?.dispose(), [session]);
  const signOut = useCallback((why?: string) => {
    saveCredential(null);
    setCredential(null);
    setNotice(why);
  }, []);
  if (!session) {
    return (
      <SignIn
        notice={notice}
        onSignIn={(c) => {
          saveCredential(c);
          setCredential(c);
        }}
      />
    );
  }
  return (
    <UrqlProvider value={session.client}>
      <Shell onSignOut={signOut} />
    </UrqlProvider>
  );
}

function SignIn({ onSignIn, notice }: { onSignIn: (c: Credential) => void; notice?: string }) {
  const [value, setValue] = useState('');
  return (
    <main className="sign-in" id="main">
      <h1>Integrations console</h1>
      {notice ? (
        <p className="banner error" role="alert">
          {notice}
        </p>
      ) : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const credential = parseCredential(value);
          if (credential) onSignIn(credential);
        }}
      >
        <label htmlFor="credential">Token or API key</label>
        <input
          id="credential"
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={value}
          onChange={(e) => setValue(e.target.value)}
          aria-describedby="credential-help"
        />
        <p id="credential-help" className="help">
          A bearer JWT (for example the output of <code>npm run token -- --tenant acme</code>) or an API key (<code>icp_…</code>). Kept in
          this tab only, until you sign out or close it.
        </p>
        <div className="actions">
          <button type="submit" className="primary">
            Sign in
          </button>
        </div>
      </form>
    </main>
  );
}

function Shell({ onSignOut }: { onSignOut: (why?: string) => void }) {
  const path = usePath();
  const [{ data, error, fetching }] = useQuery({ query: ViewerQuery, requestPolicy: 'network-only' });
  const code = errorCode(error);
  useEffect(() => {
    if (code === 'UNAUTHENTICATED') onSignOut('That credential was refused (expired, revoked or mistyped): sign in again.');
  }, [code, onSignOut]);
  const section = `/${path.split('/')[1] ?? ''}`;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <div className="brand">Integrations console</div>
        <nav aria-label="Console">
          <ul>
            {NAV.map((item) => (
              <li key={item.to}>
                <Link
                  to={item.to}
                  aria-current={section === item.to || (section === '/' && item.to === '/integrations') ? 'page' : undefined}
                >
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          {data ? (
            <span>
              Tenant <strong data-testid="tenant">{data.viewer.tenantId}</strong>
            </span>
          ) : null}
          <button type="button" onClick={() => onSignOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {error && code !== 'UNAUTHENTICATED' ? (
          <p className="banner error" role="alert">
            {error.message}
          </p>
        ) : null}
        {fetching && !data ? <p>Loading…</p> : data ? <Page path={path} /> : null}
      </main>
    </>
  );
}

function Page({ path }: { path: string }) {
  const [, section, arg] = path.split('/');
  switch (section) {
    case 'providers':
      return arg ? <ConfigurePage name={decodeURIComponent(arg)} /> : <ProvidersPage />;
    case 'routing':
      return <RoutingPage />;
    case 'webhooks':
      return <WebhooksPage id={arg ? decodeURIComponent(arg) : undefined} />;
    case 'operations':
      return <OperationsPage />;
    case 'api-keys':
      return <ApiKeysPage />;
    default:
      return <IntegrationsPage />;
  }
}
