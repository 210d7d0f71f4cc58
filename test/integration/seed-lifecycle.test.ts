/**
 * The seed systems' lifecycle details over HTTP: verifiedAt cleared by an authenticating change
 * until it verifies; changes of fields the provider does not authenticate with (Stripe's
 * webhook_secret, the e-signature settings, metadata) neither re-verify nor leave routing and emit
 * integration.updated; example payloads' placeholders are accepted; the Provider catalog fields.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, type Reply, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import { addRule, configureActive, configureIntegration, type Gql, gqlAs, waitForActive } from '../helpers/integrations.ts';

const KEY_1 = 'sk_test_seedKeyOne1';
const KEY_2 = 'sk_test_seedKeyTwo2';
const STRIPE = { publishable_key: 'pk_test_seed', secret_key: KEY_1 };
const CLICKSIGN_TOKEN = 'clicksign-seed-token-0001';

const FIELDS = 'id status version verifiedAt lastError metadata credentialFields { key isSet value }';
const GET = `query($id: ID!) { integration(id: $id) { ${FIELDS} } }`;
const ERRORS = '... on Error { code message } ... on ValidationError { fieldErrors { path message } }';
const ROTATE = `mutation($input: RotateIntegrationCredentialsInput!) { rotateIntegrationCredentials(input: $input) {
  __typename ... on RotateIntegrationCredentialsPayload { integration { ${FIELDS} } } ${ERRORS} } }`;
const UPDATE = `mutation($input: UpdateIntegrationInput!) { updateIntegration(input: $input) {
  __typename ... on UpdateIntegrationPayload { integration { ${FIELDS} } } ${ERRORS} } }`;
const lifecycle = (name: string) => `mutation($id: ID!) { ${name}(input: { id: $id }) {
  __typename ... on ${name[0]!.toUpperCase()}${name.slice(1)}Payload { integration { ${FIELDS} } } ... on Error { code message } } }`;
const ROUTE = `query($capability: String!) { resolveRoute(capability: $capability) { integration { id status } error { code } } }`;
const EVENTS = `query($type: String) { events(first: 100, type: $type) { edges { node { type payload } } } }`;

/** Stripe's balance check, accepting any of `keys`; `hold` keeps answers back until released. */
function stripeFake(keys: Set<string>) {
  let gate: Promise<void> | null = null;
  let open = () => {};
  return {
    keys,
    hold() {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    release() {
      gate = null;
      open();
    },
    async route(req: Seen): Promise<Reply> {
      if (gate) await gate;
      if (req.method !== 'GET' || req.path !== '/v1/balance') return { status: 404, body: { error: { type: 'invalid_request_error' } } };
      const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      return keys.has(key) ? { status: 200, body: { object: 'balance', available: [] } } : { status: 401, body: { error: {} } };
    },
  };
}

let server: TestServer;
let stripe: FakeApi;
let clicksign: FakeApi;
let twilio: FakeApi;
const stripeRoute = stripeFake(new Set([KEY_1, KEY_2]));

beforeAll(async () => {
  stripe = await startFakeApi((req) => stripeRoute.route(req));
  clicksign = await startFakeApi((req) =>
    req.path === '/api/v3/envelopes' && req.headers.authorization === CLICKSIGN_TOKEN
      ? { status: 200, body: { data: [] } }
      : { status: 401 },
  );
  // refuses everything: the placeholders are accepted on input and judged by verification
  twilio = await startFakeApi(() => ({ status: 401, body: { code: 20003, message: 'Authenticate' } }));
  server = await startTestServer({
    STRIPE_API_BASE_URL: stripe.url,
    CLICKSIGN_API_BASE_URL: clicksign.url,
    TWILIO_API_BASE_URL: twilio.url,
  });
});

afterAll(async () => {
  stripeRoute.release();
  await server?.close();
  await Promise.all([stripe?.close(), clicksign?.close(), twilio?.close()]);
});

async function tenant(name: string): Promise<Gql> {
  return gqlAs(server, { token: await server.token({ tenant_id: name, sub: `${name}-user` }) });
}

const read = async (gql: Gql, id: string) => (await gql(GET, { id })).integration;

/** The payloads of one type's events about one integration, newest first. */
async function eventsOf(gql: Gql, type: string, id: string): Promise<Record<string, any>[]> {
  const edges = (await gql(EVENTS, { type })).events.edges as { node: { payload: Record<string, any> } }[];
  return edges.map((e) => e.node.payload).filter((p) => p.id === id);
}

/** A verification run to its end: re-verify and wait until ACTIVE again; answers the provider calls it made. */
async function verifyAndCount(gql: Gql, id: string, fake: FakeApi): Promise<number> {
  const before = fake.seen.length;
  const res = (await gql(lifecycle('verifyIntegration'), { id })).verifyIntegration;
  expect(res.integration.status).toBe('PENDING_VERIFY');
  await waitForActive(gql, id);
  return fake.seen.length - before;
}

describe('Provider catalog fields', () => {
  it('every provider has slug = name, a description, its docs URL and a logo served here', async () => {
    const gql = await tenant('seed-catalog');
    const { providers } = await gql(`{ providers { name slug displayName description docsUrl logoUrl } }`);
    expect(providers).toHaveLength(11);
    for (const p of providers) {
      expect(p.slug, p.name).toBe(p.name);
      expect(p.description, p.name).toMatch(/^[A-Z].{20,200}\.$/);
      expect(new URL(p.docsUrl).protocol, p.name).toBe('https:');
      expect(p.logoUrl, p.name).toBe(`${server.url}/assets/providers/${p.name}.svg`);
    }
    const stripeDocs = providers.find((p: { name: string }) => p.name === 'stripe').docsUrl;
    expect(stripeDocs).toBe('https://docs.stripe.com/keys');
  });

  it('serves each logo as a strict, cacheable SVG with no script and no external reference', async () => {
    const gql = await tenant('seed-catalog');
    const { providers } = await gql(`{ providers { name logoUrl } }`);
    for (const { name, logoUrl } of providers) {
      const res = await fetch(logoUrl);
      expect(res.status, name).toBe(200);
      expect(res.headers.get('content-type'), name).toBe('image/svg+xml; charset=utf-8');
      expect(res.headers.get('x-content-type-options'), name).toBe('nosniff');
      expect(res.headers.get('content-security-policy'), name).toContain("default-src 'none'");
      expect(res.headers.get('cache-control'), name).toBe('public, max-age=86400');
      const svg = await res.text();
      expect(svg, name).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>.*<\/svg>\n$/s);
      expect(svg, name).not.toMatch(/<script|href|url\(|on[a-z]+=/i);
      const again = await fetch(logoUrl, { headers: { 'if-none-match': res.headers.get('etag')! } });
      expect(again.status, name).toBe(304);
    }
  });

  it('answers 404 for an unknown provider and 405 for anything but GET and HEAD', async () => {
    expect((await fetch(`${server.url}/assets/providers/nope.svg`)).status).toBe(404);
    expect((await fetch(`${server.url}/assets/providers/stripe.png`)).status).toBe(404);
    const post = await fetch(`${server.url}/assets/providers/stripe.svg`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${server.url}/assets/providers/stripe.svg`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(100);
  });

  it('says which credential fields authenticate', async () => {
    const gql = await tenant('seed-catalog');
    const { provider } = await gql(`{ provider(name: "stripe") { credentialSchema { key authenticates } } }`);
    expect(provider.credentialSchema).toEqual([
      { key: 'publishable_key', authenticates: false },
      { key: 'secret_key', authenticates: true },
      { key: 'webhook_secret', authenticates: false },
    ]);
  });
});

describe('a change of fields the provider authenticates with', () => {
  it('clears verifiedAt and leaves routing until the new credentials verify, then sets it again', async () => {
    const gql = await tenant('seed-auth');
    const { id } = await configureActive(gql, 'stripe', STRIPE);
    await addRule(gql, { capability: 'verify_payment', integrationId: id, isDefault: true });
    const verified = await read(gql, id);
    expect(verified.verifiedAt).toBeTruthy();

    // the new key's check waits until the route is read: verified first, it would route again
    stripeRoute.hold();
    try {
      const rotated = (await gql(ROTATE, { input: { id, credentials: { secret_key: KEY_2 } } })).rotateIntegrationCredentials;
      expect(rotated.integration).toMatchObject({ status: 'PENDING_VERIFY', verifiedAt: null });
      const route = (await gql(ROUTE, { capability: 'verify_payment' })).resolveRoute;
      expect(route).toEqual({ integration: null, error: { code: 'NO_ACTIVE_PROVIDER' } });
    } finally {
      stripeRoute.release();
    }

    await waitForActive(gql, id);
    const again = await read(gql, id);
    expect(again.verifiedAt).toBeTruthy();
    expect(Date.parse(again.verifiedAt)).toBeGreaterThanOrEqual(Date.parse(verified.verifiedAt));
    expect(stripe.seen.some((s) => s.headers.authorization === `Bearer ${KEY_2}`)).toBe(true);

    const [event] = await eventsOf(gql, 'integration.credentials_rotated', id);
    expect(event).toMatchObject({ changedFields: ['secret_key'] });
    expect(JSON.stringify(event)).not.toContain(KEY_2);
  });

  it('an e-signature environment is one: it picks the origin the credentials are checked against', async () => {
    const gql = await tenant('seed-env');
    const { id } = await configureActive(gql, 'clicksign', { access_token: CLICKSIGN_TOKEN });
    const updated = (await gql(ROTATE, { input: { id, credentials: { environment: 'production' } } })).rotateIntegrationCredentials;
    expect(updated.integration).toMatchObject({ status: 'PENDING_VERIFY', verifiedAt: null });
    await waitForActive(gql, id);
  });
});

describe('a change of fields the provider does not authenticate with', () => {
  it('Stripe webhook_secret, publishable_key and metadata: stays ACTIVE and routed, verifiedAt kept, no provider call', async () => {
    const gql = await tenant('seed-settings');
    const { id } = await configureActive(gql, 'stripe', STRIPE);
    await addRule(gql, { capability: 'verify_payment', integrationId: id, isDefault: true });
    const before = await read(gql, id);
    const calls = stripe.seen.length;

    const rotated = (await gql(ROTATE, { input: { id, credentials: { webhook_secret: 'whsec_seedSecret' } } }))
      .rotateIntegrationCredentials;
    expect(rotated.integration).toMatchObject({ status: 'ACTIVE', verifiedAt: before.verifiedAt, version: before.version + 1 });
    expect(rotated.integration.credentialFields).toContainEqual({ key: 'webhook_secret', isSet: true, value: null });
    const route = (await gql(ROUTE, { capability: 'verify_payment' })).resolveRoute;
    expect(route).toEqual({ integration: { id, status: 'ACTIVE' }, error: null });

    const updated = (await gql(UPDATE, { input: { id, credentials: { publishable_key: 'pk_live_seed' }, metadata: { team: 'payments' } } }))
      .updateIntegration;
    expect(updated.integration).toMatchObject({ status: 'ACTIVE', verifiedAt: before.verifiedAt, metadata: { team: 'payments' } });
    expect((await gql(ROUTE, { capability: 'verify_payment' })).resolveRoute.integration).toEqual({ id, status: 'ACTIVE' });

    // nothing called Stripe: the next verification is the only call since
    expect(stripe.seen.length).toBe(calls);
    expect(await verifyAndCount(gql, id, stripe)).toBe(1);

    expect(await eventsOf(gql, 'integration.credentials_rotated', id)).toEqual([]);
    const statusChanges = await eventsOf(gql, 'integration.status_changed', id);
    // configure's verification, then the explicit verifyIntegration's two
    expect(statusChanges.map((e) => e.status)).toEqual(['ACTIVE', 'PENDING_VERIFY', 'ACTIVE']);
    const updates = await eventsOf(gql, 'integration.updated', id);
    expect(updates).toHaveLength(2);
    expect(updates[1]).toMatchObject({ changedFields: ['credentials'], changedCredentialFields: ['webhook_secret'] });
    expect(updates[0]).toMatchObject({ changedFields: ['metadata', 'credentials'], changedCredentialFields: ['publishable_key'] });
    expect(JSON.stringify(updates)).not.toContain('whsec_seedSecret');
  });

  it('e-signature changeKeys, webhookCatcherEndpoint and hmac_secret: no re-verification, no routing change', async () => {
    const gql = await tenant('seed-esign');
    const { id } = await configureActive(gql, 'clicksign', { access_token: CLICKSIGN_TOKEN });
    await addRule(gql, { capability: 'request_signature', integrationId: id, isDefault: true });
    const before = await read(gql, id);
    const calls = clicksign.seen.length;

    const credentials = { changeKeys: true, webhookCatcherEndpoint: 'https://proxy.example.com/clicksign', hmac_secret: 'seed-hmac' };
    const rotated = (await gql(ROTATE, { input: { id, credentials } })).rotateIntegrationCredentials;
    expect(rotated.integration).toMatchObject({ status: 'ACTIVE', verifiedAt: before.verifiedAt });
    expect((await gql(ROUTE, { capability: 'request_signature' })).resolveRoute.integration).toEqual({ id, status: 'ACTIVE' });
    expect(clicksign.seen.length).toBe(calls);
    expect(await verifyAndCount(gql, id, clicksign)).toBe(1);

    const [updated] = await eventsOf(gql, 'integration.updated', id);
    expect(updated?.changedCredentialFields.sort()).toEqual(['changeKeys', 'hmac_secret', 'webhookCatcherEndpoint']);
    expect(await eventsOf(gql, 'integration.credentials_rotated', id)).toEqual([]);
  });

  it('an INACTIVE integration changed so is activated without verifying again', async () => {
    const gql = await tenant('seed-inactive');
    const { id } = await configureActive(gql, 'stripe', STRIPE);
    await gql(lifecycle('disableIntegration'), { id });
    const changed = (await gql(ROTATE, { input: { id, credentials: { webhook_secret: 'whsec_inactive' } } })).rotateIntegrationCredentials;
    expect(changed.integration.status).toBe('INACTIVE');
    const calls = stripe.seen.length;
    const activated = (await gql(lifecycle('activateIntegration'), { id })).activateIntegration;
    expect(activated.integration.status).toBe('ACTIVE');
    expect(stripe.seen.length).toBe(calls);

    // an authenticating change while INACTIVE does make activation verify
    await gql(lifecycle('disableIntegration'), { id });
    const rekeyed = (await gql(ROTATE, { input: { id, credentials: { secret_key: KEY_2 } } })).rotateIntegrationCredentials;
    expect(rekeyed.integration).toMatchObject({ status: 'INACTIVE', verifiedAt: null });
    const verifying = (await gql(lifecycle('activateIntegration'), { id })).activateIntegration;
    expect(verifying.integration.status).toBe('PENDING_VERIFY');
    await waitForActive(gql, id);
  });

  it('a verification under way is not superseded by it: its result still applies', async () => {
    const gql = await tenant('seed-pending');
    const calls = stripe.seen.length;
    stripeRoute.hold();
    try {
      const { id } = await configureIntegration(gql, 'stripe', STRIPE);
      // the check has reached Stripe and waits for its answer
      await eventually(async () => (stripe.seen.length > calls ? true : undefined), 20_000, 'the verification call');
      const changed = (await gql(ROTATE, { input: { id, credentials: { webhook_secret: 'whsec_meanwhile' } } }))
        .rotateIntegrationCredentials;
      expect(changed.integration.status).toBe('PENDING_VERIFY');
      stripeRoute.release();
      await waitForActive(gql, id);
      expect(stripe.seen.length).toBe(calls + 1);
    } finally {
      stripeRoute.release();
    }
  });
});

describe('example payloads', () => {
  it('their placeholders are accepted on input and judged by verification', async () => {
    const gql = await tenant('seed-placeholders');
    const placeholders: [string, Record<string, unknown>][] = [
      ['stripe', { publishable_key: 'pk_test_placeholder', secret_key: 'sk_test_placeholder', webhook_secret: 'whsec_placeholder' }],
      ['twilio', { account_sid: 'account_sid_placeholder', auth_token: 'auth_token_placeholder', from_number: '+15005550006' }],
    ];
    for (const [provider, credentials] of placeholders) {
      const { id } = await configureIntegration(gql, provider, credentials);
      const failed = await eventually(
        async () => {
          const i = await read(gql, id);
          return i.status === 'ERROR' ? i : undefined;
        },
        20_000,
        `${provider} verification`,
      );
      expect(failed.lastError, provider).toMatch(/rejected the credentials \(HTTP 401\)/);
      expect(failed.verifiedAt, provider).toBeNull();
    }
  });

  it('a secret key pasted as Stripe’s publishable key is refused, never stored or shown', async () => {
    const gql = await tenant('seed-paste');
    const res = (
      await gql(`mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename ${ERRORS} } }`, {
        input: { provider: 'stripe', credentials: { publishable_key: KEY_1, secret_key: KEY_1 } },
      })
    ).configureIntegration;
    expect(res.__typename).toBe('ValidationError');
    expect(res.fieldErrors).toEqual([
      { path: ['credentials', 'publishable_key'], message: expect.stringMatching(/secret or restricted key \(sk_…, rk_…\)/) },
    ]);
    expect(JSON.stringify(res)).not.toContain(KEY_1);
  });
});
