/** One provider's page: what it is, and the form that connects it (or replaces its credentials). */
import { useQuery } from 'urql';
import { graphql } from '../gql';
import { Link } from '../router.tsx';
import { ErrorBanner } from '../ui/common.tsx';
import { ConnectPanel } from '../ui/connect-panel.tsx';

const ConfigureQuery = graphql(`
  query ConsoleConfigure($name: String!) {
    provider(name: $name) {
      ...ProviderForm
      capabilities
    }
  }
`);

export function ConfigurePage({ name }: { name: string }) {
  const [{ data, error, fetching }] = useQuery({ query: ConfigureQuery, variables: { name }, requestPolicy: 'network-only' });
  const provider = data?.provider;
  if (fetching && !data) return <p>Loading…</p>;
  if (error) return <ErrorBanner error={error} />;
  if (!provider) return <p>No provider is called {name}.</p>;
  return (
    <section aria-labelledby="configure-title" className="narrow">
      <p>
        <Link to="/providers">← Providers</Link>
      </p>
      <div className="card-head">
        {provider.logoUrl ? <img src={provider.logoUrl} alt="" width={48} height={48} /> : null}
        <h1 id="configure-title">{provider.integration ? `${provider.displayName}` : `Connect ${provider.displayName}`}</h1>
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
    </section>
  );
}
