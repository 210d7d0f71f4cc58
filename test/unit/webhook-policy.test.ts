import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE, parseDuration, parsePauseThreshold, parseRetrySchedule } from '../../src/config-values.ts';
import {
  type AttemptResult,
  consecutiveFailuresChange,
  decideNext,
  defaultMaxAttempts,
  eventTypeMatches,
  HEADER_LIMITS,
  headerProblems,
  isFailure,
  parseRetryAfter,
  retryDelayMs,
  shouldPause,
  validateEventTypePattern,
} from '../../src/webhooks/policy.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const NOW = new Date('2025-03-10T12:00:00Z');
const fixed = (r: number) => () => r;

describe('retry schedule', () => {
  it('parses each unit', () => {
    expect(['250ms', '5s', '5m', '2h', '1d', '0s'].map(parseDuration)).toEqual([250, 5 * S, 5 * M, 2 * H, 24 * H, 0]);
  });

  it.each(['5', '5x', '5sec', '5ms5', 'x5s', '1.5s', '-5s', '+5s', 's', '5 s', '5S', ''])('rejects %j and names it', (bad) => {
    expect(() => parseDuration(bad)).toThrow(`"${bad}"`);
  });

  it('defaults to the Svix schedule when unset or blank', () => {
    const svix = [5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H];
    expect(parseRetrySchedule(undefined)).toEqual(svix);
    expect(parseRetrySchedule('  ')).toEqual(svix);
    expect(parseRetrySchedule(DEFAULT_RETRY_SCHEDULE)).toEqual(svix);
  });

  it('parses a custom list, tolerating spaces', () => {
    expect(parseRetrySchedule(' 10ms, 1s ,2m')).toEqual([10, S, 2 * M]);
  });

  it('names the bad item; refuses empty items and an empty list', () => {
    expect(() => parseRetrySchedule('5s,5q,1h')).toThrow('"5q"');
    expect(() => parseRetrySchedule('5s,,1h')).toThrow('""');
    expect(() => parseRetrySchedule(' , ')).toThrow('empty');
  });

  it('refuses a delay past 2^31 - 1 ms (a timer’s and a GraphQL Int’s limit, RetryPolicy.delaysMs)', () => {
    expect(parseRetrySchedule('5s,24d')).toEqual([5 * S, 24 * 24 * H]);
    expect(() => parseRetrySchedule('5s,25d')).toThrow('at most 24d');
  });

  it('the default schedule gives 8 attempts over about 28 h', () => {
    const schedule = parseRetrySchedule(undefined);
    expect(defaultMaxAttempts(schedule)).toBe(8);
    expect(schedule.reduce((a, b) => a + b, 0) / H).toBeCloseTo(27.6, 1);
  });
});

describe('retryDelayMs', () => {
  const schedule = parseRetrySchedule(undefined);
  const expected = [5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H];

  it.each(expected.map((ms, i) => [i + 1, ms] as const))('after attempt %i ≈ %i ms, within ±20%', (attempt, ms) => {
    expect(retryDelayMs(schedule, attempt, fixed(0.5))).toBe(ms);
    for (let i = 0; i < 50; i++) {
      const delay = retryDelayMs(schedule, attempt);
      expect(delay).toBeGreaterThanOrEqual(ms * 0.8);
      expect(delay).toBeLessThanOrEqual(ms * 1.2);
    }
  });

  it('jitter bounds are exactly -20% and +20%, uniform in between', () => {
    expect(retryDelayMs(schedule, 1, fixed(0))).toBe(4000);
    expect(retryDelayMs(schedule, 1, fixed(1))).toBe(6000);
    expect(retryDelayMs(schedule, 1, fixed(0.25))).toBe(4500);
    expect(retryDelayMs(schedule, 7, fixed(0))).toBe(8 * H);
    expect(retryDelayMs(schedule, 7, fixed(1))).toBe(12 * H);
  });

  it('rounds to whole ms', () => {
    expect(retryDelayMs([1000], 1, fixed(0.123456))).toBe(849);
    expect(retryDelayMs([1000], 1, fixed(0.002))).toBe(801);
  });

  it('past the end uses the last entry', () => {
    expect(retryDelayMs([S, 2 * S], 3, fixed(0.5))).toBe(2 * S);
    expect(retryDelayMs(schedule, 50, fixed(0.5))).toBe(10 * H);
  });

  it('refuses attempt 0 and an empty schedule', () => {
    expect(() => retryDelayMs(schedule, 0)).toThrow(RangeError);
    expect(() => retryDelayMs([], 1)).toThrow(RangeError);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120 * S],
    [' 0 ', 0],
    ['Mon, 10 Mar 2025 12:01:30 GMT', 90 * S],
    ['Monday, 10-Mar-25 12:01:30 GMT', 90 * S],
    ['Mon Mar 10 12:01:30 2025', 90 * S],
    ['Mon Mar  3 12:00:00 2025', null],
    ['86400', 24 * H],
    ['86401', 24 * H],
    ['999999999999999999999', 24 * H],
    ['Wed, 12 Mar 2025 12:00:00 GMT', 24 * H],
  ] as const)('%j → %s', (header, ms) => {
    expect(parseRetryAfter(header, NOW)).toBe(ms);
  });

  // Invalid dates are in the future of NOW, so only validation (not "past") can reject them.
  it.each([
    null,
    undefined,
    '',
    'soon',
    '-5',
    '1.5',
    '2025-03-10T12:01:00Z',
    'hello 2030',
    'Mon, 31 Apr 2025 12:00:00 GMT',
    'Mon, 00 Apr 2025 12:00:00 GMT',
    'Mon, 10 Mar 2025 24:00:00 GMT',
    'Mon, 10 Mar 2025 12:60:00 GMT',
    'Mon, 10 Mar 2025 12:00:60 GMT',
    'Mon, 10 Mar 2025 12:01:30 UTC',
  ])('invalid %j → null', (header) => {
    expect(parseRetryAfter(header, NOW)).toBeNull();
  });

  it('a date in the past → null', () => {
    expect(parseRetryAfter('Mon, 10 Mar 2025 11:59:59 GMT', NOW)).toBeNull();
  });
});

const attempt = (status: number | null, retryAfter: string | null = null): AttemptResult => ({
  status,
  error: status === null ? 'timeout' : null,
  retryAfter,
});

describe('decideNext', () => {
  const schedule = parseRetrySchedule(undefined);
  const decide = (result: AttemptResult, attemptsMade = 1, maxAttempts = 8) =>
    decideNext({ result, attemptsMade, maxAttempts, schedule, now: NOW, random: fixed(0.5) });

  it.each([200, 201, 204, 299])('%i succeeded, even on the last attempt', (status) => {
    expect(decide(attempt(status))).toEqual({ kind: 'succeeded' });
    expect(decide(attempt(status), 8)).toEqual({ kind: 'succeeded' });
  });

  it('410 is gone at once, with attempts left', () => {
    expect(decide(attempt(410), 1)).toEqual({ kind: 'gone' });
  });

  it.each([199, 301, 302, 304, 400, 401, 404, 408, 429, 500, 502, 503, null])('%s retries on schedule, then fails', (status) => {
    expect(decide(attempt(status), 1)).toEqual({ kind: 'retry', delayMs: 5 * S });
    expect(decide(attempt(status), 3)).toEqual({ kind: 'retry', delayMs: 30 * M });
    expect(decide(attempt(status), 7)).toEqual({ kind: 'retry', delayMs: 10 * H });
    expect(decide(attempt(status), 8)).toEqual({ kind: 'failed' });
  });

  it('maxAttempts 1 never retries', () => {
    expect(decide(attempt(500), 1, 1)).toEqual({ kind: 'failed' });
  });

  it.each([429, 503])('%i honours a longer Retry-After', (status) => {
    expect(decide(attempt(status, '600'))).toEqual({ kind: 'retry', delayMs: 600 * S });
    expect(decide(attempt(status, 'Mon, 10 Mar 2025 13:00:00 GMT'))).toEqual({ kind: 'retry', delayMs: H });
  });

  it('a shorter, invalid or past Retry-After leaves the schedule delay', () => {
    expect(decide(attempt(429, '1'))).toEqual({ kind: 'retry', delayMs: 5 * S });
    expect(decide(attempt(503, 'later'))).toEqual({ kind: 'retry', delayMs: 5 * S });
    expect(decide(attempt(503, 'Mon, 10 Mar 2025 11:00:00 GMT'))).toEqual({ kind: 'retry', delayMs: 5 * S });
  });

  it.each([500, 502, 301, 400, 408])('Retry-After is ignored on %i', (status) => {
    expect(decide(attempt(status, '600'))).toEqual({ kind: 'retry', delayMs: 5 * S });
  });

  it('Retry-After is capped at 24 h', () => {
    expect(decide(attempt(429, '999999'))).toEqual({ kind: 'retry', delayMs: 24 * H });
  });

  it('jitter comes from the injected random', () => {
    const step = decideNext({ result: attempt(500), attemptsMade: 2, maxAttempts: 8, schedule, now: NOW, random: fixed(1) });
    expect(step).toEqual({ kind: 'retry', delayMs: 6 * M });
  });

  it('isFailure: anything but 2xx', () => {
    expect([200, 204, 299].map((s) => isFailure(attempt(s)))).toEqual([false, false, false]);
    expect([null, 199, 300, 410, 500].map((s) => isFailure(attempt(s)))).toEqual([true, true, true, true, true]);
  });
});

describe('pause after consecutive failures', () => {
  it('pauses at exactly the threshold', () => {
    expect(shouldPause(9, 10)).toBe(false);
    expect(shouldPause(10, 10)).toBe(true);
    expect(shouldPause(11, 10)).toBe(true);
    expect(shouldPause(0, 1)).toBe(false);
    expect(shouldPause(1, 1)).toBe(true);
  });

  it('attempts recorded together: a success resets the run, failures lengthen it, in the order they ended', () => {
    expect(consecutiveFailuresChange([false, false, false])).toEqual({ increment: 3 });
    expect(consecutiveFailuresChange([true])).toEqual({ set: 0 });
    expect(consecutiveFailuresChange([false, true])).toEqual({ set: 0 });
    expect(consecutiveFailuresChange([true, false, false])).toEqual({ set: 2 });
    expect(consecutiveFailuresChange([false, true, false, true, false])).toEqual({ set: 1 });
    expect(consecutiveFailuresChange([])).toEqual({ increment: 0 });
  });

  it('threshold defaults to 10 and accepts 1..1000', () => {
    expect(parsePauseThreshold(undefined)).toBe(10);
    expect(parsePauseThreshold(' ')).toBe(10);
    expect(parsePauseThreshold('1')).toBe(1);
    expect(parsePauseThreshold(' 25 ')).toBe(25);
    expect(parsePauseThreshold('1000')).toBe(1000);
  });

  it.each(['0', '1001', '-1', '2.5', 'ten', '1e2'])('rejects %j', (bad) => {
    expect(() => parsePauseThreshold(bad)).toThrow(`"${bad}"`);
  });
});

describe('eventTypeMatches', () => {
  it.each([
    ['*', 'integration.created', true],
    ['*', 'provider.stripe.charge.succeeded', true],
    ['integration.*', 'integration.status_changed', true],
    ['integration.*', 'integrationx.y', false],
    ['integration.*', 'integration', false],
    ['integration.*', 'integration.', false],
    ['integration.*', 'routing_rule.created', false],
    ['provider.*', 'provider.stripe.charge.succeeded', true],
    ['provider.stripe.*', 'provider.stripe.charge.succeeded', true],
    ['provider.stripe.*', 'provider.stripex.charge', false],
    ['provider.stripe.charge.*', 'provider.stripe.charge.succeeded', true],
    ['integration.created', 'integration.created', true],
    ['integration.created', 'integration.created2', false],
    ['integration.created', 'integration.deleted', false],
    ['integration', 'integration.created', false],
  ] as const)('%s vs %s → %s', (pattern, type, expected) => {
    expect(eventTypeMatches(pattern, type)).toBe(expected);
  });
});

describe('validateEventTypePattern', () => {
  const known = ['integration.created', 'integration.status_changed', 'routing_rule.created', 'webhook.test'];

  it.each([
    '*',
    'integration.created',
    'webhook.test',
    'integration.*',
    'routing_rule.*',
    'provider.*',
    'provider.stripe.*',
    'provider.stripe.charge.succeeded',
    'provider.docusign.envelope-completed',
    'provider.twilio.message.Delivered',
    'provider.stripe.charge.*',
    'provider.certisign.document:signed',
  ])('accepts %j', (pattern) => {
    expect(validateEventTypePattern(pattern, known)).toBeNull();
  });

  it.each([
    ['', 'empty'],
    [
      'integration.nope',
      'unknown event type (known: integration.created, integration.status_changed, routing_rule.created, webhook.test, provider.*',
    ],
    ['integration', 'unknown event type (known:'],
    ['integ.*', 'matches no event type'],
    ['billing.*', 'matches no event type'],
    ['integration.created.*', 'matches no event type'],
    ['*.created', '"*" is allowed alone or as a final ".*"'],
    ['integration.*.x', '"*" is allowed alone or as a final ".*"'],
    ['**', '"*" is allowed'],
    ['provider', 'unknown event type'],
    ['provider.stripe', 'unknown event type'],
    ['provider.Stripe.charge', 'unknown event type'],
    ['provider.stripe.charge succeeded', 'unknown event type'],
    ['provider.*.charge', '"*" is allowed'],
  ])('rejects %j', (pattern, message) => {
    expect(validateEventTypePattern(pattern, known)).toContain(message);
  });

  it.each(['sk_live_CANARY', 'sk_live_CANARY.*', 'sk_live_*CANARY', 'provider.stripe.sk live CANARY'])(
    'never repeats the pattern %j',
    (pattern) => {
      expect(validateEventTypePattern(pattern, known)).not.toContain('CANARY');
    },
  );
});

describe('headerProblems', () => {
  const problems = (headers: Record<string, unknown>, allowNull = false) =>
    headerProblems(headers, { allowNull }).map((p) => [p.name, p.message]);

  it('accepts tokens as names and visible ASCII values, with spaces and tabs inside', () => {
    expect(problems({ Authorization: 'Bearer abc.def-ghi_JKL~=', "X-Odd!#$%&'*+.^_`|~": 'a\tb c', 'x-empty': '' })).toEqual([]);
    expect(problems({ 'x-max': 'v'.repeat(HEADER_LIMITS.valueLength), ['n'.repeat(HEADER_LIMITS.nameLength)]: 'v' })).toEqual([]);
  });

  it.each([
    ['a\r\nb', /visible ASCII/],
    ['a\u0000b', /visible ASCII/],
    ['a\u001bb', /visible ASCII/],
    ['a\u007fb', /visible ASCII/],
    ['caf\u00e9', /visible ASCII/],
    ['a\u2028b', /visible ASCII/],
    ['a\u2029b', /visible ASCII/],
    [' lead', /start or end with a space or tab/],
    ['trail\t', /start or end with a space or tab/],
    ['v'.repeat(1025), /at most 1024 characters/],
    [42, /must be a string/],
    [null, /must be a string/],
  ])('refuses the value %j, naming the header', (value, message) => {
    const found = headerProblems({ 'x-h': value });
    expect(found).toHaveLength(1);
    expect(found[0]!.name).toBe('x-h');
    expect(found[0]!.message).toMatch(message);
  });

  it.each(['', 'x h', 'x:h', 'x\u00e9', 'x\nh', 'n'.repeat(101), '(x)'])('refuses the name %j', (name) => {
    expect(problems({ [name]: 'v' })).toEqual([[name, expect.stringMatching(/not a valid header name/)]]);
  });

  it('refuses server-set headers and a name given twice in different case', () => {
    expect(problems({ 'Webhook-Signature': 'x', Host: 'x', 'Content-Length': '1' }).map(([name]) => name)).toEqual([
      'Webhook-Signature',
      'Host',
      'Content-Length',
    ]);
    expect(problems({ 'X-Twice': 'a', 'x-twice': 'b' })).toEqual([['x-twice', expect.stringMatching(/more than once/)]]);
  });

  it('bounds the count and the total size', () => {
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-${i}`, 'v']));
    expect(problems(many)).toEqual([[null, 'at most 20 headers']]);
    const big = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`x-${i}`, 'v'.repeat(1021)]));
    expect(problems(big)).toEqual([]); // 8 × (3 + 1021) = 8192
    big['x-8'] = 'v';
    expect(problems(big)).toEqual([[null, expect.stringMatching(/at most 8192 characters/)]]);
  });

  it('lets null through only when asked (an update keeping a stored value)', () => {
    expect(problems({ Authorization: null }, true)).toEqual([]);
    expect(problems({ Authorization: null })).toEqual([['Authorization', 'must be a string']]);
  });
});
