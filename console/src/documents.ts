/**
 * Fragments and operations more than one page uses. Each page keeps its own operations beside
 * it; graphql-codegen's client preset types them all into ./gql (npm run codegen:console).
 */
import { graphql } from './gql';

/** What a mutation's typed error answers: its code and message, and a ValidationError's field errors. */
export const FailureFragment = graphql(`
  fragment Failure on Error {
    code
    message
    ... on ValidationError {
      fieldErrors {
        path
        message
      }
    }
  }
`);

export const IntegrationRowFragment = graphql(`
  fragment IntegrationRow on Integration {
    id
    status
    lastError
    version
    verifiedAt
    updatedAt
    enabledCapabilities
    inboundWebhookUrl
    provider {
      id
      name
      displayName
      logoUrl
    }
  }
`);

export const ProviderFormFragment = graphql(`
  fragment ProviderForm on Provider {
    id
    name
    displayName
    description
    category
    docsUrl
    logoUrl
    credentialSchema {
      key
      label
      type
      required
      sensitive
      enumValues
      defaultValue
      description
      pattern
      authenticates
    }
    integration {
      ...IntegrationRow
      credentialFields {
        key
        value
        isSet
        sensitive
      }
    }
  }
`);

export const IntegrationStatusSubscription = graphql(`
  subscription ConsoleIntegrationStatus($id: ID) {
    integrationStatusChanged(id: $id) {
      ...IntegrationRow
    }
  }
`);

export const ConfigureIntegrationMutation = graphql(`
  mutation ConsoleConfigureIntegration($input: ConfigureIntegrationInput!) {
    configureIntegration(input: $input) {
      __typename
      ... on ConfigureIntegrationPayload {
        integration {
          ...IntegrationRow
          credentialFields {
            key
            value
            isSet
            sensitive
          }
        }
      }
      ...Failure
    }
  }
`);

export const RotateCredentialsMutation = graphql(`
  mutation ConsoleRotateCredentials($input: RotateIntegrationCredentialsInput!) {
    rotateIntegrationCredentials(input: $input) {
      __typename
      ... on RotateIntegrationCredentialsPayload {
        integration {
          ...IntegrationRow
          credentialFields {
            key
            value
            isSet
            sensitive
          }
        }
      }
      ...Failure
    }
  }
`);

export const VerifyIntegrationMutation = graphql(`
  mutation ConsoleVerifyIntegration($id: ID!) {
    verifyIntegration(input: { id: $id }) {
      __typename
      ... on VerifyIntegrationPayload {
        integration {
          ...IntegrationRow
        }
      }
      ...Failure
    }
  }
`);

/** The fresher of two views of one integration: the query's or the status stream's. */
export function freshest<T extends { updatedAt: string; version: number }>(a: T, b: T | undefined): T {
  if (!b) return a;
  if (b.version !== a.version) return b.version > a.version ? b : a;
  return b.updatedAt >= a.updatedAt ? b : a;
}
