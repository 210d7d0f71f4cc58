import { builder } from '../builder.ts';
import { TENANT_CAPS } from '../db/tenant-caps.ts';
import { ConflictError, NoActiveProviderError, NotFoundError, parseGlobalId, ValidationError } from '../errors.ts';
import type { Integration, RoutingRule } from '../generated/prisma/client.ts';
import { maxItems } from '../graphql-hardening/list-bounds.ts';
import { routingRuleGlobalId, tryParseGlobalId } from '../ids.ts';
import * as routing from '../routing/service.ts';
import { ACTOR_DESCRIPTIONS } from './auth-enums.ts';
import { ErrorInterface } from './errors.ts';
import { IntegrationRef } from './integration.ts';

const READ = { 'integrations:read': true } as const;
const WRITE = { 'integrations:write': true } as const;

export const RoutingRuleRef = builder.prismaNode('RoutingRule', {
  id: { field: 'id' },
  // a node(id) of a missing (or another tenant's) row answers null, not an error
  nullable: true,
  description:
    'Chooses the integration that serves a capability. The default rule is tried first, then the others by priority (lower first).',
  authScopes: READ,
  fields: (t) => ({
    capability: t.exposeString('capability', { description: 'The capability routed, e.g. send_sms.' }),
    integration: t.relation('integration', { description: 'The integration that serves it while ACTIVE.' }),
    fallbackIntegration: t.relation('fallbackIntegration', {
      nullable: true,
      description: 'Serves when the primary is not ACTIVE.',
    }),
    priority: t.exposeInt('priority', { description: 'Order among non-default rules; lower wins (default 100).' }),
    isDefault: t.exposeBoolean('isDefault', {
      description: 'The capability’s default rule, tried before all others (one per capability).',
    }),
    version: t.exposeInt('version', { description: 'Bumped by every change; pass it as expectedVersion to detect lost updates.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    createdBy: t.exposeString('createdBy', {
      nullable: true,
      description: ACTOR_DESCRIPTIONS.createdBy,
    }),
    updatedBy: t.exposeString('updatedBy', { nullable: true, description: ACTOR_DESCRIPTIONS.updatedBy }),
    deletedAt: t.expose('deletedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was deleted; a deleted rule routes nothing.',
    }),
    deletedBy: t.exposeString('deletedBy', { nullable: true, description: 'Who deleted it.' }),
    appId: t.exposeString('appId', { nullable: true, description: 'The application whose credential created it, if any.' }),
  }),
});

builder.prismaObjectField('Integration', 'routingRules', (t) =>
  t.field({
    type: [RoutingRuleRef],
    description: 'The routing rules that name this integration as primary or fallback.',
    extensions: maxItems(TENANT_CAPS.routingRules),
    resolve: (integration, _args, ctx) => ctx.loaders.rulesByIntegration.load(integration.id),
  }),
);

interface Resolution {
  capability: string;
  integration: Integration | null;
  usedFallback: boolean;
  rule: RoutingRule | null;
  error: NoActiveProviderError | null;
}

const RouteResolutionRef = builder.objectRef<Resolution>('RouteResolution').implement({
  description: 'Which integration serves a capability now.',
  fields: (t) => ({
    capability: t.exposeString('capability', { description: 'The capability asked for.' }),
    integration: t.field({
      type: IntegrationRef,
      nullable: true,
      description: 'The ACTIVE integration chosen; null when none.',
      resolve: (r) => r.integration,
    }),
    usedFallback: t.exposeBoolean('usedFallback', { description: 'Whether it is a rule’s fallback because the primary is not ACTIVE.' }),
    rule: t.field({ type: RoutingRuleRef, nullable: true, description: 'The rule that chose it.', resolve: (r) => r.rule }),
    error: t.field({
      type: ErrorInterface,
      nullable: true,
      description: 'NO_ACTIVE_PROVIDER when nothing ACTIVE serves the capability.',
      resolve: (r) => r.error,
    }),
  }),
});

builder.queryFields((t) => ({
  routingRules: t.prismaField({
    type: [RoutingRuleRef],
    description: `The tenant’s routing rules in resolution order (default first, then by priority); at most ${TENANT_CAPS.routingRules}.`,
    authScopes: READ,
    extensions: maxItems(TENANT_CAPS.routingRules),
    args: { capability: t.arg.string({ required: false, description: 'Only rules for this capability.' }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.routingRule.findMany({
        ...query,
        where: args.capability ? { capability: args.capability } : {},
        orderBy: routing.RULE_LIST_ORDER,
        // the cap the cost model counts on, held even for rows from before it
        take: TENANT_CAPS.routingRules,
      }),
  }),
  resolveRoute: t.field({
    type: RouteResolutionRef,
    description: 'The integration that serves a capability now: only ACTIVE integrations are ever chosen.',
    authScopes: READ,
    args: { capability: t.arg.string({ required: true, description: 'e.g. send_sms.' }) },
    resolve: async (_root, { capability }, ctx): Promise<Resolution> => {
      const chosen = await routing.resolveRoute(ctx, capability);
      return chosen
        ? { capability, integration: chosen.integration, usedFallback: chosen.usedFallback, rule: chosen.rule, error: null }
        : { capability, integration: null, usedFallback: false, rule: null, error: new NoActiveProviderError(capability) };
    },
  }),
}));

// an integration id that does not parse is the service's to report, after it has checked the rest of the input
const ref = (globalId: string | null | undefined) =>
  globalId == null ? globalId : { id: tryParseGlobalId('Integration', String(globalId)) };

builder.relayMutationField(
  'createRoutingRule',
  {
    description: 'A new routing rule.',
    inputFields: (t) => ({
      capability: t.string({ required: true, description: 'The capability to route, e.g. send_sms.' }),
      integrationId: t.id({ required: true, description: 'The integration that serves it; it must support and enable the capability.' }),
      fallbackIntegrationId: t.id({ required: false, description: 'Serves when the primary is not ACTIVE; must differ from it.' }),
      priority: t.int({ required: false, description: 'Lower wins; default 100 (0 to 1000000).' }),
      isDefault: t.boolean({ required: false, description: 'Make it the capability’s default rule (one per capability).' }),
    }),
  },
  {
    description: 'Routes a capability to an integration of the tenant.',
    authScopes: WRITE,
    errors: { types: [ValidationError, NotFoundError, ConflictError] },
    resolve: (_root, { input }, ctx) =>
      routing.createRoutingRule(ctx, {
        capability: input.capability,
        integration: ref(String(input.integrationId))!,
        fallback: ref(input.fallbackIntegrationId),
        priority: input.priority,
        isDefault: input.isDefault,
      }),
  },
  {
    description: 'The created rule.',
    outputFields: (t) => ({ routingRule: t.field({ type: RoutingRuleRef, description: 'The rule.', resolve: (r) => r }) }),
  },
);

builder.relayMutationField(
  'updateRoutingRule',
  {
    description: 'Changes to a routing rule; omitted fields stay as they are.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The rule’s id.' }),
      capability: t.string({ required: false, description: 'The capability to route.' }),
      integrationId: t.id({ required: false, description: 'The integration that serves it.' }),
      fallbackIntegrationId: t.id({ required: false, description: 'The fallback; null removes it.' }),
      priority: t.int({ required: false, description: 'Lower wins.' }),
      isDefault: t.boolean({ required: false, description: 'Whether it is the capability’s default rule.' }),
      expectedVersion: t.int({ required: false, description: 'Refuse the change (VERSION_CONFLICT) unless the rule is at this version.' }),
    }),
  },
  {
    description: 'Updates a routing rule.',
    authScopes: WRITE,
    errors: { types: [ValidationError, NotFoundError, ConflictError] },
    resolve: (_root, { input }, ctx) =>
      routing.updateRoutingRule(ctx, parseGlobalId('RoutingRule', String(input.id)), {
        capability: input.capability,
        integration: input.integrationId == null ? undefined : ref(String(input.integrationId)),
        fallback: 'fallbackIntegrationId' in input ? ref(input.fallbackIntegrationId) : undefined,
        priority: input.priority,
        isDefault: input.isDefault,
        expectedVersion: input.expectedVersion,
      }),
  },
  {
    description: 'The updated rule.',
    outputFields: (t) => ({ routingRule: t.field({ type: RoutingRuleRef, description: 'The rule.', resolve: (r) => r }) }),
  },
);

builder.relayMutationField(
  'deleteRoutingRule',
  { description: 'Which rule to delete.', inputFields: (t) => ({ id: t.id({ required: true, description: 'The rule’s id.' }) }) },
  {
    description: 'Deletes a routing rule.',
    authScopes: WRITE,
    errors: { types: [NotFoundError] },
    resolve: (_root, { input }, ctx) => routing.deleteRoutingRule(ctx, parseGlobalId('RoutingRule', String(input.id))),
  },
  {
    description: 'What was deleted.',
    outputFields: (t) => ({ deletedId: t.id({ description: 'The deleted rule’s id.', resolve: (r) => routingRuleGlobalId(r.id) }) }),
  },
);
