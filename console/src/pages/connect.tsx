/**
 * The connect page (/console/connect?session=…) for a tenant's end user: the session token is
 * read from the URL once and the address bar cleared (history.replaceState), then kept for this
 * tab only. It lists the providers the session allows (the server filters them), shows one's
 * form and the live result of the check, and nothing else of the tenant. UNAUTHENTICATED means
 * the link has expired, and so does reaching its expiresAt with the page open. Storage may be
 * refused (a framed page whose browser blocks third-party storage): the page then works from
 * memory until it is closed.
 */
import { useEffect, useMemo, useState } from 'react';
import { Provider as UrqlProvider, useQuery } from 'urql';
import { createConsoleClient, errorCode, serverNow } from '../client.ts';
import { graphql } from '../gql';
import { StatusBadge } from '../ui/common.tsx';
import { ConnectPanel } from '../ui/connect-panel.tsx';

const SESSION_KEY = 'icp.connect.session';

const ConnectProvidersQuery = graphql(`
  query ConnectProviders {
    connectSession {
      expiresAt
    }
    providers {
      ...ProviderForm
    }
  }
`);

/** sessionStorage, or nothing where the browser refuses it (it throws then, e.g. in a blocked third-party frame). */
const tabStorage = {
  get(): string | null {
    try {
      return sessionStorage.getItem(SESSION_KEY);
    } catch {
      return null;
    }
  },
  set(value: string | null) {
    try {
      if (value === null) sessionStorage.removeItem(SESSION_KEY);
      else sessionStorage.setItem(SESSION_KEY, value);
    } catch {
      // kept in memory only (the component's state)
    }
  },
};

/** The session token: from ?session= (then removed from the address bar), else this tab's copy. */
function takeSession(): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('session');
  if (fromUrl) {
    tabStorage.set(fromUrl);
    url.searchParams.delete('session');
    window.history.replaceState(null, '', `${url.pathname}${url.search}${url.hash}`);
    return fromUrl;
  }
  return tabStorage.get();
}

/** True from `expiresAt` on, by the server's clock (a timer; setTimeout's longest delay is about 24.8 days). */
function useExpired(expiresAt: string | undefined): boolean {
  const [expired, setExpired] = useState(false);
  useEffect(() => {
    if (!expiresAt) return;
    const left = Date.parse(expiresAt) - serverNow();
    if (left <= 0) {
      setExpired(true);
      return;
    }
    const timer = setTimeout(() => setExpired(true), Math.min(left, 2 ** 31 - 1));
    return () => clearTimeout(timer);
  }, [expiresAt]);
  return expired;
}

export function ConnectApp() {
  const [token] = useState(takeSession);
  const session = useMemo(() => (token ? createConsoleClient({ kind: 'token', value: token }) : null), [token]);
  useEffect(() => () => session?.dispose(), [session]);
  return (
    <main id="main" className="connect">
      {session ? (
        <UrqlProvider value={session.client}>
          <ConnectProviders />
        </UrqlProvider>
      ) : (
        <Expired text="This page needs a connect link. Ask the service that sent you here for a new one." />
      )}
    </main>
  );
}

function Expired({ text }: { text: string }) {
  return (
    <div className="card narrow" role="alert">
      <h1>This link has expired</h1>
      <p>{text}</p>
    </div>
  );
}

function ConnectProviders() {
  const [{ data, error, fetching }] = useQuery({ query: ConnectProvidersQuery });
  const [chosen, setChosen] = useState<string | null>(null);
  const expired = useExpired(data?.connectSession?.expiresAt);
  if (expired || errorCode(error) === 'UNAUTHENTICATED') {
    tabStorage.set(null);
    return <Expired text="Connect links are short-lived. Go back to the service that sent you here and open it again." />;
  }
  if (error) return <p className="banner error">{error.message.replace(/^\[(GraphQL|Network)\]\s*/, '')}</p>;
  if (fetching && !data) return <p>Loading…</p>;
  const providers = data?.providers ?? [];
  const expiresAt = data?.connectSession?.expiresAt;
  const until = expiresAt ? (
    <p className="muted">
      This link works until <time dateTime={expiresAt}>{new Date(expiresAt).toLocaleTimeString()}</time>.
    </p>
  ) : null;
  const provider = providers.find((p) => p.name === chosen) ?? (providers.length === 1 ? providers[0] : undefined);
  if (provider) {
    return (
      <section className="narrow" aria-labelledby="connect-title">
        {providers.length > 1 ? (
          <button type="button" className="link" onClick={() => setChosen(null)}>
            ← All providers
          </button>
        ) : null}
        <div className="card-head">
          {provider.logoUrl ? <img src={provider.logoUrl} alt="" width={48} height={48} /> : null}
          <h1 id="connect-title">Connect {provider.displayName}</h1>
        </div>
        <p>{provider.description}</p>
        {provider.docsUrl ? (
          <p>
            <a href={provider.docsUrl} target="_blank" rel="noreferrer noopener">
              Where to find these credentials<span className="visually-hidden"> (opens a new tab)</span>
            </a>
          </p>
        ) : null}
        <ConnectPanel key={provider.id} provider={provider} />
        {until}
      </section>
    );
  }
  return (
    <section className="narrow" aria-labelledby="connect-title">
      <h1 id="connect-title">Connect an account</h1>
      {until}
      {providers.length === 0 ? <p>There is nothing to connect with this link.</p> : null}
      <ul className="rows">
        {providers.map((p) => (
          <li key={p.id} className="row">
            <div className="row-main">
              {p.logoUrl ? <img src={p.logoUrl} alt="" width={32} height={32} /> : null}
              <div>
                <h2>{p.displayName}</h2>
                <p className="muted">{p.description}</p>
              </div>
              {p.integration ? <StatusBadge status={p.integration.status} /> : null}
            </div>
            <div className="actions">
              <button type="button" className="primary" onClick={() => setChosen(p.name)}>
                {p.integration ? 'Update' : 'Connect'}
                <span className="visually-hidden"> {p.displayName}</span>
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
