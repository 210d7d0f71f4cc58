/**
 * graphql-request 7 with an API key: plain POSTs, typed errors read from the result union. No
 * subscriptions (use graphql-sse or graphql-ws beside it). Shown verbatim in docs/clients.md;
 * test/integration/client-recipes.test.ts runs it.
 */
import { GraphQLClient, gql } from 'graphql-request';

export function createGraphQLRequest(url: string, apiKey: string) {
  return new GraphQLClient(url, { headers: { 'x-api-key': apiKey } });
}

type DeleteResult =
  | { __typename: 'DeleteIntegrationPayload'; deletedId: string }
  | { __typename: 'NotFoundError' | 'ConflictError'; code: string; message: string };

export const PROVIDERS = gql`
  query Providers {
    providers(category: AI) { name isConfigured }
  }
`;

export const DELETE_INTEGRATION = gql`
  mutation DeleteIntegration($id: ID!) {
    deleteIntegration(input: { id: $id }) {
      __typename
      ... on DeleteIntegrationPayload { deletedId }
      ... on Error { code message }
    }
  }
`;

export async function example(client: GraphQLClient, integrationId: string) {
  const { providers } = await client.request<{ providers: { name: string; isConfigured: boolean }[] }>(PROVIDERS);
  // GraphQL errors (authentication, scope, invalid document) throw a ClientError;
  // expected failures come back as data: NotFoundError, ConflictError…
  const { deleteIntegration } = await client.request<{ deleteIntegration: DeleteResult }>(DELETE_INTEGRATION, { id: integrationId });
  if (deleteIntegration.__typename !== 'DeleteIntegrationPayload') return { providers, error: deleteIntegration };
  return { providers, deletedId: deleteIntegration.deletedId };
}
