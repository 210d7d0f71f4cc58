/**
 * Routing rules over HTTP: which integration serves a capability, with priority, default and
 * fallback; only ACTIVE integrations are ever chosen. Twilio and Plivo are loopback fakes that
 * accept their real verification call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import {
  basicAuth,
  CREATE_ROUTING_RULE as CREATE,
  configureActive,
  configureIntegration,
  createRule as createRuleAs,
  type Gql,
  gqlAs,
  ROUTING_RULE_FIELDS as RULE,
  waitForActive,
} from '../helpers/integrations.ts';

const SID = `AC${'1'.repeat(32)}`;

let server: TestServer;
let twilioApi: FakeApi;
let plivoApi: FakeApi;
let token: string;
let twilio: string;
let plivo: string;
let stripe: string;

const ERRORS = `... on Error { __typename code message } ... on ValidationError { fieldErrors { path message } }`;
const UPDATE = `mutation($input: UpdateRoutingRuleInput!) { updateRoutingRule(input: $input) {
  __typename ... on UpdateRoutingRulePayload { routingRule { ${RULE} } } ${ERRORS} } }`;
const DELETE = `mutation($id: ID!) { deleteRoutingRule(input: { id: $id }) { __typename ... on DeleteRoutingRulePayload { deletedId } ... on Error { code } } }`;
const RESOLVE = `query($c: String!) { resolveRoute(capability: $c) { capability usedFallback integration { id }
  rule { id } error { __typename code message } } }`;

/** The GraphQL of the tenant of `tok` (the "routing" tenant's admin by default). */
const as = (tok = token): Gql => gqlAs(server, { token: tok });

async function lifecycle(name: string, id: string) {
  const res = await server.gql(`mutation($id: ID!) { ${name}(input: { id: $id }) { __typename } }`, { id }, { token });
  expect(res.data[name].__typename).toMatch(/Payload$/);
}

async function createRule(input: Record<string, unknown>, tok = token) {
  return createRuleAs(as(tok), input);
}

async function resolve(capability: string, tok = token) {
  return (await server.gql(RESOLVE, { c: capability }, { token: tok })).data.resolveRoute;
}

beforeAll(async () => {
  twilioApi = await startFakeApi((req: Seen) =>
    req.path === `/2010-04-01/Accounts/${SID}.json` && req.headers.authorization === basicAuth(SID, 'twilio-token')
      ? { status: 200, body: { sid: SID, status: 'active' } }
      : { status: 401, body: { code: 20003 } },
  );
  plivoApi = await startFakeApi((req: Seen) =>
    req.path === '/v1/Account/MAPLIVOID/' && req.headers.authorization === basicAuth('MAPLIVOID', 'plivo-token')
      ? { status: 200, body: { account_type: 'standard' } }
      : { status: 401 },
  );
  server = await startTestServer({
    TWILIO_API_BASE_URL: twilioApi.url,
    PLIVO_API_BASE_URL: plivoApi.url,
    STRIPE_API_BASE_URL: 'http://127.0.0.1:9', // never ACTIVE: only used for validation
  });
  token = await server.token({ tenant_id: 'routing' });
  ({ id: twilio } = await configureActive(as(), 'twilio', { account_sid: SID, auth_token: 'twilio-token', from_number: '+15005550006' }));
  ({ id: plivo } = await configureActive(as(), 'plivo', { auth_id: 'MAPLIVOID', auth_token: 'plivo-token', from_number: '+15005550007' }));
  ({ id: stripe } = await configureIntegration(as(), 'stripe', { publishable_key: 'pk_test_a', secret_key: 'sk_test_a' }));
});

afterAll(async () => {
  await server?.close();
  await twilioApi?.close();
  await plivoApi?.close();
});

describe('routing rules', () => {
  let primaryRule: string;

  it('NO_ACTIVE_PROVIDER when no rule exists, naming the capability', async () => {
    const r = await resolve('send_sms');
    expect(r).toMatchObject({ capability: 'send_sms', integration: null, usedFallback: false, rule: null });
    expect(r.error).toMatchObject({ __typename: 'NoActiveProviderError', code: 'NO_ACTIVE_PROVIDER' });
    expect(r.error.message).toContain('"send_sms"');
  });

  it('chooses the primary while it is ACTIVE', async () => {
    const created = await createRule({ capability: 'send_sms', integrationId: twilio, fallbackIntegrationId: plivo });
    expect(created.__typename).toBe('CreateRoutingRulePayload');
    expect(created.routingRule).toMatchObject({ capability: 'send_sms', priority: 100, isDefault: false, version: 1 });
    primaryRule = created.routingRule.id;
    expect(await resolve('send_sms')).toMatchObject({
      integration: { id: twilio },
      usedFallback: false,
      rule: { id: primaryRule },
      error: null,
    });
  });

  it('uses the fallback when the primary is disabled, and the primary again once it is back', async () => {
    await lifecycle('disableIntegration', twilio);
    expect(await resolve('send_sms')).toMatchObject({ integration: { id: plivo }, usedFallback: true });
    await lifecycle('activateIntegration', twilio);
    expect(await resolve('send_sms')).toMatchObject({ integration: { id: twilio }, usedFallback: false });
  });

  it('never chooses an integration that is PENDING_VERIFY or ERROR', async () => {
    twilioApi.route = () => ({ status: 401 });
    try {
      await lifecycle('verifyIntegration', twilio);
      expect(await resolve('send_sms')).toMatchObject({ integration: { id: plivo }, usedFallback: true }); // PENDING_VERIFY
      await eventually(async () => {
        const res = await server.gql(`query($id: ID!) { integration(id: $id) { status } }`, { id: twilio }, { token });
        return res.data.integration.status === 'ERROR' ? true : undefined;
      });
      expect(await resolve('send_sms')).toMatchObject({ integration: { id: plivo }, usedFallback: true });
      await lifecycle('disableIntegration', plivo);
      expect((await resolve('send_sms')).error.code).toBe('NO_ACTIVE_PROVIDER');
      await lifecycle('activateIntegration', plivo);
    } finally {
      twilioApi.route = (req: Seen) =>
        req.headers.authorization === basicAuth(SID, 'twilio-token') ? { status: 200, body: {} } : { status: 401 };
    }
    await lifecycle('verifyIntegration', twilio);
    await waitForActive(as(), twilio);
  });

  it('walks the default rule first, then by priority (lower first)', async () => {
    const low = await createRule({ capability: 'send_sms', integrationId: plivo, priority: 10 });
    expect((await resolve('send_sms')).integration.id).toBe(plivo); // priority 10 beats 100
    const def = await createRule({ capability: 'send_sms', integrationId: twilio, priority: 500, isDefault: true });
    expect(def.routingRule.isDefault).toBe(true);
    expect(await resolve('send_sms')).toMatchObject({ integration: { id: twilio }, rule: { id: def.routingRule.id } });
    const list = await server.gql(`{ routingRules(capability: "send_sms") { id isDefault priority } }`, {}, { token });
    expect(list.data.routingRules.map((r: { id: string }) => r.id)).toEqual([def.routingRule.id, low.routingRule.id, primaryRule]);

    const second = await createRule({ capability: 'send_sms', integrationId: plivo, isDefault: true });
    expect(second).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });

    await server.gql(DELETE, { id: def.routingRule.id }, { token });
    await server.gql(DELETE, { id: low.routingRule.id }, { token });
    expect((await resolve('send_sms')).rule.id).toBe(primaryRule);
  });

  it('updates a rule with expectedVersion, and can remove its fallback', async () => {
    const stale = await server.gql(UPDATE, { input: { id: primaryRule, priority: 5, expectedVersion: 99 } }, { token });
    expect(stale.data.updateRoutingRule).toMatchObject({ __typename: 'ConflictError', code: 'VERSION_CONFLICT' });
    const updated = await server.gql(
      UPDATE,
      { input: { id: primaryRule, priority: 5, fallbackIntegrationId: null, expectedVersion: 1 } },
      { token },
    );
    expect(updated.data.updateRoutingRule.routingRule).toMatchObject({ priority: 5, version: 2, fallbackIntegration: null });
    const back = await server.gql(UPDATE, { input: { id: primaryRule, fallbackIntegrationId: plivo } }, { token });
    expect(back.data.updateRoutingRule.routingRule.fallbackIntegration).toEqual({ id: plivo });
  });

  it('deleteIntegration reports the rules that named it; they no longer select it', async () => {
    const other = await server.token({ tenant_id: 'routing-delete' });
    const { id: t } = await configureActive(as(other), 'twilio', {
      account_sid: SID,
      auth_token: 'twilio-token',
      from_number: '+15005550006',
    });
    const { id: p } = await configureActive(as(other), 'plivo', {
      auth_id: 'MAPLIVOID',
      auth_token: 'plivo-token',
      from_number: '+15005550007',
    });
    const rule = (await createRule({ capability: 'send_sms', integrationId: t, fallbackIntegrationId: p }, other)).routingRule;
    const res = await server.gql(
      `mutation($id: ID!) { deleteIntegration(input: { id: $id }) { ... on DeleteIntegrationPayload { deletedId affectedRoutingRules { id } } } }`,
      { id: t },
      { token: other },
    );
    expect(res.data.deleteIntegration).toEqual({ deletedId: t, affectedRoutingRules: [{ id: rule.id }] });
    expect(await resolve('send_sms', other)).toMatchObject({ integration: { id: p }, usedFallback: true });
    const refs = await server.gql(`query($id: ID!) { integration(id: $id) { routingRules { id } } }`, { id: p }, { token: other });
    expect(refs.data.integration.routingRules).toEqual([{ id: rule.id }]);
  });

  it('records rule changes as events', async () => {
    const res = await server.gql(`{ events(first: 100, type: "routing_rule.created") { totalCount } eventTypes }`, {}, { token });
    expect(res.data.events.totalCount).toBeGreaterThanOrEqual(3);
    expect(res.data.eventTypes).toEqual(expect.arrayContaining(['routing_rule.created', 'routing_rule.updated', 'routing_rule.deleted']));
  });

  it('resolves in one SQL statement however many rules there are, and again in none (src/routing/table.ts)', async () => {
    for (let i = 0; i < 20; i++) await createRule({ capability: 'send_whatsapp', integrationId: twilio, priority: 200 + i });
    const statementsOf = async () => {
      const before = server.queries.length;
      const r = await resolve('send_whatsapp');
      expect(r.integration.id).toBe(twilio);
      return server.queries.slice(before).filter((q) => !/^(BEGIN|COMMIT|-- Implicit|SELECT 1|SELECT set_config)/i.test(q.trim()));
    };
    expect(await statementsOf()).toHaveLength(1);
    // the count is the whole server's: a job of the queue may add a statement to one resolution
    await eventually(async () => ((await statementsOf()).length === 0 ? true : undefined), 5_000, 'a resolution without SQL');
  });
});

it('lists integrations with their rules in a number of statements that does not grow with them (no N+1)', async () => {
  const query = `{ integrations(first: 50) { totalCount edges { node { provider { name } routingRules { id integration { id } } } } } }`;
  const count = async () => {
    const before = server.queries.length;
    const res = await server.gql(query, {}, { token });
    expect(res.errors).toBeUndefined();
    return server.queries.slice(before).filter((q) => !/^(BEGIN|COMMIT|-- Implicit|SELECT set_config)/i.test(q.trim())).length;
  };
  // the lowest of a few runs: background work (verification jobs) may add statements to one
  const settled = async () => Math.min(await count(), await count(), await count());
  const few = await settled();
  for (let i = 0; i < 10; i++) await createRule({ capability: 'send_sms', integrationId: i % 2 ? twilio : plivo, priority: 300 + i });
  expect(await settled()).toBe(few);
  expect(few).toBeLessThanOrEqual(5);
});

describe('validation and access', () => {
  it.each([
    [{ capability: 'teleport', integrationId: () => twilio }, ['capability'], /^unknown capability \(known: .*\bsend_sms\b.*\)$/],
    [{ capability: 'send_sms', integrationId: () => stripe }, ['integrationId'], /stripe does not support "send_sms"/],
    [
      { capability: 'send_sms', integrationId: () => twilio, fallbackIntegrationId: () => twilio },
      ['fallbackIntegrationId'],
      /must differ/,
    ],
    [
      { capability: 'send_whatsapp', integrationId: () => twilio, fallbackIntegrationId: () => plivo },
      ['fallbackIntegrationId'],
      /plivo does not support "send_whatsapp"/,
    ],
    [{ capability: 'send_sms', integrationId: () => twilio, priority: -1 }, ['priority'], /0 to 1000000/],
  ])('VALIDATION with the field path (%#)', async (raw, path, message) => {
    const input = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === 'function' ? v() : v]));
    const res = await createRule(input);
    expect(res.code).toBe('VALIDATION');
    expect(res.fieldErrors.find((e: { path: string[] }) => e.path.join() === path.join())?.message).toMatch(message);
  });

  it('refuses a capability the integration has not enabled', async () => {
    const tok = await server.token({ tenant_id: 'routing-caps' });
    const { id } = await configureIntegration(as(tok), 'twilio', {
      account_sid: SID,
      auth_token: 'twilio-token',
      from_number: '+15005550006',
    });
    await server.gql(
      `mutation($id: ID!) { updateIntegration(input: { id: $id, enabledCapabilities: ["send_sms"] }) { __typename } }`,
      { id },
      { token: tok },
    );
    const res = await createRule({ capability: 'send_whatsapp', integrationId: id }, tok);
    expect(res.fieldErrors[0]).toEqual({
      path: ['integrationId'],
      message: 'the twilio integration does not have "send_whatsapp" enabled',
    });
  });

  it('another tenant’s integrations and rules are NOT_FOUND', async () => {
    const stranger = await server.token({ tenant_id: 'routing-stranger' });
    expect(await createRule({ capability: 'send_sms', integrationId: twilio }, stranger)).toMatchObject({ __typename: 'NotFoundError' });
    const mine = await server.gql(`{ routingRules { id } }`, {}, { token });
    const ruleId = mine.data.routingRules[0].id;
    const upd = await server.gql(UPDATE, { input: { id: ruleId, priority: 1 } }, { token: stranger });
    expect(upd.data.updateRoutingRule.__typename).toBe('NotFoundError');
    const del = await server.gql(DELETE, { id: ruleId }, { token: stranger });
    expect(del.data.deleteRoutingRule.code).toBe('NOT_FOUND');
    expect((await server.gql(`{ routingRules { id } }`, {}, { token: stranger })).data.routingRules).toEqual([]);
    expect((await resolve('send_sms', stranger)).error.code).toBe('NO_ACTIVE_PROVIDER');
  });

  it('a read-only scope can resolve but not change rules; anonymous callers get 401', async () => {
    const reader = await server.token({ tenant_id: 'routing', scope: 'integrations:read' });
    expect((await resolve('send_sms', reader)).integration).not.toBeNull();
    const res = await server.gql(CREATE, { input: { capability: 'send_sms', integrationId: twilio } }, { token: reader });
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anon = await server.gql(CREATE, { input: { capability: 'send_sms', integrationId: twilio } });
    expect(anon.status).toBe(401);
    const some = (await server.gql(`{ routingRules { id } }`, {}, { token })).data.routingRules[0].id;
    expect((await server.gql(UPDATE, { input: { id: some, priority: 1 } })).status).toBe(401);
    expect((await server.gql(DELETE, { id: some })).status).toBe(401);
    expect((await server.gql(UPDATE, { input: { id: some, priority: 1 } }, { token: reader })).errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect((await server.gql(RESOLVE, { c: 'send_sms' })).status).toBe(401);
  });
});
