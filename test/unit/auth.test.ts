import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey, isWellFormedApiKey } from '../../src/auth/api-keys.ts';
import { claimProblem } from '../../src/auth/claims.ts';
import { CLOCK_TOLERANCE_SECONDS, createJwtVerifier } from '../../src/auth/jwt.ts';
import { effectiveScopes, parseScopeClaim, SCOPES, type Scope } from '../../src/auth/scopes.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const FORMAT = /^icp_[0-9A-Za-z]{40}[0-9A-Za-z]{6}$/;

/** Replaces the character at `i` with a different base62 character. */
function changeAt(secret: string, i: number, step = 1): string {
  const c = secret[i]!;
  const idx = BASE62.indexOf(c);
  const next = BASE62[(idx + step) % BASE62.length]!;
  return secret.slice(0, i) + next + secret.slice(i + 1);
}

describe('generateApiKey', () => {
  it('has the format icp_ + 40 base62 + 6 base62 checksum (50 chars)', () => {
    for (let i = 0; i < 50; i++) {
      const { secret } = generateApiKey();
      expect(secret).toHaveLength(50);
      expect(secret).toMatch(FORMAT);
    }
  });

  it('is well formed', () => {
    for (let i = 0; i < 200; i++) expect(isWellFormedApiKey(generateApiKey().secret)).toBe(true);
  });

  it('prefix is the first 12 characters', () => {
    const key = generateApiKey();
    expect(key.prefix).toHaveLength(12);
    expect(key.prefix).toBe(key.secret.slice(0, 12));
    expect(key.prefix.startsWith('icp_')).toBe(true);
  });

  it('secretHash is the SHA-256 hex of the secret', () => {
    const key = generateApiKey();
    expect(key.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(key.secretHash).toBe(createHash('sha256').update(key.secret).digest('hex'));
    expect(key.secretHash).toBe(hashApiKey(key.secret));
  });

  it('1000 keys are unique (secrets, prefixes and hashes)', () => {
    const keys = Array.from({ length: 1000 }, generateApiKey);
    expect(new Set(keys.map((k) => k.secret)).size).toBe(1000);
    expect(new Set(keys.map((k) => k.secretHash)).size).toBe(1000);
    expect(new Set(keys.map((k) => k.prefix)).size).toBe(1000);
  });

  it('uses the whole alphabet in the body (not e.g. hex only)', () => {
    const seen = new Set(Array.from({ length: 200 }, () => generateApiKey().secret.slice(4, 44)).join(''));
    expect(seen.size).toBe(62);
  });
});

describe('hashApiKey', () => {
  it('is the SHA-256 hex digest', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashApiKey('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('isWellFormedApiKey', () => {
  const { secret } = generateApiKey();

  it('is false for one changed character at any position of the body or checksum', () => {
    for (let i = 4; i < 50; i++) {
      for (const step of [1, 31]) {
        const changed = changeAt(secret, i, step);
        expect(changed).not.toBe(secret);
        expect(isWellFormedApiKey(changed), `position ${i} step ${step}`).toBe(false);
      }
    }
  });

  it('is false for a character outside base62 in the body', () => {
    for (const bad of ['-', '_', '+', '/', '=', ' ', 'é']) {
      expect(isWellFormedApiKey(secret.slice(0, 10) + bad + secret.slice(11))).toBe(false);
    }
  });

  it('is false for a wrong prefix', () => {
    for (const prefix of ['icq_', 'ICP_', 'icp-', 'sk__', 'xicp']) {
      expect(isWellFormedApiKey(prefix + secret.slice(4))).toBe(false);
    }
  });

  it('is false for a wrong length', () => {
    expect(isWellFormedApiKey(secret.slice(0, -1))).toBe(false);
    expect(isWellFormedApiKey(`${secret}0`)).toBe(false);
    expect(isWellFormedApiKey(` ${secret}`)).toBe(false);
    expect(isWellFormedApiKey('')).toBe(false);
    expect(isWellFormedApiKey('icp_')).toBe(false);
  });

  it('is false for swapped body and checksum', () => {
    const body = secret.slice(4, 44);
    const sum = secret.slice(44);
    expect(isWellFormedApiKey(`icp_${sum}${body}`)).toBe(false);
  });
});

describe('parseScopeClaim', () => {
  const all = new Set<Scope>(SCOPES);
  const sorted = (s: ReadonlySet<Scope>) => [...s].sort();

  it('no claim → every scope', () => {
    expect(sorted(parseScopeClaim(undefined))).toEqual(sorted(all));
  });

  it('a null or non-string claim → no scope (only an absent claim means all)', () => {
    expect(parseScopeClaim(null).size).toBe(0);
    expect(parseScopeClaim(['admin']).size).toBe(0);
    expect(parseScopeClaim(42).size).toBe(0);
  });

  it('an empty claim → no scope', () => {
    expect(parseScopeClaim('').size).toBe(0);
    expect(parseScopeClaim('   ').size).toBe(0);
  });

  it('reads a space-separated list', () => {
    expect(sorted(parseScopeClaim('integrations:read webhooks:read'))).toEqual(['integrations:read', 'webhooks:read']);
    expect(sorted(parseScopeClaim('  integrations:read\twebhooks:read\n'))).toEqual(['integrations:read', 'webhooks:read']);
  });

  it('ignores unknown scopes (and near-misses)', () => {
    expect(parseScopeClaim('openid profile INTEGRATIONS:READ integrations:* admin:').size).toBe(0);
    expect(sorted(parseScopeClaim('openid webhooks:read email'))).toEqual(['webhooks:read']);
  });

  it('write implies the matching read, and only that', () => {
    expect(sorted(parseScopeClaim('integrations:write'))).toEqual(['integrations:read', 'integrations:write']);
    expect(sorted(parseScopeClaim('webhooks:write'))).toEqual(['webhooks:read', 'webhooks:write']);
  });

  it('read does not imply write', () => {
    expect(parseScopeClaim('integrations:read').has('integrations:write')).toBe(false);
  });

  it('admin implies every scope', () => {
    expect(sorted(parseScopeClaim('admin'))).toEqual(sorted(all));
    expect(sorted(parseScopeClaim('openid admin'))).toEqual(sorted(all));
  });

  it.each([
    ['a number', 1],
    ['true', true],
    ['an array of scopes', ['admin', 'integrations:write']],
    ['an object', { admin: true }],
  ])('a non-string claim (%s) → no scope', (_name, claim) => {
    expect(parseScopeClaim(claim).size).toBe(0);
  });
});

describe('effectiveScopes', () => {
  it('expands without mutating the input', () => {
    const granted: Scope[] = ['integrations:write'];
    expect([...effectiveScopes(granted)].sort()).toEqual(['integrations:read', 'integrations:write']);
    expect(granted).toEqual(['integrations:write']);
  });
});

describe('createJwtVerifier remembers verified tokens', () => {
  const SECRET = 'unit-test-secret-that-is-long-enough-for-hs256-0000';
  const sign = (claims: Record<string, unknown>, exp: number) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(new TextEncoder().encode(SECRET));

  it('answers a known token again, and a forged one (same claims, other key) never', async () => {
    const verify = createJwtVerifier({ secret: SECRET });
    const exp = Math.floor(Date.now() / 1000) + 600;
    const token = await sign({ tenant_id: 't1' }, exp);
    expect((await verify(token)).tenant_id).toBe('t1');
    expect((await verify(token)).tenant_id).toBe('t1');
    const forged = await new SignJWT({ tenant_id: 't1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(`${SECRET}-other`));
    await expect(verify(forged)).rejects.toThrow(/signature is invalid/);
  });

  it('forgets a token when it expires (its 5 s of clock tolerance included), though it verified before', async () => {
    const verify = createJwtVerifier({ secret: SECRET });
    // expired 3 s ago: inside the tolerance for one or two more seconds
    const token = await sign({ tenant_id: 't1' }, Math.floor(Date.now() / 1000) - 3);
    expect((await verify(token)).tenant_id).toBe('t1');
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await expect(verify(token)).rejects.toThrow(/expired/);
  });
});

describe('createJwtVerifier time claims', () => {
  const SECRET = 'unit-test-secret-that-is-long-enough-for-hs256-0000';
  const key = new TextEncoder().encode(SECRET);
  const now = () => Math.floor(Date.now() / 1000);

  it('requires exp: a token without one would be good forever', async () => {
    const verify = createJwtVerifier({ secret: SECRET });
    const token = await new SignJWT({ tenant_id: 't1' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(key);
    await expect(verify(token)).rejects.toThrow('the token has no "exp" claim');
  });

  it(`refuses iat and nbf later than now plus ${CLOCK_TOLERANCE_SECONDS} s, and accepts them within`, async () => {
    const verify = createJwtVerifier({ secret: SECRET });
    const sign = (claims: { iat?: number; nbf?: number }) =>
      new SignJWT({ tenant_id: 't1', ...claims })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(now() + 600)
        .sign(key);
    await expect(verify(await sign({ iat: now() + CLOCK_TOLERANCE_SECONDS + 30 }))).rejects.toThrow(
      'the token\'s "iat" claim is in the future',
    );
    await expect(verify(await sign({ nbf: now() + CLOCK_TOLERANCE_SECONDS + 30 }))).rejects.toThrow(
      'the token\'s "nbf" claim is in the future',
    );
    expect((await verify(await sign({ iat: now() + 2, nbf: now() + 2 }))).tenant_id).toBe('t1');
  });
});

describe('claimProblem', () => {
  it('accepts plain identifiers up to 128 characters, and an absent sub or app_id', () => {
    expect(claimProblem('tenant_id', 'acme')).toBeUndefined();
    expect(claimProblem('tenant_id', `t:${'a'.repeat(126)}`)).toBeUndefined();
    expect(claimProblem('tenant_id', 'org_1.eu-west:acme@prod')).toBeUndefined();
    expect(claimProblem('sub', 'auth0|5f7c8ec7c33c6c004bbafe82')).toBeUndefined();
    expect(claimProblem('sub', 'alice+test@example.com')).toBeUndefined();
    expect(claimProblem('app_id', 'YWJj/ZGVm+Zw==')).toBeUndefined();
    expect(claimProblem('sub', undefined)).toBeUndefined();
    expect(claimProblem('app_id', undefined)).toBeUndefined();
  });

  it('refuses the rest, naming the claim and never the value', () => {
    expect(claimProblem('tenant_id', undefined)).toBe('the token has no tenant_id claim');
    for (const value of [
      '',
      'a'.repeat(129),
      'a\u0000',
      'a\u001f',
      'a\u007f',
      'a b',
      'a\tb',
      'é',
      'a|b',
      'a/b',
      '"a"',
      42,
      null,
      ['a'],
      { a: 1 },
    ]) {
      const problem = claimProblem('tenant_id', value);
      expect(problem, JSON.stringify(value)).toMatch(/^the token's "tenant_id" claim is not accepted/);
      if (typeof value === 'string' && value) expect(problem).not.toContain(value);
    }
    for (const value of ['', 'a b', 'a\u0000', null, 7]) {
      expect(claimProblem('sub', value)).toMatch(/"sub" claim is not accepted/);
      expect(claimProblem('app_id', value)).toMatch(/"app_id" claim is not accepted/);
    }
  });
});
