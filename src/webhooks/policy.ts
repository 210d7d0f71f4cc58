/**
 * Outbound webhook delivery policy, pure: retry schedule, jitter, Retry-After, auto-disable, pause
 * and event-type subscriptions; the delivery worker applies the decisions. Modelled on Svix
 * (docs.svix.com/retries): the default schedule is Svix's, 8 attempts over about 28 h, and 410 Gone
 * disables the endpoint at once (WEBHOOK_RETRY_SCHEDULE, WEBHOOK_PAUSE_AFTER_FAILURES).
 */

/** Jitter spreads retries of many deliveries failing together (one receiver outage) over time. */
export const RETRY_JITTER = 0.2;
/** A receiver may ask us to back off, but not to hold a delivery for days. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/** How many attempts a delivery lists: a full round of the default retry policy (8), and more (redeliveries add rounds; attemptCount counts them all). */
export const MAX_LISTED_ATTEMPTS = 10;

/** The first attempt plus one retry per schedule entry (CONTRACT: retryPolicy.maxAttempts default). */
export function defaultMaxAttempts(schedule: readonly number[]): number {
  return schedule.length + 1;
}

/**
 * Delay before the next attempt once `attemptsMade` (1-based) have failed: schedule[attemptsMade-1],
 * the last entry once past the end, times a uniform factor in [0.8, 1.2] (random() 0 → -20%, 1 → +20%).
 */
export function retryDelayMs(schedule: readonly number[], attemptsMade: number, random: () => number = Math.random): number {
  if (schedule.length === 0) throw new RangeError('retry schedule is empty');
  if (!Number.isInteger(attemptsMade) || attemptsMade < 1) {
    throw new RangeError(`attemptsMade must be a whole number ≥ 1, got ${attemptsMade}`);
  }
  const base = schedule[Math.min(attemptsMade, schedule.length) - 1]!;
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(base * (1 + RETRY_JITTER * (2 * r - 1)));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MON = `(?<mon>${MONTHS.join('|')})`;
const TIME = '(?<hh>\\d{2}):(?<mm>\\d{2}):(?<ss>\\d{2})';
// RFC 9110 §5.6.7: recipients must accept IMF-fixdate and the obsolete RFC 850 and asctime forms.
const HTTP_DATES = [
  new RegExp(`^[A-Z][a-z]{2}, (?<d>\\d{2}) ${MON} (?<y>\\d{4}) ${TIME} GMT$`),
  new RegExp(`^[A-Z][a-z]{5,8}, (?<d>\\d{2})-${MON}-(?<y>\\d{2}) ${TIME} GMT$`),
  new RegExp(`^[A-Z][a-z]{2} ${MON} (?<d>[ \\d]\\d) ${TIME} (?<y>\\d{4})$`),
];
type DateParts = Record<'d' | 'mon' | 'y' | 'hh' | 'mm' | 'ss', string>;

/** Epoch ms of an HTTP-date (always UTC), or null; Date.parse is too lenient ("hello 2030" parses). */
function parseHttpDate(text: string, now: Date): number | null {
  const match = HTTP_DATES.map((re) => re.exec(text)).find((m) => m !== null);
  const g = match?.groups as DateParts | undefined;
  if (!g) return null;
  let year = Number(g.y);
  // RFC 850 two-digit year: more than 50 years ahead means the previous century.
  if (g.y.length === 2) year += year + 2000 > now.getUTCFullYear() + 50 ? 1900 : 2000;
  const [month, day, hh, mm, ss] = [MONTHS.indexOf(g.mon), Number(g.d), Number(g.hh), Number(g.mm), Number(g.ss)];
  const ms = Date.UTC(year, month, day, hh, mm, ss);
  // Date.UTC rolls 31 Feb over into March and 24:00 into the next day: invalid, not another time.
  const valid = hh < 24 && mm < 60 && ss < 60 && new Date(ms).getUTCMonth() === month;
  return valid ? ms : null;
}

/** Retry-After (delta-seconds or HTTP-date) as a wait in ms; null when absent, invalid or past; capped at 24 h. */
export function parseRetryAfter(header: string | null | undefined, now: Date): number | null {
  const text = header?.trim();
  if (!text) return null;
  let ms: number | null;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = parseHttpDate(text, now);
    ms = at === null ? null : at - now.getTime();
  }
  if (ms === null || !(ms >= 0)) return null;
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}

/** One delivery attempt: the HTTP status, or null with an error for a timeout or connection failure. */
export type AttemptResult = { status: number | null; error: string | null; retryAfter: string | null };

export type NextStep = { kind: 'succeeded' } | { kind: 'gone' } | { kind: 'retry'; delayMs: number } | { kind: 'failed' };

/** Only a 2xx is success; redirects are not followed, so a 3xx fails like any other status. */
export function isFailure(result: AttemptResult): boolean {
  return result.status === null || result.status < 200 || result.status > 299;
}

/** Statuses whose Retry-After is honoured: rate limited and temporarily unavailable. */
const RETRY_AFTER_STATUSES = new Set([429, 503]);

/**
 * What follows an attempt: 2xx succeeded; 410 gone (disable the webhook, no retry); any other
 * outcome retries while attemptsMade < maxAttempts, else failed. On 429/503 a valid Retry-After
 * lengthens the delay (never shortens it: the jittered schedule delay is the floor).
 */
export function decideNext(args: {
  result: AttemptResult;
  attemptsMade: number;
  maxAttempts: number;
  schedule: readonly number[];
  now: Date;
  random?: () => number;
}): NextStep {
  const { result, attemptsMade, maxAttempts, schedule, now, random } = args;
  if (!isFailure(result)) return { kind: 'succeeded' };
  if (result.status === 410) return { kind: 'gone' };
  if (attemptsMade >= maxAttempts) return { kind: 'failed' };
  let delayMs = retryDelayMs(schedule, attemptsMade, random);
  if (result.status !== null && RETRY_AFTER_STATUSES.has(result.status)) {
    const retryAfter = parseRetryAfter(result.retryAfter, now);
    if (retryAfter !== null) delayMs = Math.max(delayMs, retryAfter);
  }
  return { kind: 'retry', delayMs };
}

/** Pause once the consecutive failed attempts reach the threshold; a success resets the count. */
export function shouldPause(consecutiveFailures: number, threshold: number): boolean {
  return consecutiveFailures >= threshold;
}

/**
 * How attempts recorded together (in the order they ended) change a webhook's run of consecutive
 * failures: a success resets it, each failure lengthens it. With a success among them the run is
 * set to the failures after the last success; without one it grows by their number.
 */
export function consecutiveFailuresChange(succeeded: readonly boolean[]): { set: number } | { increment: number } {
  const lastSuccess = succeeded.lastIndexOf(true);
  return lastSuccess === -1 ? { increment: succeeded.length } : { set: succeeded.length - lastSuccess - 1 };
}

/** `*` matches all; `prefix.*` matches any type below `prefix.` at any depth; else exact. */
export function eventTypeMatches(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) {
    const prefix = pattern.slice(0, -1);
    return type.length > prefix.length && type.startsWith(prefix);
  }
  return pattern === type;
}

// the provider event types inbound callbacks may carry (src/inbound/limits.ts)
const PROVIDER_EVENT = /^provider\.[a-z0-9_]+\.[A-Za-z0-9_.:-]+$/;
const PROVIDER_WILDCARD = /^provider\.(?:[a-z0-9_]+\.)?\*$/;

const PROVIDER_FORMS = 'provider.*, provider.<name>.* and provider.<name>.<type>';

/**
 * Null when a webhook may subscribe to `pattern`, else why not (never repeating the pattern: it
 * is the client's text). Accepted: `*`; a known type;
 * `prefix.*` matching at least one known type; and, since relayed provider events are
 * open-ended, `provider.*`, `provider.<name>.*`, `provider.<name>.<type>` and
 * `provider.<name>.<type prefix>.*` (e.g. `provider.stripe.charge.*`).
 */
export function validateEventTypePattern(pattern: string, knownTypes: readonly string[]): string | null {
  if (pattern === '') return 'event type pattern is empty';
  if (pattern === '*' || knownTypes.includes(pattern)) return null;
  if (PROVIDER_WILDCARD.test(pattern) || PROVIDER_EVENT.test(pattern)) return null;
  if (pattern.endsWith('.*') && PROVIDER_EVENT.test(pattern.slice(0, -2))) return null;
  if (pattern.endsWith('.*') && !pattern.slice(0, -1).includes('*')) {
    if (knownTypes.some((type) => eventTypeMatches(pattern, type))) return null;
    return `the "<prefix>.*" pattern matches no event type (known: ${knownTypes.join(', ')}, ${PROVIDER_FORMS})`;
  }
  if (pattern.includes('*')) return 'in an event type pattern "*" is allowed alone or as a final ".*"';
  return `unknown event type (known: ${knownTypes.join(', ')}, ${PROVIDER_FORMS})`;
}

/**
 * Bounds on a webhook's static headers, so that what is stored can always be sent: at most
 * 20 headers, names of at most 100 characters, values of at most 1024, and 8192 characters
 * of names and values together (receivers commonly refuse a request whose headers pass 8 to
 * 16 KiB, and the signature headers come on top).
 */
export const HEADER_LIMITS = { count: 20, nameLength: 100, valueLength: 1024, totalLength: 8192 } as const;

/** RFC 9110 §5.6.2 token: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * RFC 9110 §5.5 field value, narrowed to visible ASCII: obs-text (bytes over 0x7F) is not
 * allowed, since a string's characters past U+00FF (U+2028 …) cannot be sent as bytes at all and
 * those between are sent as Latin-1, which receivers read differently.
 */
const HEADER_VALUE = /^[\x21-\x7E \t]*$/;
/** Set by the server or about the connection: an API user may not set or override them. */
const RESERVED_HEADERS =
  /^(webhook-.*|content-type|content-length|host|connection|transfer-encoding|keep-alive|upgrade|te|trailer|proxy-.*)$/i;

export interface HeaderProblem {
  /** The header's name as given, or null for the set as a whole. */
  name: string | null;
  message: string;
}

/**
 * Why a webhook's static headers cannot be stored, each naming its header; empty when they can.
 * With `allowNull`, a null value passes (an update keeping the stored value; the merged headers
 * are checked again).
 */
export function headerProblems(headers: Readonly<Record<string, unknown>>, options: { allowNull?: boolean } = {}): HeaderProblem[] {
  const problems: HeaderProblem[] = [];
  const entries = Object.entries(headers);
  if (entries.length > HEADER_LIMITS.count) problems.push({ name: null, message: `at most ${HEADER_LIMITS.count} headers` });
  const seen = new Set<string>();
  let total = 0;
  for (const [name, value] of entries) {
    const problem = (message: string) => problems.push({ name, message });
    total += name.length + (typeof value === 'string' ? value.length : 0);
    if (!HEADER_NAME.test(name) || name.length > HEADER_LIMITS.nameLength) {
      problem(`is not a valid header name (1 to ${HEADER_LIMITS.nameLength} letters, digits or !#$%&'*+.^_\`|~-)`);
      continue;
    }
    if (RESERVED_HEADERS.test(name)) problem('is set by the server and cannot be overridden');
    else if (seen.has(name.toLowerCase())) problem('is named more than once (header names are case-insensitive)');
    else if (value === null && options.allowNull) {
      // checked once merged with the stored value it keeps
    } else if (typeof value !== 'string') problem('must be a string');
    else if (value.length > HEADER_LIMITS.valueLength) problem(`must be at most ${HEADER_LIMITS.valueLength} characters`);
    else if (!HEADER_VALUE.test(value)) problem('must be visible ASCII characters (no line breaks, control or non-ASCII characters)');
    else if (/^[ \t]|[ \t]$/.test(value)) problem('must not start or end with a space or tab');
    seen.add(name.toLowerCase());
  }
  if (total > HEADER_LIMITS.totalLength) {
    problems.push({ name: null, message: `names and values together must be at most ${HEADER_LIMITS.totalLength} characters` });
  }
  return problems;
}
