/**
 * urql (@urql/core 5): queries as GET (preferGetMethod; they carry Authorization, so the server's
 * CSRF rule lets them through), mutations as POST, subscriptions over SSE with graphql-sse.
 * Shown verbatim in docs/clients.md; test/integration/client-recipes.test.ts runs it.
 */
import { Client, cacheExchange, fetchExchange, gql, subscriptionExchange } from '@urql/core';
import { createClient } from 'graphql-sse';

export function createUrql(url: string, token: string) {
  const headers = { authorization: `Bearer ${token}` };
  const sse = createClient({ url, headers });
  return new Client({
    url,
    // queries as GET while the URL stays under 2048 characters; leave it out: all POST
    preferGetMethod: 'within-url-limit',
    fetchOptions: { headers },
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: sse.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });
}

type Integration = { id: string; status: string; lastError?: string | null };
type ConfigureResult =
  | { __typename: 'ConfigureIntegrationPayload'; integration: Integration }
  | { __typename: 'ValidationError'; code: string; message: string; fieldErrors: { path: string[]; message: string }[] }
  | { __typename: 'ConflictError'; code: string; message: string };

export const PROVIDERS = gql<{ providers: { name: string; isConfigured: boolean }[] }>`
  query Providers {
    providers(category: AI) { name isConfigured }
  }
`;

export const CONFIGURE = gql<{ configureIntegration: ConfigureResult }, { input: object }>`
  mutation Configure($input: ConfigureIntegrationInput!) {
    configureIntegration(input: $input) {
      __typename
      ... on ConfigureIntegrationPayload { integration { id status } }
      ... on ValidationError { fieldErrors { path message } }
      ... on Error { code message }
    }
  }
`;

export const STATUS_CHANGED = gql<{ integrationStatusChanged: Integration }>`
  subscription StatusChanged {
    integrationStatusChanged { id status lastError }
  }
`;

export async function example(client: Client, input: { provider: string; credentials: object }) {
  const providers = (await client.query(PROVIDERS, {}).toPromise()).data?.providers;
  const { data, error } = await client.mutation(CONFIGURE, { input }).toPromise();
  if (error) throw error; // network, authentication, invalid document
  const result = data!.configureIntegration;
  // a typed error is data, not an exception: ValidationError with fieldErrors, ConflictError…
  if (result.__typename !== 'ConfigureIntegrationPayload') return { providers, error: result };
  return { providers, integration: result.integration };
}

/** Calls onChange with each status change of the tenant's integrations; returns the unsubscribe. */
export function watchStatus(client: Client, onChange: (integration: Integration) => void) {
  const { unsubscribe } = client.subscription(STATUS_CHANGED, {}).subscribe(({ data }) => data && onChange(data.integrationStatusChanged));
  return unsubscribe;
}
