import { describe, expect, it } from 'vitest';
import {
  type Command,
  type IntegrationStatus,
  type LifecycleState,
  type Transition,
  transition,
  verificationOutcome,
} from '../../src/integrations/lifecycle.ts';

const STATUSES: IntegrationStatus[] = ['PENDING_VERIFY', 'ACTIVE', 'INACTIVE', 'ERROR'];
const COMMANDS: Command[] = ['verify', 'activate', 'disable', 'credentialsChanged'];

const go = (status: IntegrationStatus, queueVerification: boolean): Transition => ({ ok: true, status, queueVerification });
const refused = { ok: false } as const;
type Expected = Transition | typeof refused;

/**
 * The state machine as its doc comment states it. `activate` on INACTIVE depends on whether the
 * current credentials revision was verified, so the table has one column for each case.
 */
const TABLE: Record<IntegrationStatus, Record<Command, { verified: Expected; unverified: Expected }>> = {
  PENDING_VERIFY: {
    verify: { verified: go('PENDING_VERIFY', true), unverified: go('PENDING_VERIFY', true) },
    activate: { verified: refused, unverified: refused },
    disable: { verified: go('INACTIVE', false), unverified: go('INACTIVE', false) },
    credentialsChanged: { verified: go('PENDING_VERIFY', true), unverified: go('PENDING_VERIFY', true) },
  },
  ACTIVE: {
    verify: { verified: go('PENDING_VERIFY', true), unverified: go('PENDING_VERIFY', true) },
    activate: { verified: go('ACTIVE', false), unverified: go('ACTIVE', false) },
    disable: { verified: go('INACTIVE', false), unverified: go('INACTIVE', false) },
    credentialsChanged: { verified: go('PENDING_VERIFY', true), unverified: go('PENDING_VERIFY', true) },
  },
  INACTIVE: {
    verify: { verified: refused, unverified: refused },
    activate: { verified: go('ACTIVE', false), unverified: go('PENDING_VERIFY', true) },
    disable: { verified: go('INACTIVE', false), unverified: go('INACTIVE', false) },
    credentialsChanged: { verified: go('INACTIVE', false), unverified: go('INACTIVE', false) },
  },
  ERROR: {
    verify: { verified: go('PENDING_VERIFY', true), unverified: go('PENDING_VERIFY', true) },
    activate: { verified: refused, unverified: refused },
    disable: { verified: go('INACTIVE', false), unverified: go('INACTIVE', false) },
    credentialsChanged: { verified: go('PENDING_VERIFY', true), unverified: go('PENDING_VERIFY', true) },
  },
};

const verifiedState = (status: IntegrationStatus): LifecycleState => ({ status, credentialsRevision: 3, verifiedRevision: 3 });
const unverifiedStates = (status: IntegrationStatus): LifecycleState[] => [
  { status, credentialsRevision: 3, verifiedRevision: 2 },
  { status, credentialsRevision: 1, verifiedRevision: null },
];

const rows = STATUSES.flatMap((status) => COMMANDS.map((command) => [status, command] as const));

describe('transition', () => {
  it('the table covers every status × command', () => {
    expect(rows).toHaveLength(16);
  });

  it.each(rows)('%s × %s', (status, command) => {
    const { verified, unverified } = TABLE[status][command];
    const check = (state: LifecycleState, expected: Expected) => {
      const actual = transition(state, command);
      if (expected.ok) {
        expect(actual).toEqual(expected);
      } else {
        expect(actual.ok).toBe(false);
        if (!actual.ok) {
          expect(actual.reason).toContain(status);
          expect(actual.reason.length).toBeGreaterThan(10);
        }
      }
    };
    check(verifiedState(status), verified);
    for (const s of unverifiedStates(status)) check(s, unverified);
  });

  it('an unverified integration is never made ACTIVE', () => {
    for (const status of STATUSES) {
      for (const command of COMMANDS) {
        for (const state of unverifiedStates(status)) {
          const t = transition(state, command);
          if (t.ok && t.status === 'ACTIVE') expect(status).toBe('ACTIVE'); // only "no change" on ACTIVE
        }
      }
    }
  });

  it('refusals say why', () => {
    const verify = transition(verifiedState('INACTIVE'), 'verify');
    expect(verify).toEqual({ ok: false, reason: expect.stringMatching(/activate/) });
    const activate = transition(verifiedState('ERROR'), 'activate');
    expect(activate).toEqual({ ok: false, reason: expect.stringMatching(/only an INACTIVE integration can be activated/) });
  });
});

describe('verificationOutcome', () => {
  it('ok → active', () => {
    expect(verificationOutcome({ ok: true }, 0, 5)).toEqual({ kind: 'active' });
    expect(verificationOutcome({ ok: true }, 5, 5)).toEqual({ kind: 'active' });
  });

  it('permanent → error at once, even with retries left, with the reason as is', () => {
    for (const retriesDone of [0, 2, 5]) {
      expect(
        verificationOutcome({ ok: false, permanent: true, reason: 'Stripe rejected the credentials (HTTP 401)' }, retriesDone, 5),
      ).toEqual({
        kind: 'error',
        lastError: 'Stripe rejected the credentials (HTTP 401)',
      });
    }
  });

  it('transient with retries left → retry, naming the attempt', () => {
    const reason = 'Stripe API unavailable (HTTP 503)';
    expect(verificationOutcome({ ok: false, permanent: false, reason }, 0, 5)).toEqual({
      kind: 'retry',
      lastError: `${reason}; retrying (attempt 1 of 6)`,
    });
    expect(verificationOutcome({ ok: false, permanent: false, reason }, 4, 5)).toEqual({
      kind: 'retry',
      lastError: `${reason}; retrying (attempt 5 of 6)`,
    });
  });

  it('transient with no retries left → error mentioning the attempts', () => {
    const reason = 'Stripe API unavailable (HTTP 503)';
    expect(verificationOutcome({ ok: false, permanent: false, reason }, 5, 5)).toEqual({
      kind: 'error',
      lastError: `${reason}; gave up after 6 attempts`,
    });
    // retryLimit 0: the first transient failure is final
    expect(verificationOutcome({ ok: false, permanent: false, reason }, 0, 0)).toEqual({
      kind: 'error',
      lastError: `${reason}; gave up after 1 attempts`,
    });
  });
});
