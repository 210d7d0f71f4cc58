import { describe, expect, it } from 'vitest';
import { type CandidateIntegration, chooseRoute, type RuleForChoice, ruleOrder } from '../../src/routing/choose.ts';

const integ = (
  id: string,
  status: CandidateIntegration['status'] = 'ACTIVE',
  extra: Partial<CandidateIntegration> = {},
): [string, CandidateIntegration] => [id, { id, status, enabledCapabilities: ['send_sms'], deletedAt: null, ...extra }];
const rule = (id: string, integrationId: string, extra: Partial<RuleForChoice> = {}): RuleForChoice => ({
  id,
  integrationId,
  fallbackIntegrationId: null,
  isDefault: false,
  priority: 100,
  ...extra,
});

describe('chooseRoute', () => {
  it('orders the default rule first, then by priority, then by id', () => {
    const rules = [rule('c', 'x', { priority: 1 }), rule('b', 'x', { priority: 50, isDefault: true }), rule('a', 'x', { priority: 1 })];
    expect([...rules].sort(ruleOrder).map((r) => r.id)).toEqual(['b', 'a', 'c']);
  });

  it('takes the first usable primary, else that rule’s usable fallback, else the next rule', () => {
    const map = new Map([integ('p1', 'INACTIVE'), integ('f1'), integ('p2')]);
    const chosen = chooseRoute(
      'send_sms',
      [rule('r1', 'p1', { priority: 1, fallbackIntegrationId: 'f1' }), rule('r2', 'p2', { priority: 2 })],
      map,
    );
    expect(chosen).toMatchObject({ rule: { id: 'r1' }, integration: { id: 'f1' }, usedFallback: true });
    const noFallback = chooseRoute('send_sms', [rule('r1', 'p1', { priority: 1 }), rule('r2', 'p2', { priority: 2 })], map);
    expect(noFallback).toMatchObject({ rule: { id: 'r2' }, integration: { id: 'p2' }, usedFallback: false });
  });

  it.each(['PENDING_VERIFY', 'INACTIVE', 'ERROR'] as const)('never chooses a %s integration', (status) => {
    expect(chooseRoute('send_sms', [rule('r', 'p')], new Map([integ('p', status)]))).toBeNull();
  });

  it('never chooses a deleted integration, one without the capability enabled, or one missing from the map', () => {
    expect(chooseRoute('send_sms', [rule('r', 'p')], new Map([integ('p', 'ACTIVE', { deletedAt: new Date() })]))).toBeNull();
    expect(chooseRoute('send_sms', [rule('r', 'p')], new Map([integ('p', 'ACTIVE', { enabledCapabilities: [] })]))).toBeNull();
    expect(
      chooseRoute('send_sms', [rule('r', 'p', { fallbackIntegrationId: 'gone' })], new Map<string, CandidateIntegration>()),
    ).toBeNull();
  });
});
