/**
 * Connect sessions over HTTP: createConnectSession's defaults, bounds and scope; what a session
 * token may do (providers, configure and verify its allowed providers' integrations against a
 * loopback Stripe fake, their live status) and everything it may not, expiry included.
 */
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { inRowScope } from '../../src/db/row-security.ts';
import { PROVIDERS } from '../../src/providers/catalog.ts';
import { untilExpiry } from '../../src/schema/connect-session.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, startFakeApi, stripeBalance } from '../helpers/fake-api.ts';
import { subscribeSse, subscriptionAnswer } from '../helpers/sse.ts';

const TENANT = 'connect-tenant';
const GOOD = 'sk_test_connectGood1';
const STRIPE = { publishable_key: 'pk_test_connect', secret_key: GOOD };
const TWILIO = { account_sid: `AC${'5'.repeat(32)}`, auth_token: 'twilio-token-connect', from_number: '+15550001111' };

const ERRORS = `... on Error { __typename code message } ... on ValidationError { fieldErrors { path message } }`;
const CREATE = `mutation($input: CreateConnectSessionInput!) { createConnectSession(input: $input) {
  __typename ... on CreateConnectSessionPayload { token url expiresAt allowedProviders } ${ERRORS} } }`;
const CONFIGURE = `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) {
  __typename ... on ConfigureIntegrationPayload { integration { id status provider { name } } } ${ERRORS} } }`;
const GET = `query($id: ID!) { integration(id: $id) { id status lastError verifiedAt provider { name }
  credentialFields { key sensitive isSet value } inboundWebhookUrl } }`;

/** A graphql-ws client with the session in connectionParams, as the connect page sends it. */
function wsClient(token: string) {
  return createClient({
    url: `${server.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
  });
}

let server: TestServer;
let stripe: FakeApi;
let twilio: FakeApi;
let admin: string;
let twilioId: string;

async function createSession(input: Record<string, unknown>, token = admin) {
  const res = await server.gql(CREATE, { input }, { token });
  return res;
}

/** A connect session token for `providers` (must be accepted). */
async function sessionFor(providers: string[], expiresInSeconds?: number): Promise<string> {
  const res = await createSession({ allowedProviders: providers, expiresInSeconds });
  expect(res.data.createConnectSession.__typename).toBe('CreateConnectSessionPayload');
  return res.data.createConnectSession.token;
}

beforeAll(async () => {
  stripe = await startFakeApi(stripeBalance(GOOD));
  // Twilio refuses every key: its integration ends in ERROR, which is a status change all the same
  twilio = await startFakeApi(() => ({ status: 401, body: { code: 20003, message: 'Authenticate' } }));
  server = await startTestServer({ STRIPE_API_BASE_URL: stripe.url, TWILIO_API_BASE_URL: twilio.url });
  admin = await server.token({ tenant_id: TENANT, sub: 'operator' });
  const configured = await server.gql(CONFIGURE, { input: { provider: 'twilio', credentials: TWILIO } }, { token: admin });
  twilioId = configured.data.configureIntegration.integration.id;
});

afterAll(async () => {
  await server?.close();
  await stripe?.close();
  await twilio?.close();
});

describe('createConnectSession', () => {
  it('mints a token for every provider for 900 s by default, with the connect page URL', async () => {
    const before = Date.now();
    const res = await createSession({});
    const payload = res.data.createConnectSession;
    expect(payload.__typename).toBe('CreateConnectSessionPayload');
    expect(payload.token).toMatch(/^icp_cs_[0-9A-Za-z]{46}$/);
    expect(payload.url).toBe(`${server.url}/console/connect?session=${payload.token}`);
    expect(payload.allowedProviders).toEqual(PROVIDERS.map((p) => p.name));
    const expires = Date.parse(payload.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 900_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 900_000 + 1000);
    // the token is shown once and never logged
    expect(server.logs.join('')).not.toContain(payload.token);
  });

  it('takes the allowed providers without repeats, and a lifetime from 60 to 3600 s', async () => {
    for (const seconds of [60, 3600]) {
      const res = await createSession({ allowedProviders: ['stripe', 'stripe'], expiresInSeconds: seconds });
      expect(res.data.createConnectSession.allowedProviders).toEqual(['stripe']);
    }
  });

  it.each([
    [{ expiresInSeconds: 59 }, [['expiresInSeconds']]],
    [{ expiresInSeconds: 3601 }, [['expiresInSeconds']]],
    [{ allowedProviders: [] }, [['allowedProviders']]],
    [{ allowedProviders: ['stripe', 'nope'], expiresInSeconds: 0 }, [['allowedProviders', '1'], ['expiresInSeconds']]],
  ])('refuses %j as a ValidationError with field paths', async (input, paths) => {
    const result = (await createSession(input)).data.createConnectSession;
    expect(result.__typename).toBe('ValidationError');
    expect(result.code).toBe('VALIDATION');
    expect(result.fieldErrors.map((e: { path: string[] }) => e.path)).toEqual(paths);
  });

  it('needs integrations:write and credentials', async () => {
    const reader = await server.token({ tenant_id: TENANT, scope: 'integrations:read webhooks:write' });
    const refused = await createSession({}, reader);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const session = await sessionFor(['stripe']);
    expect((await createSession({}, session)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = await server.gql(CREATE, { input: {} });
    expect(anonymous.status).toBe(401);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('a connect session token', () => {
  let session: string;
  let stripeId: string;

  beforeAll(async () => {
    session = await sessionFor(['stripe', 'sendgrid']);
  });

  it('reads itself and the catalog of its allowed providers only', async () => {
    const res = await server.gql(
      `{ viewer { tenantId scopes authenticatedBy } connectSession { allowedProviders expiresAt }
         providers { name credentialSchema { key sensitive } } stripe: provider(name: "stripe") { name isConfigured }
         twilio: provider(name: "twilio") { name } }`,
      {},
      { token: session },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.viewer).toEqual({ tenantId: TENANT, scopes: ['CONNECT'], authenticatedBy: 'CONNECT_SESSION' });
    expect(res.data.connectSession.allowedProviders).toEqual(['sendgrid', 'stripe']);
    expect(res.data.providers.map((p: { name: string }) => p.name).sort()).toEqual(['sendgrid', 'stripe']);
    expect(res.data.stripe).toEqual({ name: 'stripe', isConfigured: false });
    expect(res.data.twilio).toBeNull();
    // the catalog by global id is the same catalog
    const ids = await server.gql('{ providers { name id } }', {}, { token: admin });
    const idOf = (name: string) => ids.data.providers.find((p: { name: string }) => p.name === name).id;
    const nodes = await server.gql(
      'query($a: ID!, $b: ID!) { a: node(id: $a) { id } b: node(id: $b) { id } }',
      { a: idOf('stripe'), b: idOf('twilio') },
      { token: session },
    );
    expect(nodes.data).toEqual({ a: { id: idOf('stripe') }, b: null });
  });

  it('configures an allowed provider and reads it turn ACTIVE', async () => {
    const result = (await server.gql(CONFIGURE, { input: { provider: 'stripe', credentials: STRIPE } }, { token: session })).data
      .configureIntegration;
    expect(result.__typename).toBe('ConfigureIntegrationPayload');
    stripeId = result.integration.id;
    const active = await eventually(async () => {
      const res = await server.gql(GET, { id: stripeId }, { token: session });
      expect(res.errors).toBeUndefined();
      return res.data.integration.status === 'ACTIVE' ? res.data.integration : undefined;
    });
    expect(active.provider.name).toBe('stripe');
    // the end user enters the inbound URL at the provider; secrets read as null as for anyone
    expect(active.inboundWebhookUrl).toMatch(new RegExp(`^${server.url}/hooks/stripe/`));
    expect(active.credentialFields.find((f: { key: string }) => f.key === 'secret_key')).toEqual({
      key: 'secret_key',
      sensitive: true,
      isSet: true,
      value: null,
    });
    const list = await server.gql(`{ integrations { totalCount edges { node { id } } } }`, {}, { token: session });
    expect(list.data.integrations).toEqual({ totalCount: 1, edges: [{ node: { id: stripeId } }] });
    // the operator sees who configured it
    const seen = await server.gql(`query($id: ID!) { integration(id: $id) { createdBy } }`, { id: stripeId }, { token: admin });
    expect(seen.data.integration.createdBy).toMatch(/^connect:/);
  });

  it('changes credentials and verifies, but nothing else of the integration', async () => {
    const rotate = await server.gql(
      `mutation($id: ID!) { rotateIntegrationCredentials(input: { id: $id, credentials: { publishable_key: "pk_test_other" } }) {
        __typename } }`,
      { id: stripeId },
      { token: session },
    );
    expect(rotate.data.rotateIntegrationCredentials.__typename).toBe('RotateIntegrationCredentialsPayload');
    const verify = await server.gql(
      `mutation($id: ID!) { verifyIntegration(input: { id: $id }) { __typename } }`,
      { id: stripeId },
      {
        token: session,
      },
    );
    expect(verify.data.verifyIntegration.__typename).toBe('VerifyIntegrationPayload');
    const update = await server.gql(
      `mutation($id: ID!) { updateIntegration(input: { id: $id, metadata: { plan: "x" }, enabledCapabilities: ["verify_payment"] }) {
        __typename ... on ValidationError { fieldErrors { path } } } }`,
      { id: stripeId },
      { token: session },
    );
    expect(update.data.updateIntegration).toEqual({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['enabledCapabilities'] }, { path: ['metadata'] }],
    });
    const withMetadata = await server.gql(
      CONFIGURE,
      { input: { provider: 'sendgrid', credentials: {}, metadata: { a: 1 } } },
      { token: session },
    );
    expect(withMetadata.data.configureIntegration.fieldErrors.map((e: { path: string[] }) => e.path)).toContainEqual(['metadata']);
  });

  it('refuses to configure a provider the session does not allow', async () => {
    const res = await server.gql(CONFIGURE, { input: { provider: 'twilio', credentials: TWILIO } }, { token: session });
    expect(res.data.configureIntegration.__typename).toBe('ValidationError');
    expect(res.data.configureIntegration.fieldErrors[0].path).toEqual(['provider']);
  });

  it('finds no integration of another provider, by any path', async () => {
    const VERSION = `query($id: ID!) { integration(id: $id) { status version } }`;
    const settled = await eventually(async () => {
      const i = (await server.gql(VERSION, { id: twilioId }, { token: admin })).data.integration;
      return i.status === 'ERROR' ? i : undefined;
    });
    const read = await server.gql(
      `query($id: ID!) { integration(id: $id) { id } node(id: $id) { id }
         integrations(provider: "twilio") { totalCount edges { node { id } } }
         provider(name: "stripe") { integration { id } } }`,
      { id: twilioId },
      { token: session },
    );
    expect(read.errors).toBeUndefined();
    expect(read.data.integration).toBeNull();
    expect(read.data.node).toBeNull();
    expect(read.data.integrations).toEqual({ totalCount: 0, edges: [] });
    for (const mutation of ['verifyIntegration']) {
      const res = await server.gql(
        `mutation($id: ID!) { ${mutation}(input: { id: $id }) { __typename } }`,
        { id: twilioId },
        {
          token: session,
        },
      );
      expect(res.data[mutation].__typename).toBe('NotFoundError');
    }
    const update = await server.gql(
      `mutation($id: ID!) { updateIntegration(input: { id: $id, credentials: { auth_token: "x" } }) { __typename } }`,
      { id: twilioId },
      { token: session },
    );
    expect(update.data.updateIntegration.__typename).toBe('NotFoundError');
    // the operator's twilio integration is untouched
    expect((await server.gql(VERSION, { id: twilioId }, { token: admin })).data.integration).toEqual(settled);
  });

  it.each([
    ['webhooks', '{ webhooks { totalCount } }'],
    ['routingRules', '{ routingRules { id } }'],
    ['operations', '{ operations { totalCount } }'],
    ['apiKeys', '{ apiKeys { totalCount } }'],
    ['auditLog', '{ auditLog { totalCount } }'],
    ['events', '{ events { totalCount } }'],
    ['resolveRoute', '{ resolveRoute(capability: "send_sms") { capability } }'],
    ['metadata', 'query($id: ID!) { integration(id: $id) { metadata } }'],
    ['createdBy', 'query($id: ID!) { integration(id: $id) { createdBy } }'],
    ['deleteIntegration', 'mutation($id: ID!) { deleteIntegration(input: { id: $id }) { __typename } }'],
    ['disableIntegration', 'mutation($id: ID!) { disableIntegration(input: { id: $id }) { __typename } }'],
    ['activateIntegration', 'mutation($id: ID!) { activateIntegration(input: { id: $id }) { __typename } }'],
    ['rotateInboundWebhookToken', 'mutation($id: ID!) { rotateInboundWebhookToken(input: { id: $id }) { __typename } }'],
    ['createApiKey', 'mutation { createApiKey(input: { name: "x" }) { __typename } }'],
    [
      'createWebhook',
      'mutation { createWebhook(input: { name: "h", url: "https://example.com/h", eventTypes: ["integration.created"] }) { __typename } }',
    ],
    [
      'createRoutingRule',
      'mutation($id: ID!) { createRoutingRule(input: { capability: "verify_payment", integrationId: $id }) { __typename } }',
    ],
  ])('refuses %s (FORBIDDEN)', async (_name, query) => {
    const res = await server.gql(query, query.includes('$id') ? { id: stripeId } : {}, { token: session });
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // nothing changed
    const integration = await server.gql(
      `query($id: ID!) { integration(id: $id) { status deletedAt } }`,
      { id: stripeId },
      {
        token: admin,
      },
    );
    expect(integration.data.integration.deletedAt).toBeNull();
  });

  it('sees only its own allowed providers, whatever another session of the tenant read before', async () => {
    const twilioSession = await sessionFor(['twilio']);
    const query = '{ integrations { edges { node { provider { name } } } } }';
    // the same document from two sessions of one tenant: answers are not shared between them
    const asStripe = await server.gql(query, {}, { token: session });
    const asTwilio = await server.gql(query, {}, { token: twilioSession });
    expect(asStripe.data.integrations.edges.map((e: any) => e.node.provider.name)).toEqual(['stripe']);
    expect(asTwilio.data.integrations.edges.map((e: any) => e.node.provider.name)).toEqual(['twilio']);
  });

  it('hears status changes of its allowed providers’ integrations only', async () => {
    const query = 'subscription { integrationStatusChanged { id status provider { name } } }';
    const connectEvents: any[] = [];
    const operatorEvents: any[] = [];
    const connect = await subscribeSse(server.url, session, query, (p) => connectEvents.push(p));
    const operator = await subscribeSse(server.url, admin, query, (p) => operatorEvents.push(p));
    expect(connect.response.status).toBe(200);
    try {
      // both streams are open once the operator's hears a change; the Twilio one goes first
      await eventually(async () => {
        await server.gql(`mutation($id: ID!) { verifyIntegration(input: { id: $id }) { __typename } }`, { id: twilioId }, { token: admin });
        return operatorEvents.some((e) => e.data.integrationStatusChanged.id === twilioId) ? true : undefined;
      });
      await server.gql(`mutation($id: ID!) { verifyIntegration(input: { id: $id }) { __typename } }`, { id: stripeId }, { token: session });
      await eventually(async () => (connectEvents.some((e) => e.data.integrationStatusChanged.status === 'ACTIVE') ? true : undefined));
      const names = connectEvents.map((e) => e.data.integrationStatusChanged.provider.name);
      expect(names.length).toBeGreaterThan(0);
      expect(new Set(names)).toEqual(new Set(['stripe']));
    } finally {
      connect.close();
      operator.close();
    }
  });

  it('cannot follow another provider’s integration by its id', async () => {
    const query = 'subscription($id: ID) { integrationStatusChanged(id: $id) { id status } }';
    const refused = await subscriptionAnswer(server.url, session, query, { id: twilioId });
    expect(refused).toMatchObject({ status: 404, stream: false, error: { extensions: { code: 'NOT_FOUND' } } });
    expect((await subscriptionAnswer(server.url, session, query, { id: stripeId })).stream).toBe(true);
  });

  it('works over the WebSocket too, with the same limits', async () => {
    const client = wsClient(session);
    try {
      const providers = await client.iterate({ query: '{ providers { name } }' }).next();
      expect(providers.value.data.providers.map((p: { name: string }) => p.name).sort()).toEqual(['sendgrid', 'stripe']);
      const keys = await client.iterate({ query: '{ apiKeys { totalCount } }' }).next();
      expect(keys.value.errors[0].extensions.code).toBe('FORBIDDEN');
      // another provider's integration is not there to follow
      const other = await client.iterate({ query: `subscription { integrationStatusChanged(id: "${twilioId}") { id } }` }).next();
      expect(other.value.errors[0].extensions.code).toBe('NOT_FOUND');
    } finally {
      await client.dispose();
    }
  });

  it('is refused once expired, as UNAUTHENTICATED', async () => {
    const short = await sessionFor(['stripe'], 60);
    expect((await server.gql('{ connectSession { expiresAt } }', {}, { token: short })).status).toBe(200);
    const { prisma } = server.app.services;
    await inRowScope(prisma, { tenantId: TENANT }, prisma.connectSession.updateMany({ data: { expiresAt: new Date(Date.now() - 1000) } }));
    for (const token of [short, session]) {
      const res = await server.gql('{ providers { name } }', {}, { token });
      expect(res.status).toBe(401);
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(res.errors?.[0]?.message).toMatch(/connect session has expired/);
    }
    const client = wsClient(session);
    try {
      const closed = await client
        .iterate({ query: '{ providers { name } }' })
        .next()
        .then(
          () => undefined,
          (err: { code?: number }) => err.code,
        );
      expect(closed).toBe(4401);
    } finally {
      await client.dispose();
    }
  });
});

it('ends a session’s stream when the session expires', async () => {
  async function* forever() {
    for (;;) {
      yield 1;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const seen: number[] = [];
  for await (const value of untilExpiry(forever(), new Date(Date.now() - 1))) seen.push(value);
  expect(seen.length).toBeLessThanOrEqual(1);
  const live: number[] = [];
  for await (const value of untilExpiry(forever(), new Date(Date.now() + 60_000))) {
    live.push(value);
    if (live.length === 3) break;
  }
  expect(live).toEqual([1, 1, 1]);
});

describe('another tenant', () => {
  it('has its own sessions: one allowed the same provider finds nothing of this tenant, and changes nothing of it', async () => {
    const otherAdmin = await server.token({ tenant_id: 'connect-other-tenant', sub: 'operator' });
    const created = await createSession({ allowedProviders: ['twilio'] }, otherAdmin);
    expect(created.data.createConnectSession.__typename).toBe('CreateConnectSessionPayload');
    const other = created.data.createConnectSession.token;
    const read = await server.gql(
      `query($id: ID!) { viewer { tenantId } integration(id: $id) { id } node(id: $id) { id }
         integrations { totalCount } provider(name: "twilio") { isConfigured integration { id } } }`,
      { id: twilioId },
      { token: other },
    );
    expect(read.errors).toBeUndefined();
    expect(read.data).toEqual({
      viewer: { tenantId: 'connect-other-tenant' },
      integration: null,
      node: null,
      integrations: { totalCount: 0 },
      provider: { isConfigured: false, integration: null },
    });
    const verify = await server.gql(
      `mutation($id: ID!) { verifyIntegration(input: { id: $id }) { __typename } }`,
      { id: twilioId },
      { token: other },
    );
    expect(verify.data.verifyIntegration.__typename).toBe('NotFoundError');
    // this tenant's integration is as it was
    expect((await server.gql(GET, { id: twilioId }, { token: admin })).data.integration.provider.name).toBe('twilio');
  });
});

describe('the connect scope elsewhere', () => {
  it('is granted by no token claim', async () => {
    const token = await server.token({ tenant_id: TENANT, scope: 'connect' });
    const res = await server.gql('{ viewer { scopes } }', {}, { token });
    expect(res.data.viewer.scopes).toEqual([]);
    expect((await server.gql('{ integrations { totalCount } }', {}, { token })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('is not among an unscoped token’s scopes, nor grantable to an API key', async () => {
    const res = await server.gql('{ viewer { scopes } }', {}, { token: admin });
    expect(res.data.viewer.scopes).not.toContain('CONNECT');
    const key = await server.gql(
      `mutation { createApiKey(input: { name: "c", scopes: ["connect"] }) { __typename ... on ValidationError { fieldErrors { path } } } }`,
      {},
      { token: admin },
    );
    expect(key.data.createApiKey).toEqual({ __typename: 'ValidationError', fieldErrors: [{ path: ['scopes', '0'] }] });
  });

  it('refuses malformed and unknown connect tokens', async () => {
    for (const token of ['icp_cs_short', `icp_cs_${'A'.repeat(46)}`]) {
      const res = await server.gql('{ providers { name } }', {}, { token });
      expect(res.status).toBe(401);
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });
});
