/**
 * Routing-rule use cases. A rule maps a capability to an integration of the same tenant (and
 * optionally a fallback); changes write their events in the same transaction.
 */

import { isRecordMissing, isUniqueViolation } from '../db/errors.ts';
import { lockForUpdate } from '../db/lock.ts';
import type { RawTx } from '../db/raw-transaction.ts';
import type { TenantTx } from '../db/tenant.ts';
import { assertUnderCap, TENANT_CAPS } from '../db/tenant-caps.ts';
import { ConflictError, type FieldError, NotFoundError, ValidationError } from '../errors.ts';
import type { EventType } from '../events/outbox.ts';
import type { Integration, Prisma, RoutingRule } from '../generated/prisma/client.ts';
import { integrationGlobalId, routingRuleGlobalId } from '../ids.ts';
import { findProvider, PROVIDERS } from '../providers/catalog.ts';
import type { RequestScope } from '../services.ts';
import { chooseRoute } from './choose.ts';

export const DEFAULT_PRIORITY = 100;
const MAX_PRIORITY = 1_000_000;
const KNOWN_CAPABILITIES = new Set(PROVIDERS.flatMap((p) => p.capabilities));

/** An integration the caller named: its database id, or null when the caller's id is not an Integration id. */
export interface IntegrationInputRef {
  id: string | null;
}

export interface RuleInput {
  capability?: string | null;
  integration?: IntegrationInputRef | null;
  /** null clears the fallback; undefined leaves it. */
  fallback?: IntegrationInputRef | null;
  priority?: number | null;
  isDefault?: boolean | null;
}

function ruleEventData(rule: RoutingRule): Prisma.InputJsonObject {
  return {
    id: routingRuleGlobalId(rule.id),
    capability: rule.capability,
    integrationId: integrationGlobalId(rule.integrationId),
    fallbackIntegrationId: rule.fallbackIntegrationId ? integrationGlobalId(rule.fallbackIntegrationId) : null,
    priority: rule.priority,
    isDefault: rule.isDefault,
    version: rule.version,
  };
}

async function loadTarget(tx: TenantTx, ref: IntegrationInputRef): Promise<Integration> {
  const row = ref.id ? await tx.integration.findUnique({ where: { id: ref.id } }) : null;
  if (!row) throw new NotFoundError('Integration', ref.id ? integrationGlobalId(ref.id) : null);
  return row;
}

/** The capability must be one the integration's provider supports and the integration has enabled. */
function checkServes(integration: Integration, capability: string, path: string, errors: FieldError[]) {
  const provider = findProvider(integration.provider);
  if (!provider?.capabilities.includes(capability)) {
    errors.push({ path: [path], message: `${integration.provider} does not support "${capability}"` });
  } else if (!integration.enabledCapabilities.includes(capability)) {
    errors.push({ path: [path], message: `the ${integration.provider} integration does not have "${capability}" enabled` });
  }
}

/** Validates the rule a change would produce; throws typed errors. */
async function validateRule(
  tx: TenantTx,
  rule: { capability: string; integration: IntegrationInputRef; fallback: IntegrationInputRef | null; priority: number },
) {
  const errors: FieldError[] = [];
  if (!KNOWN_CAPABILITIES.has(rule.capability)) {
    errors.push({ path: ['capability'], message: `unknown capability (known: ${[...KNOWN_CAPABILITIES].join(', ')})` });
  }
  if (!Number.isInteger(rule.priority) || rule.priority < 0 || rule.priority > MAX_PRIORITY) {
    errors.push({ path: ['priority'], message: `must be a whole number from 0 to ${MAX_PRIORITY} (lower wins)` });
  }
  if (errors.length) throw new ValidationError(errors);
  const primary = await loadTarget(tx, rule.integration);
  const fallback = rule.fallback ? await loadTarget(tx, rule.fallback) : null;
  checkServes(primary, rule.capability, 'integrationId', errors);
  if (fallback) {
    if (fallback.id === primary.id) errors.push({ path: ['fallbackIntegrationId'], message: 'must differ from integrationId' });
    else checkServes(fallback, rule.capability, 'fallbackIntegrationId', errors);
  }
  if (errors.length) throw new ValidationError(errors);
  return { primary, fallback };
}

function conflictOnDefault(err: unknown, capability: string): never {
  if (isUniqueViolation(err)) {
    throw new ConflictError(`"${capability}" already has a default rule: unset it first, or update that rule`);
  }
  if (isRecordMissing(err)) {
    throw new ConflictError('the routing rule changed while this change was applied: reload it and try again', 'VERSION_CONFLICT');
  }
  throw err;
}

async function emit(tx: TenantTx, scope: RequestScope, type: EventType, rule: RoutingRule) {
  await scope.services.outbox.record(tx, scope.viewer, { type, subjectId: rule.id, data: ruleEventData(rule) });
}

export async function createRoutingRule(
  scope: RequestScope,
  input: {
    capability: string;
    integration: IntegrationInputRef;
    fallback?: IntegrationInputRef | null;
    priority?: number | null;
    isDefault?: boolean | null;
  },
): Promise<RoutingRule> {
  const { viewer } = scope;
  const wanted = {
    capability: input.capability,
    integration: input.integration,
    fallback: input.fallback ?? null,
    priority: input.priority ?? DEFAULT_PRIORITY,
  };
  try {
    return await scope.services.queue.transaction(scope.db, async (tx) => {
      const { primary, fallback } = await validateRule(tx, wanted);
      await assertUnderCap(tx, viewer.tenantId, 'routingRules', () => tx.routingRule.count());
      const rule = await tx.routingRule.create({
        data: {
          tenantId: viewer.tenantId,
          appId: viewer.appId,
          capability: wanted.capability,
          integrationId: primary.id,
          fallbackIntegrationId: fallback?.id ?? null,
          priority: wanted.priority,
          isDefault: input.isDefault ?? false,
          createdBy: viewer.actorId,
          updatedBy: viewer.actorId,
        },
      });
      await emit(tx, scope, 'routing_rule.created', rule);
      return rule;
    });
  } catch (err) {
    return conflictOnDefault(err, input.capability);
  }
}

export async function updateRoutingRule(
  scope: RequestScope,
  id: string,
  input: RuleInput & { expectedVersion?: number | null },
): Promise<RoutingRule> {
  const { viewer } = scope;
  let capability = input.capability ?? '';
  try {
    return await scope.services.queue.transaction(scope.db, async (tx) => {
      await lockForUpdate(tx, 'RoutingRule', viewer.tenantId, id);
      const current = await tx.routingRule.findUnique({ where: { id } });
      if (!current) throw new NotFoundError('RoutingRule', routingRuleGlobalId(id));
      if (input.expectedVersion != null && input.expectedVersion !== current.version) {
        throw ConflictError.staleVersion('the routing rule', input.expectedVersion, current.version);
      }
      capability = input.capability ?? current.capability;
      const currentFallback = current.fallbackIntegrationId ? { id: current.fallbackIntegrationId } : null;
      const { primary, fallback } = await validateRule(tx, {
        capability,
        integration: input.integration ?? { id: current.integrationId },
        fallback: input.fallback === undefined ? currentFallback : input.fallback,
        priority: input.priority ?? current.priority,
      });
      const rule = await tx.routingRule.update({
        where: { id, version: current.version },
        data: {
          capability,
          integrationId: primary.id,
          fallbackIntegrationId: fallback?.id ?? null,
          priority: input.priority ?? current.priority,
          isDefault: input.isDefault ?? current.isDefault,
          version: { increment: 1 },
          updatedBy: viewer.actorId,
        },
      });
      await emit(tx, scope, 'routing_rule.updated', rule);
      return rule;
    });
  } catch (err) {
    return conflictOnDefault(err, capability);
  }
}

export async function deleteRoutingRule(scope: RequestScope, id: string): Promise<RoutingRule> {
  const { viewer } = scope;
  return scope.services.queue.transaction(scope.db, async (tx) => {
    await lockForUpdate(tx, 'RoutingRule', viewer.tenantId, id);
    const current = await tx.routingRule.findUnique({ where: { id } });
    if (!current) throw new NotFoundError('RoutingRule', routingRuleGlobalId(id));
    const rule = await tx.routingRule.update({
      where: { id, version: current.version },
      data: { deletedAt: new Date(), deletedBy: viewer.actorId, updatedBy: viewer.actorId, version: { increment: 1 } },
    });
    await emit(tx, scope, 'routing_rule.deleted', rule);
    return rule;
  });
}

/** How rule lists are ordered: by capability, then in resolution order. */
export const RULE_LIST_ORDER: Prisma.RoutingRuleOrderByWithRelationInput[] = [
  { capability: 'asc' },
  { isDefault: 'desc' },
  { priority: 'asc' },
  { id: 'asc' },
];

/** `RULE_LIST_ORDER` as SQL, made from it (the same columns and directions, never from input). */
const RULE_LIST_ORDER_SQL = RULE_LIST_ORDER.flatMap((item) =>
  Object.entries(item).map(([column, direction]) => `"${column}" ${direction === 'desc' ? 'DESC' : 'ASC'}`),
).join(', ');

/**
 * The tenant's live rules that name `integrationId`, first or as fallback, in the order of
 * `RULE_LIST_ORDER` (at most the tenant's cap), read in a raw transaction: the rows as Prisma maps
 * raw rows, which are `findMany`'s (test/integration/configure-delete-statements.test.ts compares them).
 */
export function rulesReferencing(tx: RawTx, tenantId: string, integrationId: string): Promise<RoutingRule[]> {
  return tx.$queryRawUnsafe<RoutingRule[]>(
    `SELECT * FROM "RoutingRule" WHERE "tenantId" = $1 AND "deletedAt" IS NULL AND ("integrationId" = $2 OR "fallbackIntegrationId" = $2)
      ORDER BY ${RULE_LIST_ORDER_SQL} LIMIT $3`,
    tenantId,
    integrationId,
    TENANT_CAPS.routingRules,
  );
}

/**
 * Resolves a capability to an integration from the routing table (src/routing/table.ts): the
 * capability's rules and every integration they name, kept while the tenant's version stands, or
 * read in one statement (choose.ts decides).
 */
export async function resolveRoute(scope: Pick<RequestScope, 'viewer' | 'db' | 'services'>, capability: string) {
  const { rules, integrations } = await scope.services.routes.routes(scope, capability);
  return chooseRoute(capability, rules, integrations);
}
