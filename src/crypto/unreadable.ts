/**
 * A sealed record the keyring cannot open at run time (its key dropped from ENCRYPTION_KEYS
 * before a rotation reached it, a damaged row). The work that needed it stops and is tried again
 * later; operators are alerted (an error log line, `icp_decryption_failures_total`); nothing a
 * tenant sees changes: no status, no failure count, no event. It is the operator's fault to fix,
 * never the tenant's. The start-up check (key-check.ts) keeps a wrong key from getting this far.
 */
import type { Logger } from '../log.ts';
import { DecryptionError } from './envelope.ts';

/** What could not be opened: the `what` label of `icp_decryption_failures_total`. */
export type SealedRecord =
  | 'integration_credentials'
  | 'webhook_signing_secret'
  | 'webhook_headers'
  | 'operation_input'
  | 'operation_result';

/** Counts and logs one failure; `fields` name the record and the work (ids, never values). */
export type DecryptionAlarm = (what: SealedRecord, err: DecryptionError, fields: Record<string, string | number>) => void;

export function decryptionAlarm(logger: Logger, counter: { inc(labels: { what: SealedRecord }): void }): DecryptionAlarm {
  return (what, err, fields) => {
    counter.inc({ what });
    // the error says which key id the record names and why it failed; never any key or value
    logger.error(
      { what, keyId: err.keyId, error: err.message, ...fields },
      'a sealed record could not be decrypted: its work is held, nothing was changed',
    );
  };
}

export function isDecryptionError(err: unknown): err is DecryptionError {
  return err instanceof DecryptionError;
}

/**
 * How long a job held back by an unreadable record waits before it runs again: 5 s after the
 * first hold, doubling with each hold, at most 15 minutes. It is never given up: the record may
 * become readable when its key is put back, and the job must still be there then.
 */
export function heldJobDelayMs(holds: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, holds), 15 * 60_000);
}
