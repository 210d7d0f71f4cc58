/**
 * Identity over HTTP: bearer JWTs (HS256 secret, and RS256/ES256 from a JWKS served on
 * loopback), API keys, scopes and application-limited reads.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_JWT_SECRET, type TestServer } from '../helpers/app.ts';

const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  __typename ... on CreateApiKeyPayload { secret apiKey { id prefix scopes appId revokedAt } }
  ... on ValidationError { code fieldErrors { path message } } } }`;
const REVOKE_KEY = `mutation($id: ID!) { revokeApiKey(input: { id: $id }) {
  __typename ... on RevokeApiKeyPayload { apiKey { id revokedAt } } ... on Error { code } } }`;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

function unsigned(claims: Record<string, unknown>) {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, exp: Math.floor(Date.now() / 1000) + 600 })}.`;
}

async function expect401(headers: Record<string, string>, reason: RegExp) {
  const res = await server.gql('{ __typename }', {}, { headers });
  expect(res.status).toBe(401);
  expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect(res.errors?.[0]?.message).toMatch(reason);
}

describe('bearer JWT (HS256)', () => {
  it('accepts a valid token and reports the viewer', async () => {
    const token = await server.token({ tenant_id: 'acme', sub: 'alice', scope: 'integrations:read', app_id: 'app-1' });
    const res = await server.gql('{ viewer { tenantId actorId appId scopes authenticatedBy } }', {}, { token });
    expect(res.status).toBe(200);
    expect(res.data.viewer).toEqual({
      tenantId: 'acme',
      actorId: 'alice',
      appId: 'app-1',
      scopes: ['INTEGRATIONS_READ'],
      authenticatedBy: 'JWT',
    });
  });

  it('gives every scope (with write implying read) when the scope claim is absent', async () => {
    const res = await server.gql('{ viewer { scopes } }', {}, { token: await server.token() });
    expect(res.data.viewer.scopes).toEqual([
      'ADMIN',
      'INTEGRATIONS_READ',
      'INTEGRATIONS_WRITE',
      'OPERATIONS_READ',
      'OPERATIONS_WRITE',
      'WEBHOOKS_READ',
      'WEBHOOKS_WRITE',
    ]);
  });

  it('refuses no credentials, even for { __typename }', () => expect401({}, /credentials required/));
  it('refuses alg "none"', () => expect401({ authorization: `Bearer ${unsigned({ tenant_id: 'acme' })}` }, /not accepted/));
  it('refuses a wrong signature', async () => {
    const forged = await new SignJWT({ tenant_id: 'acme' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('another-secret-that-is-also-long-enough-000'));
    await expect401({ authorization: `Bearer ${forged}` }, /signature is invalid/);
  });
  it('refuses an expired token', async () => {
    const expired = await new SignJWT({ tenant_id: 'acme' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(secret);
    await expect401({ authorization: `Bearer ${expired}` }, /expired/);
  });
  it('refuses a token without tenant_id', async () => {
    const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(secret);
    await expect401({ authorization: `Bearer ${token}` }, /no tenant_id/);
  });
  it('refuses a token without exp (it would never expire)', async () => {
    const forever = await new SignJWT({ tenant_id: 'acme' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(secret);
    await expect401({ authorization: `Bearer ${forever}` }, /no "exp" claim/);
  });
  it('refuses a token issued in the future, or not valid yet, beyond 5 s of clock skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (iat: number, nbf?: number) => {
      const jwt = new SignJWT({ tenant_id: 'acme' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt(iat)
        .setExpirationTime(now + 600);
      return (nbf === undefined ? jwt : jwt.setNotBefore(nbf)).sign(secret);
    };
    await expect401({ authorization: `Bearer ${await sign(now + 60)}` }, /"iat" claim is in the future/);
    await expect401({ authorization: `Bearer ${await sign(now, now + 60)}` }, /"nbf" claim is in the future/);
    // inside the tolerance: a clock a little ahead of ours is fine
    const res = await server.gql('{ viewer { tenantId } }', {}, { token: await sign(now + 2, now + 2) });
    expect(res.data?.viewer.tenantId).toBe('acme');
  });
  it('takes only a short plain identifier as tenant_id, sub or app_id, refusing the rest naming the claim and never its value', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ tenant_id: 'x'.repeat(129) }, 'tenant_id'],
      [{ tenant_id: 'acme\u0000' }, 'tenant_id'],
      [{ tenant_id: 'acme\u001bpwned' }, 'tenant_id'],
      [{ tenant_id: 'ac\nme' }, 'tenant_id'],
      [{ tenant_id: 'acme corp' }, 'tenant_id'],
      [{ tenant_id: '' }, 'tenant_id'],
      [{ tenant_id: 42 }, 'tenant_id'],
      [{ tenant_id: ['acme'] }, 'tenant_id'],
      [{ tenant_id: 'acme', sub: 'alice\u0000' }, 'sub'],
      [{ tenant_id: 'acme', sub: 7 }, 'sub'],
      [{ tenant_id: 'acme', app_id: '' }, 'app_id'],
      [{ tenant_id: 'acme', app_id: `app"${'y'.repeat(10)}` }, 'app_id'],
      [{ tenant_id: 'acme', app_id: false }, 'app_id'],
    ];
    for (const [claims, claim] of cases) {
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(secret);
      const res = await server.gql('{ __typename }', {}, { token });
      expect(res.status, JSON.stringify(claims)).toBe(401);
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(res.errors?.[0]?.message).toContain(`"${claim}" claim is not accepted`);
      const value = claims[claim];
      if (typeof value === 'string' && value) expect(res.raw).not.toContain(JSON.stringify(value).slice(1, -1));
    }
    expect(server.logs.join('')).not.toContain('acme\\u001bpwned');
    // and accepts the identifiers identity providers issue: 128 characters, emails, auth0|…, base64
    const token = await server.token({
      tenant_id: `org_${'9'.repeat(124)}`,
      sub: 'auth0|5f7c8ec7c33c6c004bbafe82',
      app_id: 'YWJj+ZGVm/Zw==',
    });
    expect((await server.gql('{ viewer { actorId appId } }', {}, { token })).data?.viewer).toEqual({
      actorId: 'auth0|5f7c8ec7c33c6c004bbafe82',
      appId: 'YWJj+ZGVm/Zw==',
    });
    const email = await server.token({ tenant_id: 'tenant:eu-1.acme', sub: 'alice.o-neil@example.com' });
    expect((await server.gql('{ viewer { tenantId actorId } }', {}, { token: email })).data?.viewer).toEqual({
      tenantId: 'tenant:eu-1.acme',
      actorId: 'alice.o-neil@example.com',
    });
  });
  it('refuses a malformed Authorization header and garbage tokens', async () => {
    await expect401({ authorization: 'Basic abc' }, /Bearer <JWT>/);
    await expect401({ authorization: 'Bearer not.a.jwt' }, /malformed or invalid/);
  });
});

describe('bearer JWT from a JWKS (RS256, ES256) with issuer and audience', () => {
  let jwks: Server;
  let jwksServer: TestServer;
  let rsa: CryptoKey;
  let ec: CryptoKey;
  const sign = (key: CryptoKey, alg: string, kid: string, claims: Record<string, unknown> = {}, iss = 'https://idp.test', aud = 'icp') =>
    new SignJWT({ tenant_id: 'acme', ...claims })
      .setProtectedHeader({ alg, kid })
      .setIssuer(iss)
      .setAudience(aud)
      .setExpirationTime('5m')
      .sign(key);

  beforeAll(async () => {
    const rsaPair = await generateKeyPair('RS256');
    const ecPair = await generateKeyPair('ES256');
    rsa = rsaPair.privateKey;
    ec = ecPair.privateKey;
    const keys = [
      { ...(await exportJWK(rsaPair.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ecPair.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })));
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    jwksServer = await startTestServer({
      AUTH_JWT_SECRET: '',
      AUTH_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`,
      AUTH_JWT_ISSUER: 'https://idp.test',
      AUTH_JWT_AUDIENCE: 'icp',
    });
  });
  afterAll(async () => {
    await jwksServer?.close();
    jwks?.close();
  });

  it('accepts RS256 and ES256 tokens signed by the published keys', async () => {
    for (const token of [await sign(rsa, 'RS256', 'rsa-1'), await sign(ec, 'ES256', 'ec-1')]) {
      const res = await jwksServer.gql('{ viewer { tenantId } }', {}, { token });
      expect(res.data?.viewer.tenantId).toBe('acme');
    }
  });

  it('refuses the wrong issuer or audience, an unknown key, and HS256 (not configured here)', async () => {
    const cases: [string, RegExp][] = [
      [await sign(rsa, 'RS256', 'rsa-1', {}, 'https://evil.test'), /"iss" claim/],
      [await sign(rsa, 'RS256', 'rsa-1', {}, 'https://idp.test', 'other'), /"aud" claim/],
      [await sign((await generateKeyPair('RS256')).privateKey, 'RS256', 'rsa-1'), /signature is invalid/],
      [await new SignJWT({ tenant_id: 'acme' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(secret), /not accepted/],
    ];
    for (const [token, reason] of cases) {
      const res = await jwksServer.gql('{ __typename }', {}, { token });
      expect(res.status).toBe(401);
      expect(res.errors?.[0]?.message).toMatch(reason);
    }
  });
});

describe('document limits', () => {
  it('refuses documents beyond the alias and depth limits before running them; documented queries pass', async () => {
    const token = await server.token();
    const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: events(first: 100) { totalCount }`).join(' ');
    const tooWide = await server.gql(`{ ${aliases} }`, {}, { token });
    expect(tooWide.data).toBeUndefined();
    expect(tooWide.errors?.[0]?.message).toMatch(/aliases/i);
    const path = ['webhooks', 'edges', 'node', ...Array(4).fill(['deliveries', 'edges', 'node', 'webhook']).flat(), 'id'];
    const deep = `{ ${path.join(' { ')}${' }'.repeat(path.length - 1)} }`; // depth 20
    const tooDeep = await server.gql(deep, {}, { token });
    expect(tooDeep.errors?.[0]?.message).toMatch(/depth/i);
    const documented = await server.gql(
      `{ webhooks(first: 25) { totalCount edges { node { id deliveries(first: 3) { edges { node { id status attempts { attemptNumber responseStatus } event { type } } } } } } } }`,
      {},
      { token },
    );
    expect(documented.errors).toBeUndefined();
  });

  it('reads of events need a read scope, also through node(id)', async () => {
    const writer = await server.token({ tenant_id: 'scoped-events' });
    await server.gql(`mutation { createApiKey(input: { name: "k" }) { __typename } }`, {}, { token: writer });
    await server.gql(
      `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-e" } }) { __typename } }`,
      {},
      { token: writer },
    );
    const list = await server.gql('{ events { edges { node { id } } } }', {}, { token: writer });
    const eventId = list.data.events.edges[0].node.id;
    const none = await server.token({ tenant_id: 'scoped-events', scope: '' });
    const res = await server.gql('query($id: ID!) { node(id: $id) { ... on Event { type payload } } }', { id: eventId }, { token: none });
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(res.raw).not.toContain('integration.created');
  });

  it('an integration is refused to a credential without integrations:read wherever it is reached, in a page too', async () => {
    const writer = await server.token({ tenant_id: 'scoped-integrations' });
    await server.gql(
      `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-i" } }) { __typename } }`,
      {},
      { token: writer },
    );
    const list = await server.gql('{ integrations { edges { node { id provider { name } } } } }', {}, { token: writer });
    const integrationId = list.data.integrations.edges[0].node.id;
    const webhooksOnly = await server.token({ tenant_id: 'scoped-integrations', scope: 'webhooks:read' });
    const byId = await server.gql(
      'query($id: ID!) { node(id: $id) { id ... on Integration { status metadata } } }',
      { id: integrationId },
      { token: webhooksOnly },
    );
    expect(byId.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(byId.errors?.[0]?.message).toBe('Query.node needs the integrations:read scope');
    expect(byId.errors?.[0]?.extensions?.requiredScopes).toEqual(['integrations:read']);
    expect(byId.data?.node ?? null).toBeNull();
    // through the provider catalog, which the credential may read
    const viaCatalog = await server.gql('{ providers { name integration { id status } } }', {}, { token: webhooksOnly });
    expect(viaCatalog.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(viaCatalog.raw).not.toContain(integrationId);
  });
});

describe('API keys', () => {
  it('createApiKey returns a checksummed secret once; x-api-key then authenticates with its tenant and scopes', async () => {
    const admin = await server.token({ tenant_id: 'keys-tenant', sub: 'root' });
    const created = await server.gql(CREATE_KEY, { input: { name: 'ci', scopes: ['integrations:read'] } }, { token: admin });
    const { secret: key, apiKey } = created.data.createApiKey;
    expect(key).toMatch(/^icp_[0-9A-Za-z]{46}$/);
    expect(key.startsWith(apiKey.prefix)).toBe(true);
    expect(apiKey.scopes).toEqual(['INTEGRATIONS_READ']);

    const viewer = await server.gql('{ viewer { tenantId actorId scopes authenticatedBy } }', {}, { apiKey: key });
    expect(viewer.data.viewer).toEqual({
      tenantId: 'keys-tenant',
      actorId: expect.stringMatching(/^apikey:/),
      scopes: ['INTEGRATIONS_READ'],
      authenticatedBy: 'API_KEY',
    });
    const write = await server.gql(
      `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-x" } }) { __typename } }`,
      {},
      { apiKey: key },
    );
    expect(write.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const listed = await server.gql('{ apiKeys { totalCount edges { node { prefix } } } }', {}, { token: admin });
    expect(listed.raw).not.toContain(key);
    expect(listed.data.apiKeys.totalCount).toBe(1);

    const revoked = await server.gql(REVOKE_KEY, { id: apiKey.id }, { token: admin });
    expect(revoked.data.revokeApiKey.apiKey.revokedAt).toBeTruthy();
    const after = await server.gql('{ __typename }', {}, { apiKey: key });
    expect(after.status).toBe(401);
    expect(after.errors?.[0]?.message).toMatch(/unknown or revoked/);
  });

  it('refuses malformed keys (checksum) and keys of another tenant cannot be revoked', async () => {
    const res = await server.gql('{ __typename }', {}, { apiKey: `icp_${'a'.repeat(46)}` });
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.message).toMatch(/malformed/);
    const owner = await server.token({ tenant_id: 'owner' });
    const created = await server.gql(CREATE_KEY, { input: { name: 'k' } }, { token: owner });
    const stranger = await server.token({ tenant_id: 'stranger' });
    const attempt = await server.gql(REVOKE_KEY, { id: created.data.createApiKey.apiKey.id }, { token: stranger });
    expect(attempt.data.revokeApiKey).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    const still = await server.gql('{ viewer { tenantId } }', {}, { apiKey: created.data.createApiKey.secret });
    expect(still.data.viewer.tenantId).toBe('owner');
  });

  it('needs the admin scope, refuses unknown or ungranted scopes, and refuses anonymous callers', async () => {
    expect((await server.gql(CREATE_KEY, { input: { name: 'x' } })).status).toBe(401);
    expect((await server.gql(REVOKE_KEY, { id: Buffer.from('ApiKey:x').toString('base64') })).status).toBe(401);
    const writer = await server.token({ scope: 'integrations:write' });
    const forbidden = await server.gql(CREATE_KEY, { input: { name: 'x' } }, { token: writer });
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const admin = await server.token({ scope: 'admin' });
    const invalid = await server.gql(CREATE_KEY, { input: { name: ' ', scopes: ['integrations:read', 'root'] } }, { token: admin });
    expect(invalid.data.createApiKey.code).toBe('VALIDATION');
    expect(invalid.data.createApiKey.fieldErrors).toEqual([
      { path: ['name'], message: 'must be 1 to 100 characters' },
      {
        path: ['scopes', '1'],
        message:
          'unknown scope (known: integrations:read, integrations:write, webhooks:read, webhooks:write, operations:read, operations:write, admin)',
      },
    ]);
  });

  it('an application token stamps its appId and only sees its application’s keys', async () => {
    const appToken = await server.token({ tenant_id: 'apps', app_id: 'billing-app' });
    const personToken = await server.token({ tenant_id: 'apps' });
    const appKey = await server.gql(CREATE_KEY, { input: { name: 'app key' } }, { token: appToken });
    expect(appKey.data.createApiKey.apiKey.appId).toBe('billing-app');
    await server.gql(CREATE_KEY, { input: { name: 'person key' } }, { token: personToken });
    const appView = await server.gql('{ apiKeys { totalCount } }', {}, { token: appToken });
    const personView = await server.gql('{ apiKeys { totalCount edges { node { id appId } } } }', {}, { token: personToken });
    expect(appView.data.apiKeys.totalCount).toBe(1);
    expect(personView.data.apiKeys.totalCount).toBe(2);
    // another application's key is not there for it, not even by id
    const personKey = personView.data.apiKeys.edges.find((e: { node: { appId: string | null } }) => e.node.appId === null).node.id;
    const otherApp = await server.token({ tenant_id: 'apps', app_id: 'other-app' });
    for (const tok of [appToken, otherApp]) {
      const byId = await server.gql('query($id: ID!) { node(id: $id) { id } }', { id: personKey }, { token: tok });
      expect(byId.errors).toBeUndefined();
      expect(byId.data.node).toBeNull();
    }
  });
});
