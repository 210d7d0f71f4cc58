/**
 * graphql-ws over a WebSocket (`ws://…/graphql`, protocol graphql-transport-ws): the credential
 * goes in connectionParams; without a valid one the server closes with 4401 (4403: a scope is
 * missing). Node 20 has no global WebSocket, hence `ws`. Shown verbatim in docs/clients.md;
 * test/integration/client-recipes.test.ts runs it.
 */
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

export function createWs(url: string, token: string) {
  return createClient({
    url: url.replace(/^http/, 'ws'), // http://127.0.0.1:4000/graphql -> ws://127.0.0.1:4000/graphql
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` }, // or { 'x-api-key': apiKey }
    lazy: true,
  });
}

type Integration = { id: string; status: string; lastError?: string | null };
type ConfigureResult =
  | { __typename: 'ConfigureIntegrationPayload'; integration: Integration }
  | { __typename: 'ValidationError'; code: string; message: string; fieldErrors: { path: string[]; message: string }[] }
  | { __typename: 'ConflictError'; code: string; message: string };

/** A query or mutation over the same socket: its one result. */
async function run<T>(client: Client, query: string, variables?: Record<string, unknown>): Promise<T> {
  for await (const result of client.iterate<T>({ query, variables })) {
    if (result.errors?.length) throw new Error(result.errors.map((e) => e.message).join('; '));
    return result.data as T;
  }
  throw new Error('no result');
}

export async function example(client: Client, input: { provider: string; credentials: object }) {
  const { providers } = await run<{ providers: { name: string }[] }>(client, '{ providers(category: AI) { name isConfigured } }');
  const { configureIntegration: result } = await run<{ configureIntegration: ConfigureResult }>(
    client,
    `mutation Configure($input: ConfigureIntegrationInput!) {
      configureIntegration(input: $input) {
        __typename
        ... on ConfigureIntegrationPayload { integration { id status } }
        ... on ValidationError { fieldErrors { path message } }
        ... on Error { code message }
      }
    }`,
    { input },
  );
  // a typed error is data, not an exception: ValidationError with fieldErrors, ConflictError…
  if (result.__typename !== 'ConfigureIntegrationPayload') return { providers, error: result };
  return { providers, integration: result.integration };
}

/** Calls onChange with each status change of the tenant's integrations; returns the unsubscribe. */
export function watchStatus(client: Client, onChange: (integration: Integration) => void) {
  return client.subscribe<{ integrationStatusChanged: Integration }>(
    { query: 'subscription { integrationStatusChanged { id status lastError } }' },
    {
      next: ({ data }) => data && onChange(data.integrationStatusChanged),
      error: (err) => console.error('subscription failed', err),
      complete: () => {},
    },
  );
}
