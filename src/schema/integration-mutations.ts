import { builder } from '../builder.ts';
import { TENANT_CAPS } from '../db/tenant-caps.ts';
import { ConflictError, InvalidStateError, NotFoundError, parseGlobalId, ValidationError } from '../errors.ts';
import type { Integration } from '../generated/prisma/client.ts';
import { maxItems } from '../graphql-hardening/list-bounds.ts';
import { integrationGlobalId } from '../ids.ts';
import * as integrations from '../integrations/service.ts';
import type { RequestScope } from '../services.ts';
import { IntegrationRef } from './integration.ts';
import { payload } from './payload.ts';
import { RoutingRuleRef } from './routing-rule.ts';

const WRITE = { 'integrations:write': true } as const;
/**
 * What a connect session may do besides readers: configure, change the credentials of and verify
 * its allowed providers' integrations (integrations/service.ts refuses the rest; docs/console.md).
 */
const WRITE_OR_CONNECT = { $any: { 'integrations:write': true, connect: true } } as const;

/** Payload with the changed integration: what every integration mutation but delete returns. */
const withIntegration = (description: string) =>
  payload<Integration>(description, {
    integration: { type: IntegrationRef, description: 'The integration after the change.', resolve: (i) => i },
  });

builder.relayMutationField(
  'configureIntegration',
  {
    description: 'A new integration of a provider for the caller’s tenant.',
    inputFields: (t) => ({
      provider: t.string({ required: true, description: 'The provider’s name, e.g. "stripe".' }),
      credentials: t.field({ type: 'JSONObject', required: true, description: 'Values for the provider’s credentialSchema.' }),
      enabledCapabilities: t.stringList({ required: false, description: 'Capabilities to enable; default: all of the provider’s.' }),
      metadata: t.field({ type: 'JSONObject', required: false, description: 'Free-form data of your own (at most 16 KiB).' }),
    }),
  },
  {
    description:
      'Configures a provider for the tenant. The integration starts PENDING_VERIFY; its credentials are checked in the background.',
    authScopes: WRITE_OR_CONNECT,
    errors: { types: [ValidationError, ConflictError] },
    resolve: (_root, { input }, ctx) => integrations.configureIntegration(ctx, input),
  },
  withIntegration('The configured integration.'),
);

builder.relayMutationField(
  'updateIntegration',
  {
    description: 'Changes to an integration; omitted fields stay as they are.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The integration’s id.' }),
      credentials: t.field({
        type: 'JSONObject',
        required: false,
        description:
          'Credential values to change, merged by key; null clears an optional field. Changing a field that authenticates (CredentialField.authenticates) re-verifies; changing only others does not.',
      }),
      enabledCapabilities: t.stringList({ required: false, description: 'Replaces the enabled capabilities.' }),
      metadata: t.field({ type: 'JSONObject', required: false, description: 'Replaces the metadata.' }),
      expectedVersion: t.int({
        required: false,
        description: 'Refuse the change (VERSION_CONFLICT) unless the integration is at this version.',
      }),
    }),
  },
  {
    description: 'Updates an integration (a connect session: its credentials only).',
    authScopes: WRITE_OR_CONNECT,
    errors: { types: [ValidationError, NotFoundError, ConflictError] },
    resolve: (_root, { input }, ctx) =>
      integrations.updateIntegration(ctx, { ...input, id: parseGlobalId('Integration', String(input.id)) }),
  },
  withIntegration('The updated integration.'),
);

builder.relayMutationField(
  'rotateIntegrationCredentials',
  {
    description: 'New credential values.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The integration’s id.' }),
      credentials: t.field({ type: 'JSONObject', required: true, description: 'The values that change, merged by key.' }),
      expectedVersion: t.int({
        required: false,
        description: 'Refuse the change (VERSION_CONFLICT) unless the integration is at this version.',
      }),
    }),
  },
  {
    description: 'Replaces credential values and re-verifies them (PENDING_VERIFY; an INACTIVE integration stays INACTIVE).',
    authScopes: WRITE_OR_CONNECT,
    errors: { types: [ValidationError, NotFoundError, ConflictError] },
    resolve: (_root, { input }, ctx) =>
      integrations.rotateIntegrationCredentials(ctx, { ...input, id: parseGlobalId('Integration', String(input.id)) }),
  },
  withIntegration('The integration with its new credentials.'),
);

function lifecycleMutation(
  name: string,
  description: string,
  run: (ctx: RequestScope, id: string) => Promise<Integration>,
  authScopes: typeof WRITE | typeof WRITE_OR_CONNECT = WRITE,
) {
  builder.relayMutationField(
    name,
    {
      description: `Which integration to ${name
        .replace('Integration', '')
        .replace(/([A-Z])/g, ' $1')
        .toLowerCase()
        .trim()}.`,
      inputFields: (t) => ({ id: t.id({ required: true, description: 'The integration’s id.' }) }),
    },
    {
      description,
      authScopes,
      errors: { types: [NotFoundError, InvalidStateError, ConflictError] },
      resolve: (_root, { input }, ctx) => run(ctx, parseGlobalId('Integration', String(input.id))),
    },
    withIntegration('The integration after the change.'),
  );
}

lifecycleMutation(
  'verifyIntegration',
  'Checks the credentials against the provider again (PENDING_VERIFY, then ACTIVE or ERROR).',
  integrations.verifyIntegration,
  WRITE_OR_CONNECT,
);
lifecycleMutation(
  'activateIntegration',
  'INACTIVE → ACTIVE without re-verification when its current credentials were verified; otherwise it is verified first.',
  integrations.activateIntegration,
);
lifecycleMutation('disableIntegration', 'Takes an integration out of use (INACTIVE).', integrations.disableIntegration);
lifecycleMutation(
  'rotateInboundWebhookToken',
  'Gives the integration a new inboundWebhookUrl; the old one stops working at once.',
  integrations.rotateInboundWebhookToken,
);

builder.relayMutationField(
  'deleteIntegration',
  {
    description: 'Which integration to delete.',
    inputFields: (t) => ({ id: t.id({ required: true, description: 'The integration’s id.' }) }),
  },
  {
    description: 'Deletes an integration (soft delete: it disappears, its history stays, and its provider can be configured again).',
    authScopes: WRITE,
    errors: { types: [NotFoundError, ConflictError] },
    resolve: (_root, { input }, ctx) => integrations.deleteIntegration(ctx, parseGlobalId('Integration', String(input.id))),
  },
  {
    description: 'What was deleted.',
    outputFields: (t) => ({
      deletedId: t.id({ description: 'The deleted integration’s id.', resolve: (r) => integrationGlobalId(r.deleted.id) }),
      affectedRoutingRules: t.field({
        type: [RoutingRuleRef],
        description: 'The routing rules that named it as primary or fallback; they no longer select it.',
        extensions: maxItems(TENANT_CAPS.routingRules),
        resolve: (r) => r.affectedRoutingRules,
      }),
    }),
  },
);
