/**
 * A payment is created once across a crash (CONTRACT.md "Operations", behaviours 3 and 4):
 * initiatePayment operations are acknowledged, then the worker's process is killed with SIGKILL
 * after a loopback fake of Stripe created each PaymentIntent, some answered at the moment of the
 * kill and some never answered; after a restart the walks run again with the same
 * Idempotency-Key, the fake replays its first answer as Stripe does, and every operation ends
 * SUCCEEDED with the one PaymentIntent made for it.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createTestDatabase, eventually, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.ts';
import { type FakeApi, type Reply, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import { addRule, configureActive, type Gql, gqlAt } from '../helpers/integrations.ts';
import { freePort, type ServerProcess, startServerProcess } from '../helpers/process.ts';

const SECRET_KEY = 'sk_test_51CrashDrillKey0123456789';
/** Operations; the even ones are answered at the kill, the odd ones never. */
const N = 8;
/** The provider-call timeout: a held call is still open at the kill; short, since a dead worker's job runs again once it expires. */
const TIMEOUT_MS = 2000;

/** A PaymentIntent the fake created, under the Idempotency-Key that created it. */
interface Created {
  key: string;
  id: string;
  amount: number;
  clientSecret: string;
}

let fake: FakeApi;
let server: ServerProcess | undefined;
let cleanUp: () => Promise<void> = async () => {};
/** Every PaymentIntent create the fake received (replays included), and the intents it made. */
const posts: { key: string; replayed: boolean }[] = [];
const created: Created[] = [];
/** Stripe's idempotency: the first request and answer per key. */
const saved = new Map<string, { body: string; reply: Reply }>();
/** 'hold': answers wait for the kill (below); 'answer': at once. */
let mode: 'hold' | 'answer' = 'answer';
/** The held answers of the even creates, released together just before the kill. */
const release: (() => void)[] = [];

afterAll(async () => {
  if (server && server.child.exitCode === null && server.child.signalCode === null) await server.stop('SIGKILL');
  await fake?.close();
  await cleanUp();
});

const stripeError = (status: number, type: string, message: string): Reply => ({ status, body: { error: { type, message } } });

/** The PaymentIntent create with the checks Stripe makes, its idempotency, and the drill's hold. */
function stripeFake(req: Seen): Reply | Promise<Reply> {
  if (req.headers.authorization !== `Bearer ${SECRET_KEY}`) return stripeError(401, 'invalid_request_error', 'Invalid API Key provided');
  if (req.method === 'GET' && req.path === '/v1/balance') return { status: 200, body: { object: 'balance', available: [] } };
  if (req.method !== 'POST' || req.path !== '/v1/payment_intents')
    return stripeError(404, 'invalid_request_error', 'Unrecognized request URL');
  if (req.headers['content-type'] !== 'application/x-www-form-urlencoded')
    return stripeError(400, 'invalid_request_error', 'form bodies only');
  const form = new URLSearchParams(req.body);
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string' || form.get('metadata[operation_id]') !== key) {
    return stripeError(400, 'invalid_request_error', 'the drill expects the operation id as Idempotency-Key and metadata[operation_id]');
  }
  if ([...form.keys()].join(',') !== 'amount,currency,automatic_payment_methods[enabled],metadata[operation_id]') {
    return stripeError(400, 'invalid_request_error', `unexpected parameters ${[...form.keys()]}`);
  }
  const first = saved.get(key);
  posts.push({ key, replayed: first !== undefined });
  if (first) {
    if (first.body !== req.body)
      return stripeError(400, 'idempotency_error', 'Keys for idempotent requests can only be used with the same parameters');
    return { ...first.reply, headers: { 'idempotent-replayed': 'true' } };
  }
  const id = `pi_3Drill${String(created.length).padStart(4, '0')}`;
  const intent: Created = { key, id, amount: Number(form.get('amount')), clientSecret: `${id}_secret_drill` };
  created.push(intent);
  const reply: Reply = {
    status: 200,
    body: {
      id,
      object: 'payment_intent',
      amount: intent.amount,
      currency: 'usd',
      status: 'requires_payment_method',
      client_secret: intent.clientSecret,
    },
  };
  saved.set(key, { body: req.body, reply });
  if (mode === 'answer') return reply;
  const answered = created.length % 2 === 1;
  const held = new Promise<Reply>((resolve) => {
    if (answered) release.push(() => resolve(reply));
  });
  if (created.length === N) {
    // the answers go out, and the worker dies before it can commit what they say
    for (const go of release) go();
    setImmediate(() => server!.child.kill('SIGKILL'));
  }
  return held;
}

async function database(): Promise<Record<string, string>> {
  if (process.env.TEST_DATABASE_URL) {
    const db = await createTestDatabase(process.env.TEST_DATABASE_URL);
    cleanUp = db.drop;
    return { DATABASE_URL: db.url };
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'icp-stripe-crash-'));
  cleanUp = () => rm(dataDir, { recursive: true, force: true });
  return { DATA_DIR: dataDir };
}

/** `work`, failing with the server's last output. */
async function explained<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- the server's last output:\n${server?.output().slice(-3000)}`);
  }
}

it('creates one PaymentIntent per operation across a SIGKILL between the Stripe call and the commit', async () => {
  fake = await startFakeApi(stripeFake);
  const port = await freePort();
  const env = {
    ...(await database()),
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    STRIPE_API_BASE_URL: fake.url,
    OPERATION_TIMEOUT_MS: String(TIMEOUT_MS),
    OPERATION_RETRY_SCHEDULE: '1s,1s,1s,1s,1s,1s,1s,1s',
    QUEUE_MAINTENANCE_INTERVAL_SECONDS: '1',
    VERIFY_RETRY_DELAY_SECONDS: '1',
    LOG_LEVEL: 'warn',
  };
  const gql: Gql = (query, variables) => gqlAt(server!.url, { tenant_id: 'stripe-crash' }, 'crash-user')(query, variables);

  // 1. a Stripe integration verified against the fake, and the rule routing initiate_payment to it
  server = await startServerProcess(env, port);
  const stripe = await explained(configureActive(gql, 'stripe', { publishable_key: 'pk_test_51Drill', secret_key: SECRET_KEY }, 30_000));
  await addRule(gql, { capability: 'initiate_payment', integrationId: stripe.id });
  await server.stop('SIGKILL');

  // 2. N payments acknowledged by an API-only instance (WORKER=false)
  server = await startServerProcess({ ...env, WORKER: 'false' }, port);
  const amountOf = new Map<string, number>();
  for (let i = 0; i < N; i++) {
    const amount = 1000 + i;
    const data = await gql(
      `mutation($input: InitiatePaymentInput!) { initiatePayment(input: $input) { __typename ... on InitiatePaymentPayload { operation { id status } } } }`,
      { input: { amount, currency: 'usd', waitSeconds: 0 } },
    );
    expect(data.initiatePayment.operation.status).toBe('QUEUED');
    amountOf.set(data.initiatePayment.operation.id, amount);
  }
  await server.stop('SIGKILL');
  expect(posts).toHaveLength(0);

  // 3. a worker sends every create; the fake makes each intent, answers half at the last one and
  //    kills the worker at once: no answer's ending is committed, or only by a hair
  mode = 'hold';
  server = await startServerProcess(env, port);
  const exited = once(server.child, 'exit');
  await explained(Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error('no kill within 30 s')), 30_000))]));
  mode = 'answer';
  expect(created).toHaveLength(N);

  // 4. restarted: the walks run again once their jobs expire, with the same Idempotency-Key
  server = await startServerProcess(env, port);
  const ops = await explained(
    eventually(
      async () => {
        const data = await gql(
          `{ operations(first: 100) { totalCount edges { node { id status providerReference result input error { message } } } } }`,
        );
        const nodes = data.operations.edges.map((e: { node: any }) => e.node);
        return nodes.length === N && nodes.every((n: { status: string }) => n.status !== 'QUEUED' && n.status !== 'RUNNING')
          ? nodes
          : undefined;
      },
      100_000,
      'every operation to end',
      500,
    ),
  );

  // each operation SUCCEEDED with the one intent created under its own id as key
  for (const op of ops) {
    const mine = created.filter((c) => c.key === op.id);
    expect(mine, `${op.id}: ${op.error?.message}`).toHaveLength(1);
    expect(op).toMatchObject({
      status: 'SUCCEEDED',
      providerReference: mine[0]!.id,
      input: { amount: amountOf.get(op.id), currency: 'usd' },
      result: { paymentIntentId: mine[0]!.id, status: 'requires_payment_method', clientSecret: mine[0]!.clientSecret },
    });
    expect(mine[0]!.amount).toBe(amountOf.get(op.id));
  }
  expect(created).toHaveLength(N);
  expect(new Set(created.map((c) => c.key))).toEqual(new Set(amountOf.keys()));
  // the never-answered ones were sent again after the restart, and got the first answer back
  const replayedKeys = new Set(posts.filter((p) => p.replayed).map((p) => p.key));
  const neverAnswered = created.filter((_, i) => i % 2 === 1).map((c) => c.key);
  for (const key of neverAnswered) expect(replayedKeys.has(key), key).toBe(true);
}, 180_000);
