/**
 * Nothing acknowledged is lost (CONTRACT.md "Operations", behaviour 4): sendSms operations are
 * acknowledged, then the server is killed with SIGKILL while a loopback fake of Twilio holds some
 * calls open and other operations are still queued; after a restart on the same database every
 * operation ends SUCCEEDED, every number was sent at least once, and more than once only when a
 * call for it had reached the provider before the kill (at least once toward the provider).
 * Embedded PGlite in a data directory, or a database of its own under TEST_DATABASE_URL.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { OPERATION_CONCURRENCY } from '../../src/operations/worker.ts';
import { createTestDatabase, eventually, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.ts';
import { type FakeApi, type Reply, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import { addRule, basicAuth, configureActive, type Gql, gqlAt } from '../helpers/integrations.ts';
import { freePort, type ServerProcess, startServerProcess } from '../helpers/process.ts';

const SID = `AC${'3'.repeat(32)}`;
const AUTH = basicAuth(SID, 'crash-token');
const FROM = '+15550000009';
/** Operations whose calls the fake answers at once while it holds the others (before the kill). */
const ANSWERED = 8;
/** More operations than the worker runs at once: with every slot held, these stay queued. */
const QUEUED = 16;
const N = ANSWERED + OPERATION_CONCURRENCY + QUEUED;
/** One number per operation, in the order they are requested (the worker takes the oldest first). */
const NUMBERS = Array.from({ length: N }, (_, i) => `+1555123${String(i).padStart(4, '0')}`);
const ANSWERED_NUMBERS = new Set(NUMBERS.slice(0, ANSWERED));
/**
 * The provider-call timeout: long enough that a held call is still in flight at the kill, short
 * because a job whose process died runs again only when it expires (walkExpirySeconds: about 35 s).
 */
const TIMEOUT_MS = 2000;

/** One Messages call the fake accepted: answered (201) when `sid` is set. */
interface Send {
  to: string;
  sid: string | null;
}

let fake: FakeApi;
let server: ServerProcess | undefined;
let cleanUp: () => Promise<void> = async () => {};
/** Every Messages POST the fake accepted, in order. */
const sends: Send[] = [];
/** 'hold': only the calls for ANSWERED_NUMBERS are answered, the others never; 'answer': every call is. */
let mode: 'hold' | 'answer' = 'answer';

afterAll(async () => {
  await server?.stop('SIGKILL');
  await fake?.close();
  await cleanUp();
});

/** Twilio's account read (verification) and Messages create, with the checks the real API makes. */
function twilioFake(req: Seen): Reply | Promise<Reply> {
  if (req.method === 'GET' && req.path === `/2010-04-01/Accounts/${SID}.json`) {
    return req.headers.authorization === AUTH ? { status: 200, body: { sid: SID } } : { status: 401, body: { code: 20003 } };
  }
  if (req.method !== 'POST' || req.path !== `/2010-04-01/Accounts/${SID}/Messages.json`) {
    return { status: 404, body: { message: 'not found' } };
  }
  if (req.headers.authorization !== AUTH) return { status: 401, body: { code: 20003, message: 'Authenticate' } };
  if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return { status: 400, body: { message: 'wrong content type' } };
  const form = new URLSearchParams(req.body);
  const keys = [...form.keys()].sort().join(',');
  if (keys !== 'Body,From,StatusCallback,To') return { status: 400, body: { message: `unexpected fields ${keys}` } };
  if (form.get('From') !== FROM || !/^\/hooks\/twilio\/[\w-]+$/.test(new URL(form.get('StatusCallback')!).pathname)) {
    return { status: 400, body: { message: 'wrong From or StatusCallback' } };
  }
  const send: Send = { to: form.get('To')!, sid: null };
  sends.push(send);
  const answer = (): Reply => {
    send.sid = `SM${String(sends.indexOf(send)).padStart(32, '0')}`;
    return { status: 201, body: { sid: send.sid, status: 'queued', to: send.to, from: FROM, body: form.get('Body') } };
  };
  // held: never answered (the server is killed with the call open)
  if (mode === 'hold' && !ANSWERED_NUMBERS.has(send.to)) return new Promise<Reply>(() => {});
  return answer();
}

/** Where the servers keep their data: a data directory, or a database of its own on TEST_DATABASE_URL. */
async function database(): Promise<Record<string, string>> {
  if (process.env.TEST_DATABASE_URL) {
    const db = await createTestDatabase(process.env.TEST_DATABASE_URL);
    cleanUp = db.drop;
    return { DATABASE_URL: db.url };
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'icp-ops-crash-'));
  cleanUp = () => rm(dataDir, { recursive: true, force: true });
  return { DATA_DIR: dataDir };
}

/** `work`, failing with the server's last output: a crash test that stalls says why. */
async function explained<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- the server's last output:\n${server?.output().slice(-3000)}`);
  }
}

/** `eventually`, failing with the server's last output. */
function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, intervalMs?: number): Promise<T> {
  return explained(eventually(check, timeoutMs, what, intervalMs));
}

it('finishes every acknowledged operation after a SIGKILL, sending each at least once', async () => {
  fake = await startFakeApi(twilioFake);
  const port = await freePort();
  const env = {
    ...(await database()),
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    TWILIO_API_BASE_URL: fake.url,
    OPERATION_TIMEOUT_MS: String(TIMEOUT_MS),
    // a held call that times out on a loaded machine is walked again soon
    OPERATION_RETRY_SCHEDULE: '1s,1s,1s,1s,1s,1s,1s,1s',
    QUEUE_MAINTENANCE_INTERVAL_SECONDS: '1',
    VERIFY_RETRY_DELAY_SECONDS: '1',
    LOG_LEVEL: 'warn',
  };
  // on whichever server runs now
  const gql: Gql = (query, variables) => gqlAt(server!.url, { tenant_id: 'ops-crash' }, 'crash-user')(query, variables);

  // 1. a Twilio integration, verified against the fake, and the rule that routes send_sms to it
  server = await startServerProcess(env, port);
  const twilio = await explained(
    configureActive(gql, 'twilio', { account_sid: SID, auth_token: 'crash-token', from_number: FROM }, 30_000),
  );
  await addRule(gql, { capability: 'send_sms', integrationId: twilio.id });
  await server.stop('SIGKILL');

  // 2. N operations acknowledged by an API-only instance (WORKER=false), then that instance killed
  server = await startServerProcess({ ...env, WORKER: 'false' }, port);
  const toOf = new Map<string, string>();
  for (let i = 0; i < N; i += 8) {
    await Promise.all(
      NUMBERS.slice(i, i + 8).map(async (to) => {
        const data = await gql(
          `mutation($input: SendSmsInput!) { sendSms(input: $input) { __typename ... on SendSmsPayload { operation { id status } } } }`,
          { input: { to, body: `crash test ${to}`, waitSeconds: 0 } },
        );
        expect(data.sendSms.__typename).toBe('SendSmsPayload');
        expect(data.sendSms.operation.status).toBe('QUEUED');
        toOf.set(data.sendSms.operation.id, to);
      }),
    );
  }
  await server.stop('SIGKILL');
  expect(sends).toHaveLength(0);

  // 3. a worker takes the full queue, oldest first, a slot per job: the calls for ANSWERED_NUMBERS
  //    are answered, the others held open by the fake, the rest of the queue waits for a slot.
  //    SIGKILL once the first batch reached the fake, well within a held call's timeout.
  mode = 'hold';
  server = await startServerProcess(env, port);
  await waitFor('every slot of the worker in flight', async () => (sends.length >= OPERATION_CONCURRENCY ? true : undefined), 30_000, 10);
  await server.stop('SIGKILL');
  mode = 'answer';
  const sentBeforeKill = new Set(sends.map((s) => s.to));
  // the scenario this test is about: calls in flight at the kill, and operations never started
  expect(sends.filter((s) => !s.sid).length).toBeGreaterThan(0);
  expect(NUMBERS.filter((to) => !sentBeforeKill.has(to)).length).toBeGreaterThan(0);

  // 4. restarted on the same database: everything ends, held calls once their jobs expire
  server = await startServerProcess(env, port);
  /** Every operation, page by page (there are more than one page holds). */
  async function allOperations() {
    const nodes: any[] = [];
    let after: string | null = null;
    for (;;) {
      const data = await gql(
        `query($after: String) { operations(first: 100, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { id status providerReference input } } } }`,
        { after },
      );
      nodes.push(...data.operations.edges.map((e: { node: any }) => e.node));
      if (!data.operations.pageInfo.hasNextPage) return { totalCount: data.operations.totalCount as number, nodes };
      after = data.operations.pageInfo.endCursor;
    }
  }
  const ended = await waitFor(
    'every operation to end',
    async () => {
      const all = await allOperations();
      return all.nodes.every((n: { status: string }) => n.status === 'SUCCEEDED') ? all : undefined;
    },
    150_000,
    500,
  );

  // nothing acknowledged is missing, and nothing is there that was not acknowledged
  expect(ended.totalCount).toBe(N);
  expect(ended.nodes).toHaveLength(N);
  const byId = new Map<string, any>(ended.nodes.map((n: { id: string }) => [n.id, n]));
  expect([...byId.keys()].sort()).toEqual([...toOf.keys()].sort());
  for (const [id, to] of toOf) {
    const op = byId.get(id);
    expect(op.input).toEqual({ to, body: `crash test ${to}` });
    // its reference is the sid of an answered call for its own number
    expect(sends.filter((s) => s.to === to && s.sid).map((s) => s.sid)).toContain(op.providerReference);
  }
  // every number sent at least once; more than once only when a call for it had reached the
  // provider before the kill (in flight then, or answered and perhaps not yet recorded)
  for (const to of NUMBERS) {
    const count = sends.filter((s) => s.to === to).length;
    expect(count, to).toBeGreaterThanOrEqual(1);
    if (!sentBeforeKill.has(to)) expect(count, `${to} was queued at the kill`).toBe(1);
  }
}, 240_000);
