/**
 * Each provider's credential check against a loopback fake of its real API: the fake accepts only
 * the exact method, path, query and auth the provider documents, so these tests pin what
 * `verify` sends as much as how it classifies the answer. Plus the catalog's shape (CONTRACT.md).
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProvider, PROVIDERS } from '../../src/providers/catalog.ts';
import type { Credentials, ProviderDefinition, VerifyContext, VerifyResult } from '../../src/providers/types.ts';
import { type FakeApi as Fake, type Seen, startFakeApi as startFake } from '../helpers/fake-api.ts';

/** An origin nothing listens on: connections are refused. */
async function closedOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const ctxFor = (origin: string): VerifyContext => ({ origin: () => origin, signal: AbortSignal.timeout(5000) });

/** A ctx without an override: records the provider's own default origin, calls the fake. */
function recordingCtx(fakeUrl: string, defaults: string[]): VerifyContext {
  return {
    origin: (defaultOrigin) => {
      defaults.push(defaultOrigin);
      return fakeUrl;
    },
    signal: AbortSignal.timeout(5000),
  };
}

function provider(name: string): ProviderDefinition {
  const found = findProvider(name);
  if (!found) throw new Error(`provider ${name} not in the catalog`);
  return found;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function expectPermanentWithout(result: VerifyResult, secrets: readonly string[]) {
  expect(result).toMatchObject({ ok: false, permanent: true });
  const reason = result.ok ? '' : result.reason;
  expect(reason).not.toBe('');
  for (const secret of secrets) expect(reason).not.toContain(secret);
}

// ---------------------------------------------------------------------------------------------
// Single-request providers: what each real API expects

/** The request the real API expects for these credentials; headers undefined = must be absent. */
interface Expected {
  method: 'GET' | 'POST';
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | undefined>;
}

interface Case {
  name: string;
  /** Accepted by the fake. */
  good: Credentials;
  /** Same account, wrong secret. */
  bad: Credentials;
  /** Other accepted shapes (optional fields unset or set). */
  variants?: Credentials[];
  /** Every secret value used above; none may appear in a reason. */
  secrets: string[];
  request(credentials: Credentials): Expected;
  /** Statuses the fake answers for accepted credentials (certisign: its probe document is unknown). */
  acceptStatuses?: number[];
  /** What the fake answers accepted credentials with (adobe_sign: the account's access point). */
  acceptBody?: unknown;
  /** E-signature default origins. */
  origins?: { stage: string; production: string };
}

const str = (value: Credentials[string] | undefined) => (value === undefined ? undefined : String(value));
const SID = 'AC0123456789abcdef0123456789abcdef';
const TWILIO_TOKEN = '0123456789abcdef0123456789abcdef';
const TWILIO_WRONG = 'fedcba9876543210fedcba9876543210';

const twilioRequest = (c: Credentials): Expected => ({
  method: 'GET',
  path: `/2010-04-01/Accounts/${c.account_sid}.json`,
  query: {},
  headers: { authorization: basic(String(c.account_sid), String(c.auth_token)) },
});

const CASES: Case[] = [
  {
    name: 'stripe',
    good: { publishable_key: 'pk_test_abc123', secret_key: 'sk_test_right123', webhook_secret: 'whsec_abc' },
    bad: { publishable_key: 'pk_test_abc123', secret_key: 'sk_test_wrong456' },
    secrets: ['sk_test_right123', 'sk_test_wrong456'],
    request: (c) => ({ method: 'GET', path: '/v1/balance', query: {}, headers: { authorization: `Bearer ${c.secret_key}` } }),
  },
  {
    name: 'twilio',
    good: { account_sid: SID, auth_token: TWILIO_TOKEN, from_number: '+14155550123' },
    bad: { account_sid: SID, auth_token: TWILIO_WRONG, from_number: '+14155550123' },
    secrets: [TWILIO_TOKEN, TWILIO_WRONG, basic(SID, TWILIO_WRONG).slice(6)],
    request: twilioRequest,
  },
  {
    name: 'plivo',
    good: { auth_id: 'MAXXXXXXXXXXXXXXXXXX', auth_token: 'plivo-right-token', from_number: '+5511999990000' },
    bad: { auth_id: 'MAXXXXXXXXXXXXXXXXXX', auth_token: 'plivo-wrong-token', from_number: '+5511999990000' },
    secrets: ['plivo-right-token', 'plivo-wrong-token'],
    request: (c) => ({
      method: 'GET',
      path: `/v1/Account/${c.auth_id}/`,
      query: {},
      headers: { authorization: basic(String(c.auth_id), String(c.auth_token)) },
    }),
  },
  {
    name: 'whatsapp_twilio',
    good: { account_sid: SID, auth_token: TWILIO_TOKEN, from_number: 'whatsapp:+14155238886' },
    bad: { account_sid: SID, auth_token: TWILIO_WRONG, from_number: 'whatsapp:+14155238886' },
    secrets: [TWILIO_TOKEN, TWILIO_WRONG],
    request: twilioRequest,
  },
  {
    name: 'sendgrid',
    good: { api_key: 'SG.right.key', from_email: 'noreply@example.com', from_name: 'Example' },
    bad: { api_key: 'SG.wrong.key', from_email: 'noreply@example.com' },
    secrets: ['SG.right.key', 'SG.wrong.key'],
    request: (c) => ({ method: 'GET', path: '/v3/scopes', query: {}, headers: { authorization: `Bearer ${c.api_key}` } }),
  },
  {
    name: 'openai',
    good: { api_key: 'sk-proj-right', organization_id: 'org-abc', project_id: 'proj_abc' },
    bad: { api_key: 'sk-proj-wrong', organization_id: 'org-abc', project_id: 'proj_abc' },
    variants: [{ api_key: 'sk-proj-right' }, { api_key: 'sk-proj-right', project_id: 'proj_abc' }],
    secrets: ['sk-proj-right', 'sk-proj-wrong'],
    request: (c) => ({
      method: 'GET',
      path: '/v1/models',
      query: {},
      headers: {
        authorization: `Bearer ${c.api_key}`,
        'openai-organization': str(c.organization_id),
        'openai-project': str(c.project_id),
      },
    }),
  },
  {
    name: 'clicksign',
    good: { access_token: 'cs-right-0000-1111', environment: 'stage' },
    bad: { access_token: 'cs-wrong-2222-3333', environment: 'stage' },
    secrets: ['cs-right-0000-1111', 'cs-wrong-2222-3333'],
    request: (c) => ({
      method: 'GET',
      path: '/api/v3/envelopes',
      query: { 'page[size]': '1' },
      // The raw token: v3 takes no Bearer prefix.
      headers: { authorization: String(c.access_token), accept: 'application/vnd.api+json' },
    }),
    origins: { stage: 'https://sandbox.clicksign.com', production: 'https://app.clicksign.com' },
  },
  {
    name: 'd4sign',
    good: { token_api: 'live_right_token', crypt_key: 'live_crypt_key', environment: 'stage' },
    bad: { token_api: 'live_wrong_token', crypt_key: 'live_crypt_key', environment: 'stage' },
    variants: [{ token_api: 'live_right_token' }],
    secrets: ['live_right_token', 'live_wrong_token', 'live_crypt_key'],
    request: (c) => ({
      method: 'GET',
      path: '/api/v1/account/balance',
      query: { tokenAPI: String(c.token_api), ...(c.crypt_key ? { cryptKey: String(c.crypt_key) } : {}) },
      headers: { accept: 'application/json' },
    }),
    origins: { stage: 'https://sandbox.d4sign.com.br', production: 'https://secure.d4sign.com.br' },
  },
  {
    name: 'certisign',
    good: { api_token: 'certisign-right-key', environment: 'stage' },
    bad: { api_token: 'certisign-wrong-key', environment: 'stage' },
    secrets: ['certisign-right-key', 'certisign-wrong-key'],
    request: (c) => ({
      method: 'GET',
      path: '/api/v2/document/package',
      query: { key: 'credential-check' },
      headers: { token: String(c.api_token) },
    }),
    // A valid subscription key reaches the backend, which does not know the probe document.
    acceptStatuses: [200, 404],
    origins: { stage: 'https://api-sbx.portaldeassinaturas.com.br', production: 'https://api.portaldeassinaturas.com.br' },
  },
  {
    name: 'adobe_sign',
    good: { access_token: '3AAABLright', client_id: 'CBJCHBCAAB', api_user_email: 'ops@example.com' },
    bad: { access_token: '3AAABLwrong', client_id: 'CBJCHBCAAB', api_user_email: 'ops@example.com' },
    variants: [{ access_token: '3AAABLright' }],
    secrets: ['3AAABLright', '3AAABLwrong'],
    request: (c) => ({
      method: 'GET',
      path: '/api/rest/v6/baseUris',
      query: {},
      headers: {
        authorization: `Bearer ${c.access_token}`,
        'x-api-user': c.api_user_email ? `email:${c.api_user_email}` : undefined,
      },
    }),
    acceptBody: { apiAccessPoint: 'https://api.na1.adobesign.com/', webAccessPoint: 'https://secure.na1.adobesign.com/' },
    origins: { stage: 'https://api.adobesignsandbox.com', production: 'https://api.adobesign.com' },
  },
];

/** The parts of a seen request that `expected` names, for a readable toEqual. */
function project(seen: Seen | undefined, expected: Expected): Expected {
  return {
    method: seen?.method as Expected['method'],
    path: seen?.path ?? '',
    query: seen?.query ?? {},
    headers: Object.fromEntries(Object.keys(expected.headers).map((k) => [k, seen?.headers[k] as string | undefined])),
  };
}

for (const c of CASES) {
  describe(`${c.name} verify`, () => {
    const subject = provider(c.name);
    const state = { accepted: c.request(c.good), acceptStatus: 200 };
    let fake: Fake;

    beforeAll(async () => {
      fake = await startFake((req) => {
        const want = state.accepted;
        // Misdirected: no such operation (421, so no provider can mistake it for a pass).
        if (req.method !== want.method || req.path !== want.path) return { status: 421 };
        const got = project(req, want);
        const authorized =
          JSON.stringify(got.query) === JSON.stringify(want.query) && Object.entries(want.headers).every(([k, v]) => got.headers[k] === v);
        return authorized ? { status: state.acceptStatus, body: c.acceptBody } : { status: 401, body: { message: 'Authenticate' } };
      });
    });
    afterAll(() => fake.close());

    async function run(sent: Credentials, accepted: Credentials, ctx = ctxFor(fake.url)): Promise<VerifyResult> {
      state.accepted = c.request(accepted);
      fake.seen.length = 0;
      return subject.verify(sent, ctx);
    }

    for (const status of c.acceptStatuses ?? [200]) {
      it(`accepts the right credentials (fake answers ${status}), sending exactly the expected request`, async () => {
        state.acceptStatus = status;
        expect(await run(c.good, c.good)).toEqual({ ok: true });
        expect(fake.seen).toHaveLength(1);
        expect(project(fake.seen[0], c.request(c.good))).toEqual(c.request(c.good));
        state.acceptStatus = 200;
      });
    }

    for (const [i, variant] of (c.variants ?? []).entries()) {
      it(`accepts credential variant ${i + 1} (optional fields) with the matching request`, async () => {
        expect(await run(variant, variant)).toEqual({ ok: true });
        expect(project(fake.seen[0], c.request(variant))).toEqual(c.request(variant));
      });
    }

    it('refuses wrong credentials permanently, without the secret in the reason', async () => {
      const result = await run(c.bad, c.good);
      expectPermanentWithout(result, c.secrets);
      expect(fake.seen).toHaveLength(1);
      expect(project(fake.seen[0], c.request(c.bad))).toEqual(c.request(c.bad));
    });

    it('treats a 503 as transient', async () => {
      const route = fake.route;
      fake.route = () => ({ status: 503, body: { error: 'maintenance' } });
      try {
        const result = await run(c.good, c.good);
        expect(result).toMatchObject({ ok: false, permanent: false });
        expect(fake.seen).toHaveLength(1);
      } finally {
        fake.route = route;
      }
    });

    it('treats a refused connection as transient', async () => {
      const result = await subject.verify(c.good, ctxFor(await closedOrigin()));
      expect(result).toMatchObject({ ok: false, permanent: false });
      if (!result.ok) for (const secret of c.secrets) expect(result.reason).not.toContain(secret);
    });

    const origins = c.origins;
    if (origins) {
      it('picks the sandbox or live origin from `environment` when there is no override', async () => {
        const pick = async (environment: string | undefined) => {
          const defaults: string[] = [];
          const { environment: _, ...rest } = c.good;
          const credentials = environment ? { ...rest, environment } : rest;
          expect(await run(credentials, credentials, recordingCtx(fake.url, defaults))).toEqual({ ok: true });
          return defaults;
        };
        expect(await pick('stage')).toEqual([origins.stage]);
        expect(await pick('production')).toEqual([origins.production]);
        expect(await pick(undefined)).toEqual([origins.stage]);
        expect(origins.stage).not.toBe(origins.production);
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// DocuSign: JWT grant, then userinfo

describe('docusign verify', () => {
  const subject = provider('docusign');
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pkcs8 = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const pkcs1 = keys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const INTEGRATION_KEY = '2f6a8a4e-0000-4000-8000-00000000ik01';
  const USER_ID = '9b1c7d3e-0000-4000-8000-0000000user1';
  const NO_CONSENT_USER = '9b1c7d3e-0000-4000-8000-0000000user2';
  const ACCOUNT_ID = '5d4e3f2a-0000-4000-8000-00000000acc1';
  const ACCESS_TOKEN = 'eyJ0eXAiOiJNVCJ9.fake-access-token';
  const good: Credentials = {
    integration_key: INTEGRATION_KEY,
    user_id: USER_ID,
    account_id: ACCOUNT_ID,
    private_key: pkcs8,
    environment: 'stage',
  };
  /** A line from the middle of each PEM: must never reach a reason. */
  const keyMaterial = [pkcs8, pkcs1, otherKey].map((pem) => pem.split('\n')[5] ?? pem);
  let fake: Fake;

  beforeAll(async () => {
    fake = await startFake(async (req) => {
      if (req.method === 'POST' && req.path === '/oauth/token') {
        if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return { status: 415 };
        const form = new URLSearchParams(req.body);
        if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
          return { status: 400, body: { error: 'unsupported_grant_type' } };
        }
        try {
          const { payload, protectedHeader } = await jwtVerify(form.get('assertion') ?? '', keys.publicKey, {
            issuer: INTEGRATION_KEY,
            audience: new URL(fake.url).host,
            algorithms: ['RS256'],
            typ: 'JWT',
          });
          const wellFormed =
            protectedHeader.alg === 'RS256' && payload.scope === 'signature impersonation' && payload.exp === (payload.iat ?? 0) + 3600;
          if (!wellFormed) return { status: 400, body: { error: 'invalid_grant' } };
          if (payload.sub === NO_CONSENT_USER) return { status: 400, body: { error: 'consent_required' } };
          if (payload.sub !== USER_ID) return { status: 400, body: { error: 'invalid_grant' } };
          return { status: 200, body: { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 3600 } };
        } catch {
          return { status: 400, body: { error: 'invalid_grant', error_description: 'no_valid_keys_or_signatures' } };
        }
      }
      if (req.method === 'GET' && req.path === '/oauth/userinfo') {
        if (req.headers.authorization !== `Bearer ${ACCESS_TOKEN}`) return { status: 401, body: { error: 'invalid_token' } };
        return {
          status: 200,
          body: {
            sub: USER_ID,
            accounts: [{ account_id: ACCOUNT_ID, is_default: true, base_uri: 'https://demo.docusign.net' }],
          },
        };
      }
      return { status: 421 };
    });
  });
  afterAll(() => fake.close());

  const run = (credentials: Credentials, ctx = ctxFor(fake.url)) => {
    fake.seen.length = 0;
    return subject.verify(credentials, ctx);
  };

  it('exchanges a signed JWT for a token, then reads userinfo with it', async () => {
    expect(await run(good)).toEqual({ ok: true });
    expect(fake.seen.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /oauth/token', 'GET /oauth/userinfo']);
    const [grant, userinfo] = fake.seen;
    expect(grant?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(grant?.body);
    expect([...form.keys()]).toEqual(['grant_type', 'assertion']);
    const claims = decodeJwt(form.get('assertion') ?? '');
    expect(claims).toMatchObject({
      iss: INTEGRATION_KEY,
      sub: USER_ID,
      aud: new URL(fake.url).host,
      scope: 'signature impersonation',
    });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(3600);
    expect(userinfo?.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
  });

  it('accepts a PKCS#1 ("BEGIN RSA PRIVATE KEY") PEM and no account_id', async () => {
    const { account_id: _, ...withoutAccount } = good;
    expect(await run({ ...withoutAccount, private_key: pkcs1 })).toEqual({ ok: true });
  });

  it('accepts a PEM pasted with escaped newlines', async () => {
    expect(await run({ ...good, private_key: pkcs8.replace(/\n/g, '\\n') })).toEqual({ ok: true });
  });

  it('refuses a key that is not registered (invalid_grant) permanently, without key material', async () => {
    const result = await run({ ...good, private_key: otherKey });
    expectPermanentWithout(result, keyMaterial);
    expect(result).toMatchObject({ reason: expect.stringMatching(/JWT grant/) });
    expect(fake.seen).toHaveLength(1);
  });

  it('says when the user has not granted consent (consent_required)', async () => {
    const result = await run({ ...good, user_id: NO_CONSENT_USER });
    expectPermanentWithout(result, keyMaterial);
    expect(result).toMatchObject({ reason: expect.stringMatching(/consent/) });
  });

  it('refuses an account_id the user does not belong to', async () => {
    const result = await run({ ...good, account_id: '00000000-0000-4000-8000-000000000000' });
    expectPermanentWithout(result, keyMaterial);
    expect(result).toMatchObject({ reason: expect.stringMatching(/account_id/) });
  });

  it('refuses an invalid PEM permanently without calling DocuSign or echoing it', async () => {
    const garbage = '-----BEGIN PRIVATE KEY-----\nbm90LWEta2V5LXNlY3JldA==\n-----END PRIVATE KEY-----';
    const result = await run({ ...good, private_key: garbage });
    expectPermanentWithout(result, ['bm90LWEta2V5LXNlY3JldA==']);
    expect(fake.seen).toHaveLength(0);
  });

  it('treats a 503 as transient', async () => {
    const route = fake.route;
    fake.route = () => ({ status: 503, body: { error: 'maintenance' } });
    try {
      expect(await run(good)).toMatchObject({ ok: false, permanent: false });
    } finally {
      fake.route = route;
    }
  });

  it('treats a refused connection as transient', async () => {
    const result = await subject.verify(good, ctxFor(await closedOrigin()));
    expect(result).toMatchObject({ ok: false, permanent: false });
  });

  it('reads userinfo up to 1 MiB: a larger answer is a transient failure, not an account', async () => {
    const route = fake.route;
    const padding = 'x'.repeat(1 << 20);
    fake.route = async (req) => {
      if (req.path !== '/oauth/userinfo') return route(req);
      const body = {
        sub: USER_ID,
        accounts: [{ account_id: ACCOUNT_ID, is_default: true, base_uri: 'https://demo.docusign.net' }],
        padding,
      };
      return { status: 200, body };
    };
    try {
      expect(await run(good)).toEqual({ ok: false, permanent: false, reason: 'DocuSign userinfo answer is not JSON or too large' });
    } finally {
      fake.route = route;
    }
  });

  it('picks account-d or account from `environment` when there is no override', async () => {
    const pick = async (environment: string) => {
      const defaults: string[] = [];
      expect(await run({ ...good, environment }, recordingCtx(fake.url, defaults))).toEqual({ ok: true });
      return defaults;
    };
    expect(await pick('stage')).toEqual(['https://account-d.docusign.com']);
    expect(await pick('production')).toEqual(['https://account.docusign.com']);
  });
});

// ---------------------------------------------------------------------------------------------
// Acrobat Sign: the refresh posts the client secret to the configured api_access_point

describe('adobe_sign verify: where the refresh goes', () => {
  const subject = provider('adobe_sign');
  const SECRET = 'adobe-client-secret-verify-0123';
  const REFRESH = '3AAABLKrefresh-verify-0123';
  const credentials = (apiAccessPoint: string): Credentials => ({
    access_token: '3AAABLKunused',
    refresh_token: REFRESH,
    client_id: 'CBJCHBCAAB',
    client_secret: SECRET,
    api_access_point: apiAccessPoint,
  });
  /** No ADOBE_SIGN_API_BASE_URL: every origin is Adobe's own. */
  const noOverride = (): VerifyContext => ({ origin: (defaultOrigin) => defaultOrigin, signal: AbortSignal.timeout(5000) });
  let fake: Fake;

  beforeAll(async () => {
    fake = await startFake((req) => {
      if (req.method === 'POST' && req.path === '/oauth/v2/refresh') {
        const form = new URLSearchParams(req.body);
        if (form.get('client_secret') !== SECRET || form.get('refresh_token') !== REFRESH)
          return { status: 400, body: { error: 'invalid_grant' } };
        return { status: 200, body: { access_token: '3AAABLKfresh', expires_in: 3600 } };
      }
      if (req.method === 'GET' && req.path === '/api/rest/v6/baseUris') {
        return { status: 200, body: { apiAccessPoint: 'https://api.na1.adobesign.com/' } };
      }
      return { status: 421 };
    });
  });
  afterAll(() => fake.close());

  it('sends the refresh to a loopback api_access_point only when the origin is overridden', async () => {
    fake.seen.length = 0;
    expect(await subject.verify(credentials(fake.url), ctxFor(fake.url))).toEqual({ ok: true });
    expect(fake.seen.map((s) => `${s.method} ${s.path}`)).toEqual(['POST /oauth/v2/refresh', 'GET /api/rest/v6/baseUris']);
  });

  it.each([
    ['an http api_access_point', () => fake.url, '127.0.0.1 is not served over https'],
    ['a host outside Adobe’s domains', () => 'https://api.na1.adobesign.com.attacker.example/', 'is not under adobesign.com'],
  ])('refuses %s permanently without sending the client secret or refresh token anywhere', async (_, url, reason) => {
    fake.seen.length = 0;
    const result = await subject.verify(credentials(url()), noOverride());
    expectPermanentWithout(result, [SECRET, REFRESH]);
    expect(result).toMatchObject({ reason: expect.stringContaining(reason) });
    expect(fake.seen).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------
// The catalog against CONTRACT.md

describe('provider catalog', () => {
  const E_SIGN = ['request_signature', 'track_signature'];
  const CONTRACT: [string, string, string[]][] = [
    ['stripe', 'PAYMENT', ['initiate_payment', 'process_refund', 'verify_payment']],
    ['twilio', 'COMMUNICATION', ['send_sms', 'send_whatsapp']],
    ['plivo', 'COMMUNICATION', ['send_sms']],
    ['whatsapp_twilio', 'COMMUNICATION', ['send_whatsapp']],
    ['sendgrid', 'EMAIL', ['send_email']],
    ['openai', 'AI', ['generate_text', 'create_embedding']],
    ['docusign', 'E_SIGNATURE', E_SIGN],
    ['clicksign', 'E_SIGNATURE', E_SIGN],
    ['d4sign', 'E_SIGNATURE', E_SIGN],
    ['certisign', 'E_SIGNATURE', E_SIGN],
    ['adobe_sign', 'E_SIGNATURE', E_SIGN],
  ];
  /** Secrets, by provider: exactly these fields are sensitive. */
  const SENSITIVE: Record<string, string[]> = {
    stripe: ['secret_key', 'webhook_secret'],
    twilio: ['auth_token'],
    plivo: ['auth_token'],
    whatsapp_twilio: ['auth_token'],
    sendgrid: ['api_key'],
    openai: ['api_key'],
    docusign: ['private_key', 'connect_hmac_key'],
    clicksign: ['access_token', 'hmac_secret'],
    d4sign: ['token_api', 'crypt_key', 'hmac_secret'],
    certisign: ['api_token'],
    adobe_sign: ['access_token', 'refresh_token', 'client_secret'],
  };
  /** Inbound-webhook verification fields: optional until webhooks are configured. */
  const WEBHOOK_FIELDS: Record<string, string> = {
    stripe: 'webhook_secret',
    sendgrid: 'webhook_verification_key',
    docusign: 'connect_hmac_key',
    clicksign: 'hmac_secret',
    d4sign: 'hmac_secret',
    adobe_sign: 'client_id',
  };

  it('lists the 11 providers in CONTRACT.md order with exactly its categories and capabilities', () => {
    expect(PROVIDERS.map((p) => [p.name, p.category, [...p.capabilities]])).toEqual(CONTRACT);
  });

  it('gives every field a label and a one-line description, with no duplicate keys', () => {
    for (const p of PROVIDERS) {
      const keys = p.credentialSchema.map((f) => f.key);
      expect(new Set(keys).size, p.name).toBe(keys.length);
      expect(p.displayName, p.name).not.toBe('');
      for (const f of p.credentialSchema) {
        expect(f.label.trim(), `${p.name}.${f.key}`).not.toBe('');
        expect(f.description?.trim(), `${p.name}.${f.key}`).toBeTruthy();
        expect(f.description, `${p.name}.${f.key}`).not.toMatch(/\n/);
        if (f.pattern) expect(f.type, `${p.name}.${f.key}`).toBe('STRING');
        if (f.pattern) expect(f.patternHint, `${p.name}.${f.key}`).toBeTruthy();
      }
    }
  });

  it('marks exactly the secrets sensitive, and webhook verification fields optional', () => {
    for (const p of PROVIDERS) {
      const sensitive = p.credentialSchema.filter((f) => f.sensitive).map((f) => f.key);
      expect(sensitive.sort(), p.name).toEqual([...(SENSITIVE[p.name] ?? [])].sort());
      const webhookField = WEBHOOK_FIELDS[p.name];
      if (webhookField) {
        expect(
          p.credentialSchema.find((f) => f.key === webhookField),
          p.name,
        ).toMatchObject({ required: false });
      }
    }
  });

  it("has twilio's contract fields", () => {
    expect(provider('twilio').credentialSchema.map((f) => [f.key, f.sensitive])).toEqual([
      ['account_sid', false],
      ['auth_token', true],
      ['from_number', false],
    ]);
  });

  it('gives every e-signature provider environment, changeKeys and webhookCatcherEndpoint', () => {
    for (const p of PROVIDERS.filter((x) => x.category === 'E_SIGNATURE')) {
      const byKey = new Map(p.credentialSchema.map((f) => [f.key, f]));
      expect(byKey.get('environment'), p.name).toMatchObject({
        type: 'ENUM',
        enumValues: ['stage', 'production'],
        defaultValue: 'stage',
      });
      expect(byKey.get('changeKeys'), p.name).toMatchObject({ type: 'BOOLEAN' });
      expect(byKey.get('webhookCatcherEndpoint'), p.name).toMatchObject({ type: 'URL' });
    }
  });

  it('accepts the realistic test credentials above under each field pattern', () => {
    for (const c of CASES) {
      for (const f of provider(c.name).credentialSchema) {
        const value = c.good[f.key];
        if (f.pattern && typeof value === 'string') expect(value, `${c.name}.${f.key}`).toMatch(f.pattern);
      }
    }
    // a format the provider fixes is checked; the rest is verification's to judge (#20)
    expect(provider('twilio').credentialSchema[0]?.pattern).toBeUndefined();
    expect(provider('whatsapp_twilio').credentialSchema[2]?.pattern?.test('14155238886')).toBe(false);
    expect(provider('whatsapp_twilio').credentialSchema[2]?.pattern?.test('+14155238886')).toBe(true);
  });
});
