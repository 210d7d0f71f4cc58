/**
 * The integration state machine, pure: the status each command leads to and whether it queues a
 * verification (`transition`), and what a verification result does (`verificationOutcome`). The
 * table of transitions: docs/using-the-api.md ("Integration lifecycle"). Results for a superseded
 * credentials revision, or arriving after a disable, are dropped by the worker (verify-worker.ts).
 */
import type { IntegrationStatus } from '../generated/prisma/enums.ts';

export type { IntegrationStatus };

export interface LifecycleState {
  status: IntegrationStatus;
  credentialsRevision: number;
  verifiedRevision: number | null;
}

/**
 * `credentialsChanged`: a field the provider authenticates with changed (a new credentials revision).
 * A change of other fields only is no command: status and revisions stay (service.ts).
 */
export type Command = 'verify' | 'activate' | 'disable' | 'credentialsChanged';

export type Transition = { ok: true; status: IntegrationStatus; queueVerification: boolean } | { ok: false; reason: string };

const stay = (status: IntegrationStatus): Transition => ({ ok: true, status, queueVerification: false });
const verifyNext: Transition = { ok: true, status: 'PENDING_VERIFY', queueVerification: true };

export function transition(state: LifecycleState, command: Command): Transition {
  const { status } = state;
  switch (command) {
    case 'disable':
      return stay('INACTIVE');
    case 'verify':
      return status === 'INACTIVE' ? { ok: false, reason: 'the integration is INACTIVE: activate it to verify it' } : verifyNext;
    case 'credentialsChanged':
      return status === 'INACTIVE' ? stay('INACTIVE') : verifyNext;
    case 'activate':
      if (status === 'ACTIVE') return stay('ACTIVE');
      if (status === 'INACTIVE') {
        return state.verifiedRevision === state.credentialsRevision ? stay('ACTIVE') : verifyNext;
      }
      return {
        ok: false,
        reason: `the integration is ${status}: only an INACTIVE integration can be activated; verification decides the others`,
      };
  }
}

export type VerificationResult = { ok: true } | { ok: false; permanent: boolean; reason: string };

export type VerificationOutcome = { kind: 'active' } | { kind: 'error'; lastError: string } | { kind: 'retry'; lastError: string };

/**
 * What a verification result does. Permanent failures (credentials refused) end in ERROR at
 * once; transient ones (network, 5xx, 429) are retried until `retryLimit` retries are spent.
 */
export function verificationOutcome(result: VerificationResult, retriesDone: number, retryLimit: number): VerificationOutcome {
  if (result.ok) return { kind: 'active' };
  if (!result.permanent && retriesDone < retryLimit) {
    return { kind: 'retry', lastError: `${result.reason}; retrying (attempt ${retriesDone + 1} of ${retryLimit + 1})` };
  }
  const lastError = result.permanent ? result.reason : `${result.reason}; gave up after ${retriesDone + 1} attempts`;
  return { kind: 'error', lastError };
}
