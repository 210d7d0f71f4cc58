/**
 * Replay window for schemes that sign a timestamp (Stripe, SendGrid).
 *
 * Policy: 300 s either way of our clock. 300 s is stripe-node's `DEFAULT_TOLERANCE`; SendGrid
 * documents none, so we apply the same. Accepting the future as well as the past tolerates a
 * provider clock running ahead of ours without widening the window beyond 300 s.
 */
export const TIMESTAMP_TOLERANCE_SECONDS = 300;

/** True when `seconds` is a Unix time in whole seconds within the tolerance of `now`. */
export function isFresh(seconds: string, now: Date, tolerance = TIMESTAMP_TOLERANCE_SECONDS): boolean {
  if (!/^\d{1,12}$/.test(seconds)) return false;
  return Math.abs(now.getTime() / 1000 - Number(seconds)) <= tolerance;
}
