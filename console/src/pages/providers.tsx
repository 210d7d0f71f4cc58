/**
 * The provider catalog: logo, category, capabilities, docs link, and whether the tenant has
 * connected it. The API returns the catalog whole (it is small); the page shows it a page at a time.
 */
import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../gql';
import type { ProviderCategory } from '../gql/graphql';
import { Link } from '../router.tsx';
import { ErrorBanner, StatusBadge } from '../ui/common.tsx';
import { ListPager } from '../ui/pager.tsx';

const ProvidersQuery = graphql(`
  query ConsoleProviders($category: ProviderCategory) {
    providers(category: $category) {
      id
      name
      displayName
      description
      category
      capabilities
      docsUrl
      logoUrl
      isConfigured
      integration {
        id
        status
      }
    }
  }
`);

const CATEGORIES: ProviderCategory[] = ['AI', 'COMMUNICATION', 'EMAIL', 'E_SIGNATURE', 'PAYMENT'];
const PER_PAGE = 12;

export function ProvidersPage() {
  const [category, setCategory] = useState<ProviderCategory | ''>('');
  const [page, setPage] = useState(0);
  const [{ data, error, fetching }] = useQuery({ query: ProvidersQuery, variables: { category: category || null } });
  const providers = data?.providers ?? [];
  const shown = providers.slice(page * PER_PAGE, (page + 1) * PER_PAGE);
  return (
    <section aria-labelledby="providers-title">
      <div className="page-head">
        <h1 id="providers-title">Providers</h1>
        <div className="filters">
          <label htmlFor="category">Category</label>
          <select
            id="category"
            value={category}
            onChange={(e) => {
              setCategory(e.target.value as ProviderCategory | '');
              setPage(0);
            }}
          >
            <option value="">All</option>
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {c.replace('_', ' ').toLowerCase()}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorBanner error={error} />
      {fetching && !data ? <p>Loading…</p> : null}
      <ul className="cards">
        {shown.map((p) => (
          <li key={p.id} className="card provider-card">
            <div className="card-head">
              {p.logoUrl ? <img src={p.logoUrl} alt="" width={40} height={40} /> : null}
              <div>
                <h2>{p.displayName}</h2>
                <span className="muted">{p.category.replace('_', ' ').toLowerCase()}</span>
              </div>
              {p.integration ? <StatusBadge status={p.integration.status} /> : null}
            </div>
            <p>{p.description}</p>
            <ul className="tags" aria-label="Capabilities">
              {p.capabilities.map((c) => (
                <li key={c}>{c}</li>
              ))}
            </ul>
            <div className="actions">
              <Link to={`/providers/${encodeURIComponent(p.name)}`} className="button primary">
                {p.isConfigured ? 'Manage' : 'Connect'}
                <span className="visually-hidden"> {p.displayName}</span>
              </Link>
              {p.docsUrl ? (
                <a href={p.docsUrl} target="_blank" rel="noreferrer noopener">
                  Docs<span className="visually-hidden"> for {p.displayName} (opens a new tab)</span>
                </a>
              ) : null}
            </div>
          </li>
        ))}
      </ul>
      <ListPager page={page} perPage={PER_PAGE} total={providers.length} label="Provider" onPage={setPage} />
    </section>
  );
}
