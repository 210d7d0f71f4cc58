/**
 * Retention of operation payloads (OPERATION_RETENTION_DAYS) on a database that outlives the
 * service (a data directory, or on PostgreSQL a database whose schema another role owns): the
 * input and result of operations that ended long enough ago are removed across tenants through
 * the owner's SQL function, as the service's role; the records stay and read as purged; what
 * ended lately or has not ended keeps its payloads; the service's role cannot clear payloads by
 * naming the maintenance task itself; a worker process purges at start.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { forTenant } from '../../src/db/tenant.ts';
import { tryParseGlobalId } from '../../src/ids.ts';
import { createLogger } from '../../src/log.ts';
import { purgeOperationPayloads } from '../../src/operations/retention.ts';
import { createTestDatabase, eventually, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.ts';
import { type FakeApi, type Reply, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import { addRule, basicAuth, configureActive, type Gql, gqlAt, urlOf } from '../helpers/integrations.ts';

const SID = `AC${'3'.repeat(32)}`;
const DAY_MS = 86_400_000;
const TENANT_A = 'retention-a';
const TENANT_B = 'retention-b';
/** A body the fake Twilio answers 503 to: that operation waits QUEUED for its next walk. */
const UNAVAILABLE = 'twilio is down for this one';
const onPostgres = Boolean(process.env.TEST_DATABASE_URL);

const OPERATION = `id status capability attemptCount providerReference input result purgedAt completedAt
  attempts { attemptNumber outcome httpStatus }`;

let dataDir: string;
let database: { url: string; ownerUrl?: string; drop(): Promise<void> } | undefined;
let twilioApi: FakeApi;
let app: App | undefined;
let sent = 0;

/** Twilio's Messages API as far as sending needs: account check, Basic auth, the form fields. */
function twilioFake(req: Seen): Reply {
  if (req.headers.authorization !== basicAuth(SID, 'twilio-token')) return { status: 401, body: { code: 20003 } };
  if (req.method === 'GET' && req.path === `/2010-04-01/Accounts/${SID}.json`) return { status: 200, body: { sid: SID } };
  if (req.method === 'POST' && req.path === `/2010-04-01/Accounts/${SID}/Messages.json`) {
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return { status: 400, body: { message: 'content type' } };
    const form = new URLSearchParams(req.body);
    if ([...form.keys()].sort().join(',') !== 'Body,From,StatusCallback,To') return { status: 400, body: { message: 'fields' } };
    if (form.get('Body') === UNAVAILABLE) return { status: 503, body: { message: 'Service unavailable' } };
    return { status: 201, body: { sid: `SM${String(++sent).padStart(32, '0')}`, status: 'queued' } };
  }
  return { status: 404, body: { message: 'not found' } };
}

/** Starts the service on the test's database (a restart keeps every row). */
async function start(env: Record<string, string> = {}): Promise<App> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    LOG_LEVEL: 'silent',
    TWILIO_API_BASE_URL: twilioApi.url,
    // an operation whose walk failed waits an hour for the next one: QUEUED, not ended
    OPERATION_RETRY_SCHEDULE: '1h',
    // the records outlive their payloads here: DATA_RETENTION (default 30d) would remove them too
    DATA_RETENTION: '3650d',
    // the purge runs at start only: a timed run (every 48–72 s by default) would clear the rows
    // backdated here before the test reads them, as it did once on a slow CI run
    RETENTION_PURGE_INTERVAL_SECONDS: '86400',
    ...(database ? { DATABASE_URL: database.url, DATABASE_MIGRATION_URL: database.ownerUrl! } : { DATA_DIR: dataDir }),
    ...env,
  });
  app = await createApp(config, { logger: createLogger('silent'), pollingIntervalSeconds: 0.5 });
  await app.listen();
  return app;
}

async function stop() {
  await app?.close();
  app = undefined;
}

/** As an admin of `tenant`, on the service running now. */
function gql(tenant: string, query: string, variables: Record<string, unknown> = {}) {
  return gqlAt(urlOf(app!), { tenant_id: tenant, scope: 'admin' })(query, variables);
}

/** Twilio configured (and ACTIVE) for the tenant, routing send_sms. */
async function routeSmsThroughTwilio(tenant: string) {
  const admin: Gql = (query, variables) => gql(tenant, query, variables);
  const { id } = await configureActive(admin, 'twilio', { account_sid: SID, auth_token: 'twilio-token', from_number: '+15550000001' });
  await addRule(admin, { capability: 'send_sms', integrationId: id });
}

interface Sent {
  id: string;
  /** The row's own id. */
  rowId: string;
}

async function sendSms(tenant: string, body: string, waitSeconds = 10): Promise<Sent> {
  const data = await gql(
    tenant,
    `mutation($input: SendSmsInput!) { sendSms(input: $input) { __typename ... on SendSmsPayload { operation { id status } } } }`,
    { input: { to: '+15551230000', body, waitSeconds } },
  );
  expect(data.sendSms.__typename).toBe('SendSmsPayload');
  const id = data.sendSms.operation.id as string;
  return { id, rowId: tryParseGlobalId('Operation', id)! };
}

const readOperation = async (tenant: string, op: Sent) =>
  (await gql(tenant, `query($id: ID!) { operation(id: $id) { ${OPERATION} } }`, { id: op.id })).operation;

/** Moves an operation's end (and start) back by `days`, as its own tenant. */
async function endedDaysAgo(tenant: string, op: Sent, days: number) {
  const row = await forTenant(app!.database.prisma, tenant).operation.findUniqueOrThrow({ where: { id: op.rowId } });
  const back = (d: Date | null) => (d ? new Date(d.getTime() - days * DAY_MS) : null);
  await forTenant(app!.database.prisma, tenant).operation.update({
    where: { id: op.rowId },
    data: { createdAt: back(row.createdAt)!, completedAt: back(row.completedAt) },
  });
}

const storedRow = (tenant: string, op: Sent) =>
  forTenant(app!.database.prisma, tenant).operation.findUniqueOrThrow({ where: { id: op.rowId } });

let old: Sent;
let recent: Sent;
let waiting: Sent;
let otherTenantOld: Sent;
let before: any;

beforeAll(async () => {
  twilioApi = await startFakeApi(twilioFake);
  dataDir = await mkdtemp(path.join(tmpdir(), 'icp-retention-'));
  if (process.env.TEST_DATABASE_URL) database = await createTestDatabase(process.env.TEST_DATABASE_URL, true);
  await start();
  await routeSmsThroughTwilio(TENANT_A);
  await routeSmsThroughTwilio(TENANT_B);

  old = await sendSms(TENANT_A, 'an old message');
  recent = await sendSms(TENANT_A, 'a recent message');
  waiting = await sendSms(TENANT_A, UNAVAILABLE, 0);
  otherTenantOld = await sendSms(TENANT_B, 'an old message of another tenant');
  await eventually(async () => ((await readOperation(TENANT_A, waiting)).attemptCount === 1 ? true : undefined));
  expect((await readOperation(TENANT_A, waiting)).status).toBe('QUEUED');

  // the purge the service ran at start has ended (it queues behind a run in progress) before
  // anything is backdated: only the calls below may clear what is
  await app!.retention!.purgeOnce();
  await endedDaysAgo(TENANT_A, old, 31);
  await endedDaysAgo(TENANT_B, otherTenantOld, 31);
  // started long ago, and still not ended
  await endedDaysAgo(TENANT_A, waiting, 31);
  before = await readOperation(TENANT_A, old);
}, 120_000);

afterAll(async () => {
  await stop();
  await database?.drop();
  await twilioApi?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('operation retention', () => {
  it('ended operations hold their input and result until then', () => {
    expect(before).toMatchObject({
      status: 'SUCCEEDED',
      input: { to: '+15551230000', body: 'an old message' },
      result: { status: 'queued' },
      purgedAt: null,
    });
  });

  it('removes the input and result of every tenant’s operations that ended more than the retention ago, in batches, as the service’s role', async () => {
    // batches of one: it goes on until a batch comes back short
    expect(await purgeOperationPayloads(app!.database.prisma, 30, 1)).toBe(2);

    const purged = await readOperation(TENANT_A, old);
    expect(purged).toEqual({ ...before, input: {}, result: null, purgedAt: expect.any(String) });
    expect(Date.parse(purged.purgedAt)).toBeGreaterThan(Date.parse(before.completedAt));
    const row = await storedRow(TENANT_A, old);
    for (const part of ['input', 'result'] as const) {
      for (const column of ['KeyId', 'DataKey', 'Iv', 'Tag', 'Ciphertext'] as const)
        expect(row[`${part}${column}`], `${part}${column}`).toBeNull();
    }
    const other = await readOperation(TENANT_B, otherTenantOld);
    expect(other).toMatchObject({ status: 'SUCCEEDED', input: {}, result: null, purgedAt: expect.any(String) });

    // nothing left to do
    expect(await purgeOperationPayloads(app!.database.prisma, 30)).toBe(0);
  });

  it('keeps the record: it still lists with its status, attempts and provider reference', async () => {
    const list = await gql(TENANT_A, `{ operations(first: 10) { edges { node { ${OPERATION} } } } }`);
    const listed = list.operations.edges.map((e: { node: { id: string } }) => e.node).find((n: { id: string }) => n.id === old.id);
    expect(listed).toMatchObject({
      status: 'SUCCEEDED',
      attemptCount: 1,
      providerReference: before.providerReference,
      attempts: [{ attemptNumber: 1, outcome: 'SUCCEEDED', httpStatus: 201 }],
      input: {},
      result: null,
    });
    expect(before.providerReference).toMatch(/^SM\d{32}$/);
  });

  it('keeps the payloads of operations that ended within the retention, and of those not ended however old', async () => {
    expect(await readOperation(TENANT_A, recent)).toMatchObject({
      status: 'SUCCEEDED',
      input: { body: 'a recent message' },
      result: { status: 'queued' },
      purgedAt: null,
    });
    expect(await readOperation(TENANT_A, waiting)).toMatchObject({
      status: 'QUEUED',
      input: { body: UNAVAILABLE },
      purgedAt: null,
      completedAt: null,
    });
  });

  it('never removes what ended within the last day, whatever retention it is asked for', async () => {
    expect(await purgeOperationPayloads(app!.database.prisma, 0)).toBe(0);
    expect((await readOperation(TENANT_A, recent)).input).toEqual({ to: '+15551230000', body: 'a recent message' });
  });

  it('is no one else’s to call: EXECUTE is not granted to PUBLIC', async () => {
    const [fn] = await app!.database.prisma.$queryRaw<{ acl: string | null; definer: boolean }[]>`
      SELECT proacl::text AS acl, prosecdef AS definer FROM pg_proc WHERE proname = 'icp_purge_operation_payloads'`;
    expect(fn!.definer).toBe(true);
    // an ACL entry without a grantee before "=" is PUBLIC's; a null ACL would mean the default (PUBLIC may execute)
    expect(fn!.acl).not.toBeNull();
    expect(fn!.acl).not.toMatch(/[{,]=/);
  });

  it.skipIf(!onPostgres)('the service’s role cannot clear or read payloads across tenants by naming the task itself', async () => {
    const cleared = await app!.database.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT set_config('app.maintenance', 'operation-retention', true)`;
      const [seen] = await tx.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM "Operation"`;
      expect(seen!.n).toBe(0);
      return tx.$executeRaw`UPDATE "Operation" SET "inputCiphertext" = NULL, "purgedAt" = now()`;
    });
    expect(cleared).toBe(0);
    expect((await readOperation(TENANT_A, recent)).input).toMatchObject({ body: 'a recent message' });
  });

  it('runs in a worker process at start', async () => {
    await endedDaysAgo(TENANT_A, recent, 31);
    await stop();
    await start();
    const purged = await eventually(async () => {
      const op = await readOperation(TENANT_A, recent);
      return op.purgedAt ? op : undefined;
    });
    expect(purged).toMatchObject({ status: 'SUCCEEDED', input: {}, result: null });
    expect((await readOperation(TENANT_A, waiting)).input).toMatchObject({ body: UNAVAILABLE });
  }, 60_000);
});
