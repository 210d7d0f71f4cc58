import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe('loadConfig defaults', () => {
  it('an empty environment gives the documented defaults', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect(config.host).toBe('127.0.0.1');
    // unset: the listening address is decided in app.ts (see Config.publicUrl)
    expect(config.publicUrl).toBeUndefined();
    expect(config.introspection).toBe(true);
    expect(config.logLevel).toBe('info');
    expect(config.worker).toBe(true);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toBe(path.resolve('./data'));
    expect(config.providerOrigins).toEqual({});
    expect(config.verification).toEqual({ timeoutMs: 10_000, retryLimit: 5, retryDelaySeconds: 5 });
    expect(config.rateLimitRpm).toBeUndefined();
    expect(config.auth).toEqual({ jwtSecret: undefined, jwksUrl: undefined, issuer: undefined, audience: undefined });
  });

  it('does not read process.env when given an env', () => {
    const saved = process.env.PORT;
    process.env.PORT = '5555';
    try {
      expect(loadConfig({}).port).toBe(4000);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });

  it('blank values count as unset', () => {
    const config = loadConfig({ PORT: '  ', HOST: '', LOG_LEVEL: ' ', GRAPHQL_INTROSPECTION: '' });
    expect(config.port).toBe(4000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.logLevel).toBe('info');
    expect(config.introspection).toBe(true);
  });

  it('refuses a DATABASE_URL without a host', () => {
    expect(problemsOf({ DATABASE_URL: 'postgres://' })).toEqual(['DATABASE_URL: expected a postgres:// or postgresql:// URL with a host']);
  });

  it('reads PUBLIC_URL (trailing slash removed) and refuses a non-http(s) one', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://icp.example.com/' }).publicUrl).toBe('https://icp.example.com');
    expect(loadConfig({ PUBLIC_URL: 'http://127.0.0.1:4000' }).publicUrl).toBe('http://127.0.0.1:4000');
    expect(problemsOf({ PUBLIC_URL: 'icp.example.com' })).toEqual(['PUBLIC_URL: expected a http:// or https:// URL with a host']);
  });

  it('reads valid values', () => {
    const config = loadConfig({
      PORT: '8080',
      GRAPHQL_INTROSPECTION: 'false',
      LOG_LEVEL: 'debug',
      DATABASE_URL: 'postgresql://u:p@db:5432/icp',
      WORKER: 'no',
      AUTH_JWT_SECRET: 'x'.repeat(32),
    });
    expect(config.port).toBe(8080);
    expect(config.introspection).toBe(false);
    expect(config.logLevel).toBe('debug');
    expect(config.databaseUrl).toBe('postgresql://u:p@db:5432/icp');
    expect(config.worker).toBe(false);
    expect(config.auth.jwtSecret).toBe('x'.repeat(32));
  });

  it.each([
    ['true', true],
    ['1', true],
    ['YES', true],
    ['False', false],
    ['0', false],
    ['no', false],
  ])('GRAPHQL_INTROSPECTION=%s → %s', (raw, expected) => {
    expect(loadConfig({ GRAPHQL_INTROSPECTION: raw }).introspection).toBe(expected);
  });
});

describe('loadConfig problems', () => {
  it('reports every problem at once, each naming its variable', () => {
    const problems = problemsOf({
      PORT: '99999',
      GRAPHQL_INTROSPECTION: 'maybe',
      LOG_LEVEL: 'verbose',
      DATABASE_URL: 'mysql://db/icp',
    });
    expect(problems).toHaveLength(4);
    for (const name of ['PORT', 'GRAPHQL_INTROSPECTION', 'LOG_LEVEL', 'DATABASE_URL']) {
      expect(
        problems.filter((p) => p.startsWith(`${name}:`)),
        name,
      ).toHaveLength(1);
    }
  });

  it('the ConfigError message lists every problem', () => {
    let err: unknown;
    try {
      loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('PORT');
    expect((err as Error).message).toContain('LOG_LEVEL');
  });

  it.each(['abc', '-1', '65536', '80.5', '4000abc'])('PORT=%s is refused', (raw) => {
    const problems = problemsOf({ PORT: raw });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^PORT: expected a whole number from 0 to 65535/);
  });

  it.each(['not a url', 'http://db:5432/icp', 'mysql://db/icp'])('DATABASE_URL=%s is refused', (raw) => {
    const problems = problemsOf({ DATABASE_URL: raw });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^DATABASE_URL: /);
    expect(problems[0]).toContain('postgres');
  });

  it('does not echo DATABASE_URL (it may carry a password)', () => {
    const problems = problemsOf({ DATABASE_URL: 'mysql://user:HUNTER2@db/icp' });
    expect(problems.join('\n')).not.toContain('HUNTER2');
  });

  it('LOG_LEVEL must be a pino level', () => {
    expect(problemsOf({ LOG_LEVEL: 'verbose' })).toEqual(['LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent']);
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
      expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
    }
  });

  it('a short AUTH_JWT_SECRET is refused without echoing it', () => {
    const problems = problemsOf({ AUTH_JWT_SECRET: 'short-SECRET-31-characters-xxxx' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^AUTH_JWT_SECRET: .*32 characters/);
    expect(problems[0]).not.toContain('short-SECRET');
    expect(loadConfig({ AUTH_JWT_SECRET: 'y'.repeat(32) }).auth.jwtSecret).toBe('y'.repeat(32));
  });

  it('refuses out-of-range verification settings', () => {
    const problems = problemsOf({ VERIFY_TIMEOUT_MS: '10', VERIFY_RETRY_LIMIT: '-1', VERIFY_RETRY_DELAY_SECONDS: '0' });
    expect(problems.map((p) => p.split(':')[0])).toEqual(['VERIFY_TIMEOUT_MS', 'VERIFY_RETRY_LIMIT', 'VERIFY_RETRY_DELAY_SECONDS']);
  });
});

describe('loadConfig provider origins', () => {
  it('picks up <PROVIDER>_API_BASE_URL, trailing slashes removed', () => {
    const config = loadConfig({
      STRIPE_API_BASE_URL: 'http://127.0.0.1:9999/',
      ADOBE_SIGN_API_BASE_URL: 'https://adobe.fake.test//',
      TWILIO_API_BASE_URL: 'https://twilio.fake.test/prefix/',
    });
    expect(config.providerOrigins).toEqual({
      stripe: 'http://127.0.0.1:9999',
      adobe_sign: 'https://adobe.fake.test',
      twilio: 'https://twilio.fake.test/prefix',
    });
  });

  it('ignores variables for providers that are not in the catalog', () => {
    expect(loadConfig({ PAYPAL_API_BASE_URL: 'https://paypal.fake.test' }).providerOrigins).toEqual({});
  });

  it('refuses a non-http(s) origin, naming the variable', () => {
    const problems = problemsOf({ STRIPE_API_BASE_URL: 'ftp://stripe.fake.test', ADOBE_SIGN_API_BASE_URL: 'nope' });
    expect(problems).toEqual([
      'STRIPE_API_BASE_URL: expected a http:// or https:// URL with a host',
      'ADOBE_SIGN_API_BASE_URL: expected a http:// or https:// URL with a host',
    ]);
  });
});
