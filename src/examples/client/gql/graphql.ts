/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** How a caller authenticated. */
export type AuthMethod =
  /** An API key (x-api-key). */
  | 'API_KEY'
  /** A connect session token (createConnectSession), as Authorization: Bearer. */
  | 'CONNECT_SESSION'
  /** A bearer JWT (Authorization: Bearer …). */
  | 'JWT';

/** A new integration of a provider for the caller’s tenant. */
export type ConfigureIntegrationInput = {
  /** Values for the provider’s credentialSchema. */
  credentials: Record<string, unknown>;
  /** Capabilities to enable; default: all of the provider’s. */
  enabledCapabilities?: Array<string> | null | undefined;
  /** Free-form data of your own (at most 16 KiB). */
  metadata?: Record<string, unknown> | null | undefined;
  /** The provider’s name, e.g. "stripe". */
  provider: string;
};

/** A new routing rule. */
export type CreateRoutingRuleInput = {
  /** The capability to route, e.g. send_sms. */
  capability: string;
  /** Serves when the primary is not ACTIVE; must differ from it. */
  fallbackIntegrationId?: string | number | null | undefined;
  /** The integration that serves it; it must support and enable the capability. */
  integrationId: string | number;
  /** Make it the capability’s default rule (one per capability). */
  isDefault?: boolean | null | undefined;
  /** Lower wins; default 100 (0 to 1000000). */
  priority?: number | null | undefined;
};

/** A new webhook. */
export type CreateWebhookInput = {
  /** The connector that owns it (1-128 characters as source). */
  connectorId?: string | null | undefined;
  /** Event types: exact, prefix.* or *. */
  eventTypes: Array<string>;
  /** Static string headers sent with every delivery (at most 20; values of visible ASCII, at most 1024 characters; 8192 characters in all), e.g. the receiver’s Authorization. Write-only: reads show the names with null values. */
  headers?: Record<string, unknown> | null | undefined;
  /** What it is for (1-100 characters). */
  name: string;
  /** Attempts and timeout. */
  retryPolicy?: RetryPolicyInput | null | undefined;
  /** A provenance tag (1-64 letters, digits and . _ : / @ + -); default "api". */
  source?: string | null | undefined;
  /** Where it is created from; default API. */
  sourceType?: SourceType | null | undefined;
  /** Labels to find it by (at most 20, each as source; duplicates dropped). */
  tags?: Array<string> | null | undefined;
  /** An http(s) URL on the public internet, at most 2048 characters. */
  url: string;
};

/** The type of a credential field’s value. */
export type CredentialFieldType =
  /** true or false. */
  | 'BOOLEAN'
  /** One of enumValues. */
  | 'ENUM'
  /** Text. */
  | 'STRING'
  /** An http(s) URL. */
  | 'URL';

/** Where a delivery stands. */
export type DeliveryStatus =
  /** Every attempt failed, or the endpoint is gone. */
  | 'FAILED'
  /** Waiting for its next attempt. */
  | 'PENDING'
  /** The endpoint answered 2xx. */
  | 'SUCCEEDED';

/** What kind of expected failure an Error is. */
export type ErrorCode =
  /** The change conflicts with existing data (e.g. a second integration of a provider). */
  | 'CONFLICT'
  /** The object’s current status does not allow this change. */
  | 'INVALID_STATE'
  /** No such object exists for the caller (another tenant’s objects do not exist). */
  | 'NOT_FOUND'
  /** No ACTIVE integration serves the requested capability. */
  | 'NO_ACTIVE_PROVIDER'
  /** The input is invalid; fieldErrors say where. */
  | 'VALIDATION'
  /** expectedVersion is stale: the object changed since it was read. */
  | 'VERSION_CONFLICT';

/** Where an integration is in its lifecycle. */
export type IntegrationStatus =
  /** Verified and in use; only ACTIVE integrations are chosen by routing. */
  | 'ACTIVE'
  /** Verification failed; lastError says why. */
  | 'ERROR'
  /** Disabled by a person; activateIntegration brings it back. */
  | 'INACTIVE'
  /** Credentials are being checked against the provider’s API. */
  | 'PENDING_VERIFY';

/** Where an operation stands. */
export type OperationStatus =
  /** It will not be done; error says why. */
  | 'FAILED'
  /** Stored and waiting for the worker (first, or for a retry: see nextAttemptAt). */
  | 'QUEUED'
  /** The worker is calling providers. */
  | 'RUNNING'
  /** A provider did it; providerReference and result say what. */
  | 'SUCCEEDED';

/** What kind of service a provider is. */
export type ProviderCategory =
  /** AI models (OpenAI). */
  | 'AI'
  /** SMS and messaging (Twilio, Plivo, WhatsApp). */
  | 'COMMUNICATION'
  /** Email delivery (SendGrid). */
  | 'EMAIL'
  /** Electronic signatures (DocuSign, Clicksign, D4Sign, Certisign, Adobe Sign). */
  | 'E_SIGNATURE'
  /** Payments (Stripe). */
  | 'PAYMENT';

/** How deliveries are attempted. */
export type RetryPolicyInput = {
  /** Attempts per delivery (1-50); default: one more than the retry schedule’s length. */
  maxAttempts?: number | null | undefined;
  /** Timeout of one attempt (100-30000 ms); default 15000. */
  timeoutMs?: number | null | undefined;
};

/** A permission of a credential. Tokens (the scope claim) and createApiKey’s scopes use the spelling each value’s description starts with; createApiKey also takes these names. */
export type Scope =
  /** admin: API keys and the audit log (implies every other scope but connect). */
  | 'ADMIN'
  /** connect: held only by connect session tokens (createConnectSession): read providers, and configure, verify and read the tenant’s integrations of the session’s allowed providers. No claim or key grants it; nothing implies it. */
  | 'CONNECT'
  /** integrations:read: read providers, integrations, routing rules and events. */
  | 'INTEGRATIONS_READ'
  /** integrations:write: configure, change and delete integrations and routing rules (implies integrations:read). */
  | 'INTEGRATIONS_WRITE'
  /** operations:read: read operations. */
  | 'OPERATIONS_READ'
  /** operations:write: send SMS, email and the other operations (implies operations:read). */
  | 'OPERATIONS_WRITE'
  /** webhooks:read: read webhooks, their deliveries and events. */
  | 'WEBHOOKS_READ'
  /** webhooks:write: create, change, test and delete webhooks (implies webhooks:read). */
  | 'WEBHOOKS_WRITE';

/** What sendSms asks for. */
export type SendSmsInput = {
  /** The text, at most 1600 characters. */
  body: string;
  /** Names this request for 24 hours: the same key with the same input returns the same operation and calls no provider again; with another input it is a CONFLICT. 1 to 255 visible ASCII characters. */
  idempotencyKey?: string | null | undefined;
  /** The recipient, in E.164 (e.g. +14155550123). */
  to: string;
  /** Hold the answer until the operation ends, or this many seconds pass (0 to 30; default 0: answer as soon as it is queued). */
  waitSeconds?: number | null | undefined;
};

/** Where a webhook was created from, as its creator said (API unless told). */
export type SourceType =
  /** A direct API call (the default). */
  | 'API'
  /** A backend service of the tenant. */
  | 'BACKEND'
  /** A browser or mobile frontend. */
  | 'FRONTEND'
  /** A server-side job or script. */
  | 'SERVER'
  /** The platform itself (e.g. a connector setting up its own webhook). */
  | 'SYSTEM';

/** Whether a webhook receives events. */
export type WebhookStatus =
  /** Receives events. */
  | 'ACTIVE'
  /** Its endpoint answered 410 Gone; receives nothing until resumed. */
  | 'DISABLED'
  /** Receives nothing until resumed: paused by hand, or after WEBHOOK_PAUSE_AFTER_FAILURES failed attempts in a row. */
  | 'PAUSED';

export type IntegrationSummaryFragment = { id: string, status: IntegrationStatus, lastError: string | null, verifiedAt: string | null, version: number, enabledCapabilities: Array<string>, provider: { name: string } };

export type WebhookSummaryFragment = { id: string, name: string, url: string, status: WebhookStatus, eventTypes: Array<string>, secretFingerprint: string };

export type DeliverySummaryFragment = { id: string, status: DeliveryStatus, attemptCount: number, event: { id: string, type: string, occurredAt: string, payload: Record<string, unknown> }, attempts: Array<{ attemptNumber: number, responseStatus: number | null, error: string | null, durationMs: number }> };

export type OperationSummaryFragment = { id: string, capability: string, status: OperationStatus, usedFallback: boolean, providerReference: string | null, deliveryStatus: string | null, deliveryUpdatedAt: string | null, attemptCount: number, createdAt: string, completedAt: string | null, integration: { id: string, provider: { name: string } } | null, attempts: Array<{ attemptNumber: number, outcome: string, httpStatus: number | null, durationMs: number, error: string | null }>, error: { code: string, message: string } | null };

export type ViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ViewerQuery = { viewer: { tenantId: string, authenticatedBy: AuthMethod, scopes: Array<Scope> } };

export type ProvidersQueryVariables = Exact<{
  category?: ProviderCategory | null | undefined;
}>;


export type ProvidersQuery = { providers: Array<{ name: string, displayName: string, category: ProviderCategory, capabilities: Array<string>, isConfigured: boolean, credentialSchema: Array<{ key: string, type: CredentialFieldType, required: boolean, sensitive: boolean }> }> };

export type IntegrationStatusQueryVariables = Exact<{
  id: string | number;
}>;


export type IntegrationStatusQuery = { integration: { id: string, status: IntegrationStatus, lastError: string | null, verifiedAt: string | null, version: number, enabledCapabilities: Array<string>, provider: { name: string } } | null };

export type ConfigureIntegrationMutationVariables = Exact<{
  input: ConfigureIntegrationInput;
}>;


export type ConfigureIntegrationMutation = { configureIntegration:
    | { __typename: 'ConfigureIntegrationPayload', integration: { id: string, status: IntegrationStatus, lastError: string | null, verifiedAt: string | null, version: number, enabledCapabilities: Array<string>, provider: { name: string } } }
    | { __typename: 'ConflictError', code: ErrorCode, message: string }
    | { __typename: 'ValidationError', code: ErrorCode, message: string, fieldErrors: Array<{ path: Array<string>, message: string }> }
   };

export type CreateWebhookMutationVariables = Exact<{
  input: CreateWebhookInput;
}>;


export type CreateWebhookMutation = { createWebhook:
    | { __typename: 'ConflictError', code: ErrorCode, message: string }
    | { __typename: 'CreateWebhookPayload', signingSecret: string, webhook: { id: string, name: string, url: string, status: WebhookStatus, eventTypes: Array<string>, secretFingerprint: string } }
    | { __typename: 'ValidationError', code: ErrorCode, message: string, fieldErrors: Array<{ path: Array<string>, message: string }> }
   };

export type CreateRoutingRuleMutationVariables = Exact<{
  input: CreateRoutingRuleInput;
}>;


export type CreateRoutingRuleMutation = { createRoutingRule:
    | { __typename: 'ConflictError', code: ErrorCode, message: string }
    | { __typename: 'CreateRoutingRulePayload', routingRule: { id: string, capability: string, priority: number, isDefault: boolean, integration: { id: string } } }
    | { __typename: 'NotFoundError', code: ErrorCode, message: string }
    | { __typename: 'ValidationError', code: ErrorCode, message: string, fieldErrors: Array<{ path: Array<string>, message: string }> }
   };

export type SendSmsMutationVariables = Exact<{
  input: SendSmsInput;
}>;


export type SendSmsMutation = { sendSms:
    | { __typename: 'ConflictError', code: ErrorCode, message: string }
    | { __typename: 'NoActiveProviderError', code: ErrorCode, message: string }
    | { __typename: 'SendSmsPayload', operation: { id: string, capability: string, status: OperationStatus, usedFallback: boolean, providerReference: string | null, deliveryStatus: string | null, deliveryUpdatedAt: string | null, attemptCount: number, createdAt: string, completedAt: string | null, integration: { id: string, provider: { name: string } } | null, attempts: Array<{ attemptNumber: number, outcome: string, httpStatus: number | null, durationMs: number, error: string | null }>, error: { code: string, message: string } | null } }
    | { __typename: 'ValidationError', code: ErrorCode, message: string, fieldErrors: Array<{ path: Array<string>, message: string }> }
   };

export type OperationQueryVariables = Exact<{
  id: string | number;
}>;


export type OperationQuery = { operation: { result: Record<string, unknown> | null, id: string, capability: string, status: OperationStatus, usedFallback: boolean, providerReference: string | null, deliveryStatus: string | null, deliveryUpdatedAt: string | null, attemptCount: number, createdAt: string, completedAt: string | null, integration: { id: string, provider: { name: string } } | null, attempts: Array<{ attemptNumber: number, outcome: string, httpStatus: number | null, durationMs: number, error: string | null }>, error: { code: string, message: string } | null } | null };

export type IntegrationStatusChangedSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type IntegrationStatusChangedSubscription = { integrationStatusChanged: { id: string, status: IntegrationStatus, lastError: string | null, verifiedAt: string | null, version: number, enabledCapabilities: Array<string>, provider: { name: string } } };

export type WebhookDeliveryUpdatedSubscriptionVariables = Exact<{
  webhookId: string | number;
}>;


export type WebhookDeliveryUpdatedSubscription = { webhookDeliveryUpdated: { id: string, status: DeliveryStatus, attemptCount: number, event: { id: string, type: string, occurredAt: string, payload: Record<string, unknown> }, attempts: Array<{ attemptNumber: number, responseStatus: number | null, error: string | null, durationMs: number }> } };

export const IntegrationSummaryFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"IntegrationSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Integration"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"lastError"}},{"kind":"Field","name":{"kind":"Name","value":"verifiedAt"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"enabledCapabilities"}},{"kind":"Field","name":{"kind":"Name","value":"provider"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<IntegrationSummaryFragment, unknown>;
export const WebhookSummaryFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"WebhookSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Webhook"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"eventTypes"}},{"kind":"Field","name":{"kind":"Name","value":"secretFingerprint"}}]}}]} as unknown as DocumentNode<WebhookSummaryFragment, unknown>;
export const DeliverySummaryFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DeliverySummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"WebhookDelivery"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"attemptCount"}},{"kind":"Field","name":{"kind":"Name","value":"event"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"occurredAt"}},{"kind":"Field","name":{"kind":"Name","value":"payload"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attempts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"attemptNumber"}},{"kind":"Field","name":{"kind":"Name","value":"responseStatus"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"durationMs"}}]}}]}}]} as unknown as DocumentNode<DeliverySummaryFragment, unknown>;
export const OperationSummaryFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"OperationSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Operation"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"capability"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"usedFallback"}},{"kind":"Field","name":{"kind":"Name","value":"providerReference"}},{"kind":"Field","name":{"kind":"Name","value":"deliveryStatus"}},{"kind":"Field","name":{"kind":"Name","value":"deliveryUpdatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"attemptCount"}},{"kind":"Field","name":{"kind":"Name","value":"integration"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"provider"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"attempts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"attemptNumber"}},{"kind":"Field","name":{"kind":"Name","value":"outcome"}},{"kind":"Field","name":{"kind":"Name","value":"httpStatus"}},{"kind":"Field","name":{"kind":"Name","value":"durationMs"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}},{"kind":"Field","name":{"kind":"Name","value":"error"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}}]}}]} as unknown as DocumentNode<OperationSummaryFragment, unknown>;
export const ViewerDocument = {"__meta__":{"hash":"sha256:d80cf5c4634f3feed5c3161c850dac18c09beb88bf23e29a87f665d7cded2735"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"tenantId"}},{"kind":"Field","name":{"kind":"Name","value":"authenticatedBy"}},{"kind":"Field","name":{"kind":"Name","value":"scopes"}}]}}]}}]} as unknown as DocumentNode<ViewerQuery, ViewerQueryVariables>;
export const ProvidersDocument = {"__meta__":{"hash":"sha256:c7844921a230dfa94d01721ed6230b81adb0f0ad082bef1ea328e11bf613d996"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Providers"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"category"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ProviderCategory"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"providers"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"category"},"value":{"kind":"Variable","name":{"kind":"Name","value":"category"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}},{"kind":"Field","name":{"kind":"Name","value":"category"}},{"kind":"Field","name":{"kind":"Name","value":"capabilities"}},{"kind":"Field","name":{"kind":"Name","value":"isConfigured"}},{"kind":"Field","name":{"kind":"Name","value":"credentialSchema"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"required"}},{"kind":"Field","name":{"kind":"Name","value":"sensitive"}}]}}]}}]}}]} as unknown as DocumentNode<ProvidersQuery, ProvidersQueryVariables>;
export const IntegrationStatusDocument = {"__meta__":{"hash":"sha256:28267efdff6c1a90a5e17cda0d98f0aeb23c4919db221a3392fb2c007ab0372d"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"IntegrationStatus"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"integration"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"IntegrationSummary"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"IntegrationSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Integration"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"lastError"}},{"kind":"Field","name":{"kind":"Name","value":"verifiedAt"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"enabledCapabilities"}},{"kind":"Field","name":{"kind":"Name","value":"provider"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<IntegrationStatusQuery, IntegrationStatusQueryVariables>;
export const ConfigureIntegrationDocument = {"__meta__":{"hash":"sha256:24062a7b64addf739aa606def2b51aaf1ca4d905a128f642eeefe63efeacd74d"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ConfigureIntegration"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ConfigureIntegrationInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"configureIntegration"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ConfigureIntegrationPayload"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"integration"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"IntegrationSummary"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ValidationError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"fieldErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"IntegrationSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Integration"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"lastError"}},{"kind":"Field","name":{"kind":"Name","value":"verifiedAt"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"enabledCapabilities"}},{"kind":"Field","name":{"kind":"Name","value":"provider"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<ConfigureIntegrationMutation, ConfigureIntegrationMutationVariables>;
export const CreateWebhookDocument = {"__meta__":{"hash":"sha256:2c78932abfb87ce6ab16d96a70017acc4fc039c6c6a2a40b08fa55880a0f2ab0"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateWebhook"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateWebhookInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createWebhook"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"CreateWebhookPayload"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"signingSecret"}},{"kind":"Field","name":{"kind":"Name","value":"webhook"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"WebhookSummary"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ValidationError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"fieldErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"WebhookSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Webhook"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"eventTypes"}},{"kind":"Field","name":{"kind":"Name","value":"secretFingerprint"}}]}}]} as unknown as DocumentNode<CreateWebhookMutation, CreateWebhookMutationVariables>;
export const CreateRoutingRuleDocument = {"__meta__":{"hash":"sha256:b632a0a1e831aa1c6d0ffef6daa4ab90d34e9e7ee9b2cbb966c4cda2ee1b2021"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateRoutingRule"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateRoutingRuleInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createRoutingRule"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"CreateRoutingRulePayload"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"routingRule"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"capability"}},{"kind":"Field","name":{"kind":"Name","value":"priority"}},{"kind":"Field","name":{"kind":"Name","value":"isDefault"}},{"kind":"Field","name":{"kind":"Name","value":"integration"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ValidationError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"fieldErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]} as unknown as DocumentNode<CreateRoutingRuleMutation, CreateRoutingRuleMutationVariables>;
export const SendSmsDocument = {"__meta__":{"hash":"sha256:10bd195b17803d6b375ba5ce110000a71a29435f6fc965ad0bc4e6601c3a832d"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SendSms"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"SendSmsInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"sendSms"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"SendSmsPayload"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"operation"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"OperationSummary"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ValidationError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"fieldErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"OperationSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Operation"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"capability"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"usedFallback"}},{"kind":"Field","name":{"kind":"Name","value":"providerReference"}},{"kind":"Field","name":{"kind":"Name","value":"deliveryStatus"}},{"kind":"Field","name":{"kind":"Name","value":"deliveryUpdatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"attemptCount"}},{"kind":"Field","name":{"kind":"Name","value":"integration"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"provider"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"attempts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"attemptNumber"}},{"kind":"Field","name":{"kind":"Name","value":"outcome"}},{"kind":"Field","name":{"kind":"Name","value":"httpStatus"}},{"kind":"Field","name":{"kind":"Name","value":"durationMs"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}},{"kind":"Field","name":{"kind":"Name","value":"error"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}}]}}]} as unknown as DocumentNode<SendSmsMutation, SendSmsMutationVariables>;
export const OperationDocument = {"__meta__":{"hash":"sha256:d7327b7ce849a40d2797319adf71657d49c72bf7fc22bf236bfc20028d78240b"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Operation"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"operation"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"OperationSummary"}},{"kind":"Field","name":{"kind":"Name","value":"result"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"OperationSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Operation"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"capability"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"usedFallback"}},{"kind":"Field","name":{"kind":"Name","value":"providerReference"}},{"kind":"Field","name":{"kind":"Name","value":"deliveryStatus"}},{"kind":"Field","name":{"kind":"Name","value":"deliveryUpdatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"attemptCount"}},{"kind":"Field","name":{"kind":"Name","value":"integration"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"provider"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"attempts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"attemptNumber"}},{"kind":"Field","name":{"kind":"Name","value":"outcome"}},{"kind":"Field","name":{"kind":"Name","value":"httpStatus"}},{"kind":"Field","name":{"kind":"Name","value":"durationMs"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}},{"kind":"Field","name":{"kind":"Name","value":"error"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}}]}}]} as unknown as DocumentNode<OperationQuery, OperationQueryVariables>;
export const IntegrationStatusChangedDocument = {"__meta__":{"hash":"sha256:f62485ef01363c2e2dbf0da72acee715119d44535a417f961215b0eb379f3dc8"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"IntegrationStatusChanged"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"integrationStatusChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"IntegrationSummary"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"IntegrationSummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Integration"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"lastError"}},{"kind":"Field","name":{"kind":"Name","value":"verifiedAt"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"enabledCapabilities"}},{"kind":"Field","name":{"kind":"Name","value":"provider"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<IntegrationStatusChangedSubscription, IntegrationStatusChangedSubscriptionVariables>;
export const WebhookDeliveryUpdatedDocument = {"__meta__":{"hash":"sha256:ee27cc0fc4c467eecc3a93d6a1b236239e3bde301bf9c6cb3ca06ddf8b452050"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"WebhookDeliveryUpdated"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"webhookId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"webhookDeliveryUpdated"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"webhookId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"webhookId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DeliverySummary"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DeliverySummary"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"WebhookDelivery"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"attemptCount"}},{"kind":"Field","name":{"kind":"Name","value":"event"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"occurredAt"}},{"kind":"Field","name":{"kind":"Name","value":"payload"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attempts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"attemptNumber"}},{"kind":"Field","name":{"kind":"Name","value":"responseStatus"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"durationMs"}}]}}]}}]} as unknown as DocumentNode<WebhookDeliveryUpdatedSubscription, WebhookDeliveryUpdatedSubscriptionVariables>;