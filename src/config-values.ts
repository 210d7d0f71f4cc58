/**
 * Configuration values with a format of their own, parsed for src/config.ts (which reports what
 * they throw, naming the variable): durations and the webhook retry schedule, the pause
 * threshold, the private-network exemptions. The webhooks apply them (src/webhooks/policy.ts,
 * src/webhooks/ssrf.ts); the defaults follow Svix (docs.svix.com/retries).
 */

/** Svix's schedule: the delays before retries 1..7. */
export const DEFAULT_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,10h';
export const DEFAULT_PAUSE_AFTER_FAILURES = 10;

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `<whole number><ms|s|m|h|d>`, e.g. `5s`, `30m`; fractions and signs are refused. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  const ms = match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : NaN;
  if (!Number.isSafeInteger(ms)) {
    throw new Error(`invalid duration "${text}": expected a whole number followed by ms, s, m, h or d`);
  }
  return ms;
}

/** The delays before an operation's second, third and fourth walk over its candidates. */
export const DEFAULT_OPERATION_RETRY_SCHEDULE = '10s,1m,5m';

/** OPERATION_RETRY_SCHEDULE → delays in ms, like WEBHOOK_RETRY_SCHEDULE; at most 20 retries. */
export function parseOperationRetrySchedule(value: string | undefined): number[] {
  const delays = parseRetrySchedule(value?.trim() ? value : DEFAULT_OPERATION_RETRY_SCHEDULE);
  if (delays.length > 20) throw new Error(`expected at most 20 durations, got ${delays.length}`);
  return delays;
}

/** WEBHOOK_RETRY_SCHEDULE → delays in ms; unset or blank gives the default schedule. */
export function parseRetrySchedule(value: string | undefined): number[] {
  const text = value?.trim() ? value : DEFAULT_RETRY_SCHEDULE;
  const items = text.split(',').map((item) => item.trim());
  if (items.every((item) => item === '')) throw new Error('expected a comma-separated list of durations, got an empty list');
  return items.map(parseDuration);
}

/** WEBHOOK_PAUSE_AFTER_FAILURES: a whole number 1..1000, default 10. */
export function parsePauseThreshold(value: string | undefined): number {
  const text = value?.trim();
  if (!text) return DEFAULT_PAUSE_AFTER_FAILURES;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 1000)) throw new Error(`expected a whole number from 1 to 1000, got "${value}"`);
  return n;
}

/**
 * WEBHOOK_ALLOW_HOSTS → exemption keys (`host` or `host:port`, host as `URL.hostname` spells it).
 * An entry with a port exempts exactly that host and port; one without exempts the host on the
 * scheme's default port only (80 for http, 443 for https), so `localhost` does not open every
 * local service. A malformed entry throws: a silently ignored exemption fails in confusing ways.
 */
export function parseAllowHosts(value: string | undefined): ReadonlySet<string> {
  const keys = new Set<string>();
  for (const entry of (value ?? '').split(',')) {
    const text = entry.trim().toLowerCase();
    if (text) keys.add(allowKey(text));
  }
  return keys;
}

function allowKey(entry: string): string {
  const match = /^(\[[^\]]*\]|[^:/?#@[\]\s]+)(?::(\d{1,5}))?$/.exec(entry);
  const host = match?.[1] === undefined ? null : canonicalHost(match[1]);
  const port = match?.[2] === undefined ? undefined : Number(match[2]);
  if (!host || (port !== undefined && (port < 1 || port > 65535))) {
    throw new Error(`invalid entry "${entry}": expected host, host:port or [ipv6]:port`);
  }
  return port === undefined ? host : `${host}:${port}`;
}

/** The URL parser's spelling, so `0x7f.1` or `[::0:1]` match the URLs they will be compared with. */
function canonicalHost(host: string): string | null {
  try {
    return new URL(`http://${host}/`).hostname || null;
  } catch {
    return null;
  }
}
