import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PROVIDERS } from '../../src/providers/catalog.ts';
import { header, isJson, mediaType, parseJsonObject, textAt } from '../../src/providers/inbound/body.ts';
import { hmac, matchesAny, safeEqual, sha256Hex } from '../../src/providers/inbound/crypto.ts';
import { isFresh } from '../../src/providers/inbound/timestamp.ts';
import type { InboundRequest } from '../../src/providers/types.ts';

const req = (headers: Record<string, string | undefined>, body = ''): InboundRequest => ({
  method: 'POST',
  url: 'https://cp.example.com/hooks/x/t',
  headers,
  rawBody: Buffer.from(body),
});

describe('inbound crypto', () => {
  it('safeEqual compares bytes, and is false on any length mismatch', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual(Buffer.from('abc'), 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', 'a')).toBe(false);
    expect(safeEqual('é', 'e')).toBe(false);
  });

  it('matchesAny is true when one candidate matches, false for none or no candidates', () => {
    expect(matchesAny('b', ['a', 'b', 'c'])).toBe(true);
    expect(matchesAny('b', ['a', 'c'])).toBe(false);
    expect(matchesAny('b', [])).toBe(false);
  });

  it('hmac concatenates its parts and uses the key string as-is; sha256Hex is hex', () => {
    const expected = createHmac('sha256', 'whsec_k').update('1.{"a":1}').digest('hex');
    expect(hmac('sha256', 'whsec_k', '1.', Buffer.from('{"a":1}')).toString('hex')).toBe(expected);
    expect(hmac('sha1', 'k', 'x').toString('base64')).toBe(createHmac('sha1', 'k').update('x').digest('base64'));
    expect(sha256Hex('x')).toBe(createHash('sha256').update('x').digest('hex'));
  });

  it('isFresh allows 300 s either way and refuses anything not whole Unix seconds', () => {
    const now = new Date(1_700_000_000_000);
    expect(['1700000000', '1699999700', '1700000300'].map((t) => isFresh(t, now))).toEqual([true, true, true]);
    expect(['1699999699', '1700000301', '', '-1', '1700000000.5', '0x10', ' 1700000000'].map((t) => isFresh(t, now))).toEqual(
      Array(7).fill(false),
    );
  });
});

describe('inbound body readers', () => {
  it('reads trimmed headers and bare media types', () => {
    expect(header(req({ a: '  v ' }), 'a')).toBe('v');
    expect(header(req({ a: '   ' }), 'a')).toBeUndefined();
    expect(mediaType(req({ 'content-type': 'Application/JSON; charset=utf-8' }))).toBe('application/json');
    expect(['', 'application/json', 'text/json', 'application/vnd.api+json'].map((t) => isJson(req({ 'content-type': t })))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(isJson(req({ 'content-type': 'text/xml' }))).toBe(false);
  });

  it('parses JSON objects only, with 400 otherwise', () => {
    expect(parseJsonObject(req({}, '{"a":1}'))).toEqual({ ok: true, value: { a: 1 } });
    for (const body of ['', '{', '[]', 'null', '"s"']) {
      expect(parseJsonObject(req({}, body))).toMatchObject({ ok: false, status: 400 });
    }
  });

  it('textAt reads non-empty strings and finite numbers along a path', () => {
    const value = { a: { b: 'x', n: 3, e: '', o: {} } };
    expect([
      textAt(value, 'a', 'b'),
      textAt(value, 'a', 'n'),
      textAt(value, 'a', 'e'),
      textAt(value, 'a', 'o'),
      textAt(value, 'z', 'b'),
    ]).toEqual(['x', '3', undefined, undefined, undefined]);
  });
});

describe('the catalog', () => {
  it('gives every provider an inbound verifier except openai, which sends us nothing', () => {
    const without = PROVIDERS.filter((p) => !p.inbound).map((p) => p.name);
    expect(without).toEqual(['openai']);
  });
});
