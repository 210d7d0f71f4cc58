/**
 * One urql client per credential: queries and mutations as JSON POSTs to the same origin's
 * /graphql, subscriptions over SSE (graphql-sse, Accept: text/event-stream) on the same URL.
 * urql's document cache refetches a query when a mutation returns one of the typenames it
 * holds; lists that a mutation grows name theirs with `additionalTypenames`.
 */
import { createClient as createSseClient } from 'graphql-sse';
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from 'urql';
import { type Credential, credentialHeaders } from './auth.ts';

export const GRAPHQL_URL = '/graphql';

export function createConsoleClient(credential: Credential): { client: Client; dispose: () => void } {
  const headers = credentialHeaders(credential);
  const sse = createSseClient({ url: GRAPHQL_URL, headers, retryAttempts: 3 });
  const client = new Client({
    url: GRAPHQL_URL,
    preferGetMethod: false,
    fetchOptions: { headers },
    requestPolicy: 'cache-and-network',
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
  return { client, dispose: () => sse.dispose() };
}

/** The error code of an urql CombinedError's first GraphQL error (UNAUTHENTICATED, FORBIDDEN…). */
export function errorCode(error: { graphQLErrors?: { extensions?: Record<string, unknown> }[]; response?: unknown } | undefined) {
  const code = error?.graphQLErrors?.[0]?.extensions?.code;
  if (typeof code === 'string') return code;
  const status = (error?.response as { status?: number } | undefined)?.status;
  return status === 401 ? 'UNAUTHENTICATED' : undefined;
}
