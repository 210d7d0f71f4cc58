import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

/** A well-formed key and JWT secret, which a PostgreSQL server needs (DATABASE_URL). */
const KEY = Buffer.alloc(32, 7).toString('base64');
const SERVER_SECRETS = { ENCRYPTION_KEY: KEY, AUTH_JWT_SECRET: 's'.repeat(32) };

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
    expect(problemsOf({ DATABASE_URL: 'postgres://', ...SERVER_SECRETS })).toEqual([
      'DATABASE_URL: expected a postgres:// or postgresql:// URL with a host (postgres://user:password@host:5432/database, with @ : / # % in the password percent-encoded)',
    ]);
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
      ENCRYPTION_KEY: KEY,
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
      ...SERVER_SECRETS,
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
    const problems = problemsOf({ DATABASE_URL: raw, ...SERVER_SECRETS });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^DATABASE_URL: /);
    expect(problems[0]).toContain('postgres');
  });

  it('does not echo DATABASE_URL (it may carry a password)', () => {
    const problems = problemsOf({ DATABASE_URL: 'mysql://user:HUNTER2@db/icp', ...SERVER_SECRETS });
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

describe('loadConfig checks every setting before anything opens the database', () => {
  const SECRET_KEY = 'c2hvcnQtU0VDUkVULWtleQ=='; // base64 of 16 bytes: too short, and never to be echoed

  it.each([
    ['short', /^ENCRYPTION_KEY: expected 32 bytes in base64 .*got 3 bytes$/],
    [SECRET_KEY, /^ENCRYPTION_KEY: expected 32 bytes in base64 .*got 16 bytes$/],
    ['not*base64!not*base64!not*base64!not*base64', /^ENCRYPTION_KEY: expected base64 \(A-Z a-z 0-9 \+ \/ and = padding\)/],
    [Buffer.alloc(33).toString('base64'), /got 33 bytes$/],
  ])('a malformed ENCRYPTION_KEY is one line naming it, without its value (%#)', (value, expected) => {
    const problems = problemsOf({ ENCRYPTION_KEY: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
    expect(problems[0]).not.toContain(value);
  });

  it('accepts a 32-byte key in standard or URL-safe base64, padded or not', () => {
    const key = Buffer.alloc(32, 0xfb);
    for (const value of [key.toString('base64'), key.toString('base64url'), key.toString('base64').replace(/=+$/, '')]) {
      expect(loadConfig({ ENCRYPTION_KEY: value }).encryption.ENCRYPTION_KEY).toBe(value);
    }
  });

  it('checks every entry of ENCRYPTION_KEYS, naming the entry and never a key', () => {
    const problems = problemsOf({ ENCRYPTION_KEYS: `a:${KEY},b:${SECRET_KEY},no-colon,bad id!:${KEY},a:${KEY}` });
    expect(problems).toEqual([
      expect.stringMatching(/^ENCRYPTION_KEYS entry 2: expected 32 bytes in base64 .*got 16 bytes$/),
      'ENCRYPTION_KEYS entry 3: expected id:base64, e.g. k2026:$(openssl rand -base64 32)',
      'ENCRYPTION_KEYS entry 4: the key id must be 1 to 32 of A-Z a-z 0-9 _ . -',
      'ENCRYPTION_KEYS entry 5: the key id "a" appears twice',
    ]);
    expect(problems.join('\n')).not.toContain(SECRET_KEY);
    expect(problems.join('\n')).not.toContain(KEY);
    expect(
      loadConfig({ ENCRYPTION_KEYS: `new:${KEY}, old:${Buffer.alloc(32, 1).toString('base64')}` }).encryption.ENCRYPTION_KEYS,
    ).toBeDefined();
  });

  it('DATABASE_URL needs a key and a way to authenticate: said before any connection is tried', () => {
    expect(problemsOf({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/x' })).toEqual([
      'ENCRYPTION_KEY: required with DATABASE_URL (credentials are encrypted with it): 32 bytes in base64, e.g. from: openssl rand -base64 32',
      'AUTH_JWT_SECRET or AUTH_JWKS_URL: one is required with DATABASE_URL, or nothing could authenticate',
    ]);
    expect(
      loadConfig({ DATABASE_URL: 'postgres://u@db/x', ENCRYPTION_KEYS: `k:${KEY}`, AUTH_JWKS_URL: 'https://id.example/jwks' }).databaseUrl,
    ).toBe('postgres://u@db/x');
  });

  it('the maintenance scripts (migrate, keys:rotate) authenticate no caller: they need no AUTH_* setting, the key still', () => {
    const script = { runsService: false };
    expect(loadConfig({ DATABASE_URL: 'postgres://u@db/x', ENCRYPTION_KEY: KEY }, script).databaseUrl).toBe('postgres://u@db/x');
    expect(() => loadConfig({ DATABASE_URL: 'postgres://u@db/x' }, script)).toThrow(/ENCRYPTION_KEY: required with DATABASE_URL/);
  });

  it('a bare % in the DATABASE_URL password is refused without echoing the password', () => {
    const problems = problemsOf({ DATABASE_URL: 'postgres://app:50%off-HUNTER2@db/icp', ...SERVER_SECRETS });
    expect(problems).toEqual([
      'DATABASE_URL: the user name, password or database name holds a % that starts no %XX escape; write % as %25',
    ]);
    expect(loadConfig({ DATABASE_URL: 'postgres://app:50%25off@db/icp', ...SERVER_SECRETS }).databaseUrl).toBeDefined();
  });

  it('an unencoded # in the password is refused with the hint, not echoed', () => {
    const [problem] = problemsOf({ DATABASE_URL: 'postgres://app:pa#HUNTER2@db/icp', ...SERVER_SECRETS });
    expect(problem).toMatch(/^DATABASE_URL: .*percent-encoded\)$/);
    expect(problem).not.toContain('HUNTER2');
  });

  it('AUTH_JWKS_URL, DATABASE_MIGRATION_URL and the OTLP endpoints must be URLs of their kind', () => {
    const problems = problemsOf({
      AUTH_JWKS_URL: 'id.example/jwks',
      DATABASE_URL: 'postgres://u@db/x',
      DATABASE_MIGRATION_URL: 'https://db/x',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector',
      ENCRYPTION_KEY: KEY,
      AUTH_JWT_SECRET: 's'.repeat(32),
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'AUTH_JWKS_URL',
      'DATABASE_MIGRATION_URL',
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    ]);
  });

  it.each(['0x10', '1e3', ' 4 0', '4000.0'])('PORT=%s is refused (whole numbers in decimal only)', (raw) => {
    expect(problemsOf({ PORT: raw })[0]).toMatch(/^PORT: expected a whole number/);
  });

  it.each(['0.0.0.0', '::', '[::1]', 'localhost', 'api.internal', '127.0.0.1'])('HOST=%s is accepted', (host) => {
    expect(loadConfig({ HOST: host }).host).toBe(host);
  });

  it.each(['http://0.0.0.0', '0.0.0.0:4000', 'my host'])('HOST=%s is refused', (host) => {
    expect(problemsOf({ HOST: host })).toEqual([expect.stringMatching(/^HOST: expected an address to listen on/)]);
  });

  it('durations, schedules, booleans and numbers are all checked, one line each', () => {
    const problems = problemsOf({
      WEBHOOK_RETRY_SCHEDULE: '5s,soon',
      OPERATION_RETRY_SCHEDULE: '1.5m',
      WEBHOOK_PAUSE_AFTER_FAILURES: '0',
      WEBHOOK_ALLOW_HOSTS: 'http://x',
      WORKER: 'sometimes',
      GRAPHQL_RESPONSE_CACHE: 'on',
      SHUTDOWN_TIMEOUT_SECONDS: '0',
      DATABASE_CONNECT_TIMEOUT_SECONDS: '-1',
      LOG_FORMAT: 'yaml',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(
      [
        'WEBHOOK_RETRY_SCHEDULE',
        'OPERATION_RETRY_SCHEDULE',
        'WEBHOOK_PAUSE_AFTER_FAILURES',
        'WEBHOOK_ALLOW_HOSTS',
        'WORKER',
        'GRAPHQL_RESPONSE_CACHE',
        'SHUTDOWN_TIMEOUT_SECONDS',
        'DATABASE_CONNECT_TIMEOUT_SECONDS',
        'LOG_FORMAT',
      ].sort(),
    );
    expect(problems).toContain('LOG_FORMAT: expected one of json, pretty, got "yaml"');
  });

  it('DATABASE_CONNECT_TIMEOUT_SECONDS (default 60) and LOG_FORMAT (default: by terminal) are read', () => {
    expect(loadConfig({}).databaseConnectTimeoutMs).toBe(60_000);
    expect(loadConfig({}).logFormat).toBeUndefined();
    expect(loadConfig({ DATABASE_CONNECT_TIMEOUT_SECONDS: '0', LOG_FORMAT: 'Pretty' })).toMatchObject({
      databaseConnectTimeoutMs: 0,
      logFormat: 'pretty',
    });
  });

  it('a DATA_DIR that is a file is refused on the embedded default', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'icp-config-'));
    try {
      const file = path.join(dir, 'not-a-dir');
      writeFileSync(file, '');
      expect(problemsOf({ DATA_DIR: file })).toEqual([`DATA_DIR: ${file} exists and is not a directory`]);
      expect(loadConfig({ DATA_DIR: path.join(dir, 'made-at-start') }).dataDir).toBe(path.join(dir, 'made-at-start'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
