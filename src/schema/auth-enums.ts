/**
 * The enums of credentials: Scope (what a credential may do) and AuthMethod (how the caller
 * authenticated, on Viewer and AuditEntry), and how the audit fields name who acted. Values are the wire strings inside (`integrations:read`,
 * `jwt`), so resolvers return what tokens, keys and rows hold.
 */
import { ALL_SCOPES, type Scope, scopeEnumName } from '../auth/scopes.ts';
import { builder } from '../builder.ts';

/** `createdBy` and `updatedBy` of every type: who acted, written as Viewer.actorId is. */
export const ACTOR_DESCRIPTIONS = {
  createdBy:
    'Who created it: a JWT sub, apikey:<id> for an API key or connect:<session id> for a connect session; null for a token without sub.',
  updatedBy: 'Who last changed it, written as createdBy is.',
} as const;

const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  'integrations:read': 'integrations:read: read providers, integrations, routing rules and events.',
  'integrations:write': 'integrations:write: configure, change and delete integrations and routing rules (implies integrations:read).',
  'webhooks:read': 'webhooks:read: read webhooks, their deliveries and events.',
  'webhooks:write': 'webhooks:write: create, change, test and delete webhooks (implies webhooks:read).',
  'operations:read': 'operations:read: read operations.',
  'operations:write': 'operations:write: send SMS, email and the other operations (implies operations:read).',
  admin: 'admin: API keys and the audit log (implies every other scope but connect).',
  connect:
    'connect: held only by connect session tokens (createConnectSession): read providers, and configure, verify and read the tenant’s integrations of the session’s allowed providers. No claim or key grants it; nothing implies it.',
};

export const ScopeEnum = builder.enumType('Scope', {
  description:
    'A permission of a credential. Tokens (the scope claim) and createApiKey’s scopes use the spelling each value’s description starts with; createApiKey also takes these names.',
  values: Object.fromEntries(
    ALL_SCOPES.map((scope) => [scopeEnumName(scope), { value: scope, description: SCOPE_DESCRIPTIONS[scope] }]),
  ) as Record<string, { value: Scope; description: string }>,
});

export const AuthMethodEnum = builder.enumType('AuthMethod', {
  description: 'How a caller authenticated.',
  values: {
    JWT: { value: 'jwt', description: 'A bearer JWT (Authorization: Bearer …).' },
    API_KEY: { value: 'api_key', description: 'An API key (x-api-key).' },
    CONNECT_SESSION: { value: 'connect_session', description: 'A connect session token (createConnectSession), as Authorization: Bearer.' },
  } as const,
});
