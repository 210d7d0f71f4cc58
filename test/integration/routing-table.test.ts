/**
 * The routing table (src/routing/table.ts) against the running service: a repeated resolveRoute
 * costs no SQL; every way a route can change (rule and lifecycle mutations, the verification worker,
 * a write the API never saw, another instance) is seen by the next resolution, or after the
 * announcement; and while the LISTEN connection is lost every resolution reads the database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forTenant } from '../../src/db/tenant.ts';
import { parseGlobalId } from '../../src/errors.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, type Reply, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import { addRule, basicAuth, configureActive, configureIntegration, type Gql, gqlAs } from '../helpers/integrations.ts';

const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
const SID = `AC${'3'.repeat(32)}`;
const TWILIO = { account_sid: SID, auth_token: 'twilio-token', from_number: '+15550000003' };
const PLIVO = { auth_id: 'MAPLIVOID', auth_token: 'plivo-token', from_number: '+15550000004' };

const RESOLVE = `query($c: String!) { resolveRoute(capability: $c) { usedFallback integration { id } rule { id } error { code } } }`;
const UPDATE_RULE = `mutation($input: UpdateRoutingRuleInput!) { updateRoutingRule(input: $input) { __typename } }`;
const DELETE_RULE = `mutation($id: ID!) { deleteRoutingRule(input: { id: $id }) { __typename } }`;
const SEND_SMS = `mutation($input: SendSmsInput!) { sendSms(input: $input) { __typename ... on Error { code } } }`;

/** Twilio's account read (verification) and Messages create, as the real API checks them. */
function twilioFake(req: Seen): Reply {
  if (req.headers.authorization !== basicAuth(SID, 'twilio-token')) return { status: 401, body: { code: 20003 } };
  if (req.method === 'GET' && req.path === `/2010-04-01/Accounts/${SID}.json`) return { status: 200, body: { sid: SID } };
  if (req.method === 'POST' && req.path === `/2010-04-01/Accounts/${SID}/Messages.json`) {
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return { status: 400, body: { message: 'content type' } };
    const form = new URLSearchParams(req.body);
    if ([...form.keys()].sort().join(',') !== 'Body,From,StatusCallback,To') return { status: 400, body: { message: 'fields' } };
    return { status: 201, body: { sid: 'SM0003', status: 'queued' } };
  }
  return { status: 404, body: { message: 'not found' } };
}

function plivoFake(req: Seen): Reply {
  if (req.method === 'GET' && req.path === '/v1/Account/MAPLIVOID/') {
    return req.headers.authorization === basicAuth('MAPLIVOID', 'plivo-token') ? { status: 200, body: {} } : { status: 401 };
  }
  return { status: 404, body: { error: 'not found' } };
}

let server: TestServer;
let twilioApi: FakeApi;
let plivoApi: FakeApi;
const env = () => ({ TWILIO_API_BASE_URL: twilioApi.url, PLIVO_API_BASE_URL: plivoApi.url, VERIFY_RETRY_LIMIT: '0' });

beforeAll(async () => {
  twilioApi = await startFakeApi(twilioFake);
  plivoApi = await startFakeApi(plivoFake);
  server = await startTestServer(env());
});

afterAll(async () => {
  await server?.close();
  await twilioApi?.close();
  await plivoApi?.close();
});

interface Resolution {
  integration: string | null;
  usedFallback: boolean;
  error: string | null;
  /** SQL statements the whole server sent meanwhile (a queue job may add some). */
  statements: number;
}

/** A tenant with its caller, over HTTP on `on`. */
async function tenant(name: string, on = server) {
  const token = await on.token({ tenant_id: name });
  const gql: Gql = gqlAs(on, { token });
  const resolve = async (capability = 'send_sms', via = on): Promise<Resolution> => {
    const before = via.queries.length;
    const res = await via.gql(RESOLVE, { c: capability }, { token });
    expect(res.errors).toBeUndefined();
    const r = res.data.resolveRoute;
    return {
      integration: r.integration?.id ?? null,
      usedFallback: r.usedFallback,
      error: r.error?.code ?? null,
      statements: via.queries.length - before,
    };
  };
  /** Waits until a resolution is given from memory (no SQL), and checks what it gives. */
  const kept = async (integration: string | null, via = on) => {
    const r = await eventually(
      async () => {
        const r = await resolve('send_sms', via);
        return r.statements === 0 ? r : undefined;
      },
      10_000,
      'a resolution without SQL',
    );
    expect(r.integration).toBe(integration);
  };
  return { token, gql, resolve, kept };
}

/** The statements that read routing rules since `before`. */
const ruleReads = (before: number) => server.queries.slice(before).filter((q) => /^\s*SELECT/i.test(q) && q.includes('"RoutingRule"'));

const lifecycle = async (gql: Gql, name: string, id: string) =>
  expect((await gql(`mutation($id: ID!) { ${name}(input: { id: $id }) { __typename } }`, { id }))[name].__typename).toMatch(/Payload$/);

describe('a repeated resolveRoute', () => {
  it('costs no SQL, and concurrent first resolutions read the rules once', async () => {
    const t = await tenant('table-repeat');
    const { id: twilio } = await configureActive(t.gql, 'twilio', TWILIO);
    await addRule(t.gql, { capability: 'send_sms', integrationId: twilio });
    const first = await t.resolve();
    expect(first).toMatchObject({ integration: twilio, usedFallback: false, error: null });
    expect(first.statements).toBeGreaterThan(0);
    await t.kept(twilio);
    expect(await t.resolve()).toEqual({ ...first, statements: 0 });

    // a capability not asked for yet, at a version that has settled (the resolution above was kept)
    const before = server.queries.length;
    const all = await Promise.all(Array.from({ length: 8 }, () => t.resolve('send_email')));
    expect(all.map((r) => r.error)).toEqual(Array(8).fill('NO_ACTIVE_PROVIDER'));
    expect(ruleReads(before)).toHaveLength(1);
  });
});

describe('a change made through this instance', () => {
  it('is seen by the very next resolution: rule mutations, disable and activate', async () => {
    const t = await tenant('table-mutations');
    const { id: twilio } = await configureActive(t.gql, 'twilio', TWILIO);
    const { id: plivo } = await configureActive(t.gql, 'plivo', PLIVO);
    const onTwilio = await addRule(t.gql, { capability: 'send_sms', integrationId: twilio, priority: 100 });
    await t.kept(twilio);

    const onPlivo = await addRule(t.gql, { capability: 'send_sms', integrationId: plivo, priority: 50 });
    expect((await t.resolve()).integration).toBe(plivo);
    await t.kept(plivo);

    await t.gql(UPDATE_RULE, { input: { id: onPlivo, priority: 150 } });
    expect((await t.resolve()).integration).toBe(twilio);
    await t.kept(twilio);

    await t.gql(DELETE_RULE, { id: onTwilio });
    expect((await t.resolve()).integration).toBe(plivo);
    await t.kept(plivo);

    await lifecycle(t.gql, 'disableIntegration', plivo);
    expect(await t.resolve()).toMatchObject({ integration: null, error: 'NO_ACTIVE_PROVIDER' });
    await t.kept(null);

    await lifecycle(t.gql, 'activateIntegration', plivo);
    expect((await t.resolve()).integration).toBe(plivo);
  });

  it('by the verification worker is seen by the very next resolution', async () => {
    const t = await tenant('table-worker');
    let answer!: () => void;
    const held = new Promise<void>((resolve) => (answer = resolve));
    twilioApi.route = async (req) => {
      await held;
      return twilioFake(req);
    };
    try {
      const seen = twilioApi.seen.length;
      const { id: twilio } = await configureIntegration(t.gql, 'twilio', TWILIO);
      await addRule(t.gql, { capability: 'send_sms', integrationId: twilio });
      // the worker holds the call: PENDING_VERIFY routes nowhere, and that is kept
      await eventually(async () => (twilioApi.seen.length > seen ? true : undefined), 10_000, 'the verification call');
      await t.kept(null);
      answer();
      // the status read past the response cache: the worker has committed
      await eventually(
        async () => {
          const res = await server.gql(
            `query($id: ID!) { integration(id: $id) { status } }`,
            { id: twilio },
            {
              token: t.token,
              headers: { 'cache-control': 'no-cache' },
            },
          );
          return res.data.integration.status === 'ACTIVE' ? true : undefined;
        },
        10_000,
        'ACTIVE',
        5,
      );
      expect((await t.resolve()).integration).toBe(twilio);
    } finally {
      answer();
      twilioApi.route = twilioFake;
    }
  });

  it('is what sendSms checks at once: refused while no candidate is ACTIVE, accepted again after', async () => {
    const t = await tenant('table-sms');
    const { id: twilio } = await configureActive(t.gql, 'twilio', TWILIO);
    await addRule(t.gql, { capability: 'send_sms', integrationId: twilio });
    const send = async () => (await t.gql(SEND_SMS, { input: { to: '+15551230003', body: 'hi' } })).sendSms;
    expect(await send()).toEqual({ __typename: 'SendSmsPayload' });
    await t.kept(twilio);
    await lifecycle(t.gql, 'disableIntegration', twilio);
    expect(await send()).toEqual({ __typename: 'NoActiveProviderError', code: 'NO_ACTIVE_PROVIDER' });
    // the check is the table's: once it is kept again, a refusal reads no rule
    await t.kept(null);
    const before = server.queries.length;
    expect(await send()).toEqual({ __typename: 'NoActiveProviderError', code: 'NO_ACTIVE_PROVIDER' });
    expect(ruleReads(before)).toEqual([]);
    await lifecycle(t.gql, 'activateIntegration', twilio);
    expect(await send()).toEqual({ __typename: 'SendSmsPayload' });
  });
});

describe('with no announcement at all (the triggers off)', () => {
  it('a mutation or a verification result of this instance is still seen by its next resolution', async () => {
    const quiet = await startTestServer(env());
    try {
      await quiet.app.database.asOwner(async (owner) => {
        for (const table of ['Integration', 'RoutingRule']) {
          await owner.prisma.$executeRawUnsafe(`ALTER TABLE "${table}" DISABLE TRIGGER announce_change`);
        }
      });
      const t = await tenant('table-quiet', quiet);
      const { id: plivo } = await configureActive(t.gql, 'plivo', PLIVO);
      let answer!: () => void;
      const held = new Promise<void>((resolve) => (answer = resolve));
      twilioApi.route = async (req) => {
        await held;
        return twilioFake(req);
      };
      let twilio: string;
      try {
        ({ id: twilio } = await configureIntegration(t.gql, 'twilio', TWILIO));
        await addRule(t.gql, { capability: 'send_sms', integrationId: twilio, fallbackIntegrationId: plivo });
        expect(await t.resolve()).toMatchObject({ integration: plivo, usedFallback: true });
        await t.kept(plivo);
        answer();
        // nothing announces the verdict: only the worker's own word moves the version (else 60 s)
        await eventually(async () => ((await t.resolve()).integration === twilio ? true : undefined), 10_000, 'the verdict', 10);
      } finally {
        answer();
        twilioApi.route = twilioFake;
      }
      await t.kept(twilio);

      await lifecycle(t.gql, 'disableIntegration', twilio);
      expect(await t.resolve()).toMatchObject({ integration: plivo, usedFallback: true });
    } finally {
      await quiet.close();
    }
  });
});

describe('a change the API never saw', () => {
  it('of a rule or an integration is seen once the database announces it', async () => {
    const t = await tenant('table-outside');
    const { id: twilio } = await configureActive(t.gql, 'twilio', TWILIO);
    const { id: plivo } = await configureActive(t.gql, 'plivo', PLIVO);
    await addRule(t.gql, { capability: 'send_sms', integrationId: twilio, priority: 100 });
    const onPlivo = await addRule(t.gql, { capability: 'send_sms', integrationId: plivo, priority: 200 });
    await t.kept(twilio);

    const db = forTenant(server.app.services.prisma, 'table-outside');
    await db.routingRule.update({ where: { id: parseGlobalId('RoutingRule', onPlivo) }, data: { priority: 1, version: { increment: 1 } } });
    await eventually(async () => ((await t.resolve()).integration === plivo ? true : undefined), 5_000, 'the rule announcement', 10);
    await t.kept(plivo);

    await db.integration.update({
      where: { id: parseGlobalId('Integration', plivo) },
      data: { status: 'INACTIVE', version: { increment: 1 } },
    });
    await eventually(
      async () => ((await t.resolve()).integration === twilio ? true : undefined),
      5_000,
      'the integration announcement',
      10,
    );
  });
});

describe('another tenant', () => {
  it('never gets this tenant’s route, for the same capability at the same moment', async () => {
    const owner = await tenant('table-owner');
    const { id: twilio } = await configureActive(owner.gql, 'twilio', TWILIO);
    await addRule(owner.gql, { capability: 'send_sms', integrationId: twilio });
    await owner.kept(twilio);
    const other = await tenant('table-stranger');
    for (let i = 0; i < 3; i++) expect(await other.resolve()).toMatchObject({ integration: null, error: 'NO_ACTIVE_PROVIDER' });
    await other.kept(null);
    const { id: own } = await configureActive(other.gql, 'plivo', PLIVO);
    await addRule(other.gql, { capability: 'send_sms', integrationId: own });
    expect((await other.resolve()).integration).toBe(own);
    await owner.kept(twilio);
  });
});

/** A superuser connection to a test server's own database (the suite's server is run as one). */
async function adminOf(of: TestServer) {
  const pg = (await import('pg')).default;
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = new URL(of.databaseUrl!).pathname;
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  return admin;
}

it.skipIf(!onPostgres)(
  'while the LISTEN connection is lost, every resolution reads the database, until it listens again',
  async () => {
    const t = await tenant('table-deaf');
    const { id: twilio } = await configureActive(t.gql, 'twilio', TWILIO);
    const { id: plivo } = await configureActive(t.gql, 'plivo', PLIVO);
    await addRule(t.gql, { capability: 'send_sms', integrationId: twilio, priority: 100 });
    const onPlivo = parseGlobalId('RoutingRule', await addRule(t.gql, { capability: 'send_sms', integrationId: plivo, priority: 200 }));
    await t.kept(twilio);

    const admin = await adminOf(server);
    const database = new URL(server.databaseUrl!).pathname.slice(1);
    /** A rule write with triggers off (replication role): nobody announces it. */
    const unannounced = async (priority: number) => {
      await admin.query(`SET session_replication_role = replica`);
      await admin.query(`UPDATE "RoutingRule" SET priority = $1 WHERE id = $2`, [priority, onPlivo]);
      await admin.query(`SET session_replication_role = DEFAULT`);
    };
    try {
      await unannounced(1);
      // kept: the table cannot know
      expect(await t.resolve()).toMatchObject({ integration: twilio, statements: 0 });

      // the LISTEN connection dies and cannot come back (the pooled connections stay open)
      await admin.query(`ALTER DATABASE "${database}" CONNECTION LIMIT 0`);
      const { rows } = await admin.query(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'icp-pubsub-listen' AND datname = current_database()`,
      );
      expect(rows).toEqual([{ ok: true }]);
      await eventually(async () => ((await t.resolve()).integration === plivo ? true : undefined), 5_000, 'the loss to be seen', 20);
      for (let i = 0; i < 3; i++) {
        const r = await t.resolve();
        expect(r.integration).toBe(plivo);
        expect(r.statements).toBeGreaterThan(0);
      }
      // an unannounced change meanwhile is read by the very next resolution
      await unannounced(300);
      expect((await t.resolve()).integration).toBe(twilio);
      expect(server.logs.join('')).not.toContain('pub/sub LISTEN connection restored');
    } finally {
      await admin.query(`ALTER DATABASE "${database}" CONNECTION LIMIT -1`);
      await admin.end();
    }
    await eventually(
      async () => (server.logs.join('').includes('pub/sub LISTEN connection restored') ? true : undefined),
      15_000,
      'LISTEN again',
      50,
    );
    await t.kept(twilio);
  },
  45_000,
);

it.skipIf(!onPostgres)('a rule changed through another instance is seen within the announcement delay', async () => {
  const b = await startTestServer(env(), { shareDatabaseWith: server });
  try {
    const onA = await tenant('table-instances');
    const { id: twilio } = await configureActive(onA.gql, 'twilio', TWILIO);
    const { id: plivo } = await configureActive(onA.gql, 'plivo', PLIVO);
    await addRule(onA.gql, { capability: 'send_sms', integrationId: twilio, priority: 100 });
    const onPlivo = await addRule(onA.gql, { capability: 'send_sms', integrationId: plivo, priority: 200 });
    await onA.kept(twilio, b);

    await onA.gql(UPDATE_RULE, { input: { id: onPlivo, priority: 1 } });
    const heard = await eventually(
      async () => {
        const r = await onA.resolve('send_sms', b);
        return r.integration === plivo ? r : undefined;
      },
      3_000,
      'B to resolve to the changed rule',
      10,
    );
    expect(heard.usedFallback).toBe(false);
    await onA.kept(plivo, b);
  } finally {
    await b.close();
  }
});
