/**
 * Route choice (pure). Rules for a capability are walked in order: the default rule first,
 * then by priority (lower first), then oldest first. For each rule, its primary integration
 * serves if it is usable; otherwise its fallback does (`usedFallback`). Usable means ACTIVE,
 * not deleted, and with the capability still enabled: nothing else is ever chosen.
 */
import type { IntegrationStatus } from '../generated/prisma/enums.ts';

export interface RuleForChoice {
  id: string;
  isDefault: boolean;
  priority: number;
  integrationId: string;
  fallbackIntegrationId: string | null;
}

export interface CandidateIntegration {
  id: string;
  status: IntegrationStatus;
  enabledCapabilities: string[];
  deletedAt: Date | null;
}

export function ruleOrder(a: RuleForChoice, b: RuleForChoice): number {
  if (a.isDefault !== b.isDefault) return a.isDefault ? -1 : 1;
  if (a.priority !== b.priority) return a.priority - b.priority;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function isUsable(integration: CandidateIntegration | undefined, capability: string): boolean {
  return (
    !!integration &&
    integration.status === 'ACTIVE' &&
    integration.deletedAt === null &&
    integration.enabledCapabilities.includes(capability)
  );
}

export function chooseRoute<I extends CandidateIntegration, R extends RuleForChoice>(
  capability: string,
  rules: readonly R[],
  integrations: ReadonlyMap<string, I>,
): { rule: R; integration: I; usedFallback: boolean } | null {
  for (const rule of [...rules].sort(ruleOrder)) {
    const primary = integrations.get(rule.integrationId);
    if (isUsable(primary, capability)) return { rule, integration: primary!, usedFallback: false };
    const fallback = rule.fallbackIntegrationId ? integrations.get(rule.fallbackIntegrationId) : undefined;
    if (isUsable(fallback, capability)) return { rule, integration: fallback!, usedFallback: true };
  }
  return null;
}

/**
 * Every integration the capability's rules name, in the order operations try them (each rule's
 * primary, then its fallback, then the next rule's), each once, usable or not: the walk skips what
 * is not usable when it gets there. An operation used a fallback when anything but the first served.
 */
export function routeCandidateIds(rules: readonly RuleForChoice[]): string[] {
  const ids = new Set<string>();
  for (const rule of [...rules].sort(ruleOrder)) {
    ids.add(rule.integrationId);
    if (rule.fallbackIntegrationId) ids.add(rule.fallbackIntegrationId);
  }
  return [...ids];
}
