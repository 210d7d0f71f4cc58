/**
 * Configuration values with a format of their own, parsed for src/config.ts (which reports what
 * they throw, naming the variable): durations and the webhook retry schedule, the pause
 * threshold, the private-network exemptions, the encryption keys and the database URL. The
 * webhooks apply theirs (src/webhooks/policy.ts, src/webhooks/ssrf.ts); the defaults follow Svix
 * (docs.svix.com/retries). No message repeats a value that may be secret.
 */
import { KEY_BYTES, KEY_ID, KeyringError, parseKeyring } from './crypto/keyring.ts';

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

/** DATA_RETENTION and AUDIT_RETENTION defaults (Stripe lists 30 days of events; audit logs keep a year). */
export const DEFAULT_DATA_RETENTION = '30d';
export const DEFAULT_AUDIT_RETENTION = '365d';
const MAX_RETENTION_MS = 36_500 * 86_400_000;

/** A retention window (`10s`, `5m`, `2h`, `30d`) in ms: at least one second, at most 100 years. */
export function parseRetention(value: string): number {
  const ms = parseDuration(value);
  if (ms < 1000 || ms > MAX_RETENTION_MS) throw new Error(`expected a duration from 1s to 36500d such as 30d, got "${value.trim()}"`);
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
  const delays = items.map(parseDuration);
  // a delay is a timer and RetryPolicy.delaysMs an Int: both end at 2^31 - 1 ms (about 24.8 days)
  if (delays.some((ms) => ms > MAX_RETRY_DELAY_MS)) throw new Error('expected durations of at most 24d each');
  return delays;
}

/** The longest retry delay: setTimeout's and GraphQL Int's limit, 2^31 - 1 ms. */
export const MAX_RETRY_DELAY_MS = 2 ** 31 - 1;

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

/** What is wrong with one base64 key-encryption key, never quoting it; undefined when nothing is. */
export function keyProblem(text: string): string | undefined {
  const value = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return 'expected base64 (A-Z a-z 0-9 + / and = padding), found other characters';
  const bytes = Buffer.from(value, 'base64').length;
  if (bytes !== KEY_BYTES) {
    return `expected ${KEY_BYTES} bytes in base64 (44 characters; make one with: openssl rand -base64 32), got ${bytes} bytes`;
  }
  return undefined;
}

/** ENCRYPTION_KEY and ENCRYPTION_KEYS (`id:base64,…`), each checked when set: one line per problem. */
export function encryptionKeyProblems(env: { ENCRYPTION_KEYS?: string; ENCRYPTION_KEY?: string }): string[] {
  const problems: string[] = [];
  if (env.ENCRYPTION_KEY?.trim()) {
    const problem = keyProblem(env.ENCRYPTION_KEY);
    if (problem) problems.push(`ENCRYPTION_KEY: ${problem}`);
  }
  if (env.ENCRYPTION_KEYS?.trim()) {
    const ids = new Set<string>();
    for (const [i, entry] of env.ENCRYPTION_KEYS.split(',').entries()) {
      const where = `ENCRYPTION_KEYS entry ${i + 1}`;
      const at = entry.indexOf(':');
      const id = entry.slice(0, at).trim();
      if (at <= 0 || !id) {
        problems.push(`${where}: expected id:base64, e.g. k2026:$(openssl rand -base64 32)`);
        continue;
      }
      if (!KEY_ID.test(id)) problems.push(`${where}: the key id must be 1 to 32 of A-Z a-z 0-9 _ . -`);
      else if (ids.has(id)) problems.push(`${where}: the key id "${id}" appears twice`);
      ids.add(id);
      const problem = keyProblem(entry.slice(at + 1));
      if (problem) problems.push(`${where}: ${problem}`);
    }
  }
  if (problems.length) return problems;
  try {
    parseKeyring(env); // the same parse the service runs: anything it refuses is reported now
  } catch (err) {
    if (!(err instanceof KeyringError)) throw err;
    problems.push(err.message);
  }
  return problems;
}

/**
 * A postgres:// URL's user name, password and database name as the driver decodes them: a bare
 * `%` would make it fail later with a message that names no variable.
 */
export function databaseUrlProblem(name: string, value: string): string | undefined {
  try {
    const url = new URL(value);
    for (const part of [url.username, url.password, url.pathname]) decodeURIComponent(part);
    return undefined;
  } catch {
    return `${name}: the user name, password or database name holds a % that starts no %XX escape; write % as %25`;
  }
}
