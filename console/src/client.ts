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

/** The server's clock minus this device's, from the last answer's Date header (1 s resolution). */
let serverOffsetMs = 0;

/** Now on the server's clock: a device whose clock is off does not misjudge an expiry the server sets. */
export function serverNow(): number {
  return Date.now() + serverOffsetMs;
}

const fetchNotingServerTime: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const date = Date.parse(response.headers.get('date') ?? '');
  if (Number.isFinite(date)) serverOffsetMs = date - Date.now();
  return response;
};

export function createConsoleClient(credential: Credential): { client: Client; dispose: () => void } {
  const headers = credentialHeaders(credential);
  const sse = createSseClient({ url: GRAPHQL_URL, headers, retryAttempts: 3 });
  const client = new Client({
    url: GRAPHQL_URL,
    preferGetMethod: false,
    fetchOptions: { headers },
    fetch: fetchNotingServerTime,
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
