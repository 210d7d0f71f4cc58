import { describe, expect, it } from 'vitest';
import { classifyStatus, networkFailure } from '../../src/providers/http.ts';

type Class = 'ok' | 'permanent' | 'transient';

const TABLE: [number, Class][] = [
  [200, 'ok'],
  [201, 'ok'],
  [204, 'ok'],
  [299, 'ok'],
  [401, 'permanent'],
  [403, 'permanent'],
  [400, 'permanent'],
  [404, 'permanent'],
  [409, 'permanent'],
  [422, 'permanent'],
  [408, 'transient'],
  [429, 'transient'],
  [500, 'transient'],
  [502, 'transient'],
  [503, 'transient'],
  [504, 'transient'],
];

function classOf(status: number): Class {
  const r = classifyStatus('Acme', status);
  if (r.ok) return 'ok';
  return r.permanent ? 'permanent' : 'transient';
}

describe('classifyStatus', () => {
  it.each(TABLE)('HTTP %i → %s', (status, expected) => {
    expect(classOf(status)).toBe(expected);
  });

  it('2xx is exactly { ok: true }', () => {
    expect(classifyStatus('Acme', 200)).toEqual({ ok: true });
    expect(classifyStatus('Acme', 204)).toEqual({ ok: true });
  });

  it('reasons name the provider and the status', () => {
    expect(classifyStatus('Acme', 401)).toEqual({ ok: false, permanent: true, reason: 'Acme rejected the credentials (HTTP 401)' });
    expect(classifyStatus('Acme', 403)).toEqual({ ok: false, permanent: true, reason: 'Acme rejected the credentials (HTTP 403)' });
    expect(classifyStatus('Acme', 404)).toEqual({ ok: false, permanent: true, reason: 'Acme refused the check (HTTP 404)' });
    expect(classifyStatus('Acme', 429)).toEqual({ ok: false, permanent: false, reason: 'Acme API unavailable (HTTP 429)' });
    expect(classifyStatus('Acme', 503)).toEqual({ ok: false, permanent: false, reason: 'Acme API unavailable (HTTP 503)' });
  });

  it('a redirect (not followed) is not success', () => {
    expect(classifyStatus('Acme', 302).ok).toBe(false);
    expect(classifyStatus('Acme', 199).ok).toBe(false);
  });
});

describe('networkFailure', () => {
  it('timeouts and aborts are transient and say so', () => {
    for (const name of ['TimeoutError', 'AbortError']) {
      const err = Object.assign(new Error('x'), { name });
      expect(networkFailure('Acme', err)).toEqual({ ok: false, permanent: false, reason: 'Acme API did not answer in time' });
    }
  });

  it('other network errors are transient and name the code, not the message', () => {
    const err = new TypeError('fetch failed https://user:SECRET@host', { cause: { code: 'ECONNREFUSED' } });
    const r = networkFailure('Acme', err);
    expect(r).toEqual({ ok: false, permanent: false, reason: 'Acme API unreachable (ECONNREFUSED)' });
    expect(networkFailure('Acme', new Error('boom'))).toEqual({
      ok: false,
      permanent: false,
      reason: 'Acme API unreachable (network error)',
    });
  });
});
