/**
 * `npm run bench -- --only operations`: the operations data plane, against a loopback fake of
 * Twilio's Messages API. `sendSms` accepted per second over HTTP as a ratio to the same server's
 * `{ __typename }` (the real server in a child process, API only: WORKER=false), and operations
 * completed per second from a full queue as a ratio to a plain loop making the same provider call
 * to the same fake at the same concurrency, measured in the same run; SQL statements per operation
 * on both sides. Settings and results: docs/performance.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import autocannon from 'autocannon';
import { Agent, request } from 'undici';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { forTenant } from '../src/db/tenant.ts';
import { configureIntegration } from '../src/integrations/service.ts';
import { VERIFY_QUEUE } from '../src/integrations/verify-queue.ts';
import { verifyIntegrationWorker } from '../src/integrations/verify-worker.ts';
import { createLogger } from '../src/log.ts';
import { OPERATION_QUEUE } from '../src/operations/queue.ts';
import { requestOperation } from '../src/operations/service.ts';
import { OPERATION_CONCURRENCY, operationWorker } from '../src/operations/worker.ts';
import { findProvider } from '../src/providers/catalog.ts';
import { createRoutingRule } from '../src/routing/service.ts';
import { type BenchChild, startChild } from './child.ts';
import { benchDatabase } from './cluster.ts';
import { startProfile } from './profiler.ts';
import { BENCH_ENCRYPTION_KEY, BENCH_JWT_SECRET, gql, inParallel, token } from './seed.ts';

const num = (name: string, fallback: number) => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
};
const N = Math.round(num('BENCH_OPERATIONS', 2000));
const WARMUP = 300;
const DURATION = num('BENCH_DURATION', 5);
const WARMUP_SECONDS = num('BENCH_WARMUP', 1);
const CONNECTIONS = Math.round(num('BENCH_CONNECTIONS', 16));
const CONCURRENCY = OPERATION_CONCURRENCY; // the operation jobs one process runs at once

// ---------------------------------------------------------------------------------------------
// The fake provider: Twilio's account read (verification) and Messages create, answered as Twilio
// does (201 and the Message resource); the path and the Basic credentials are checked, so a call
// the service got wrong is a 404 or 401 and the operation does not succeed.

const SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = '0123456789abcdef0123456789abcdef';
const CREDENTIALS = { account_sid: SID, auth_token: AUTH_TOKEN, from_number: '+14155550123' };
const AUTHORIZATION = `Basic ${Buffer.from(`${SID}:${AUTH_TOKEN}`).toString('base64')}`;
const ACCOUNT_PATH = `/2010-04-01/Accounts/${SID}.json`;
const MESSAGES_PATH = `/2010-04-01/Accounts/${SID}/Messages.json`;

let answered = 0;
let onAnswered: (() => void) | undefined;
function twilioFake(req: IncomingMessage, res: ServerResponse) {
  req.resume();
  req.on('end', () => {
    const reply = (status: number, body: object) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.headers.authorization !== AUTHORIZATION) return reply(401, { code: 20003, message: 'Authenticate' });
    if (req.method === 'GET' && req.url === ACCOUNT_PATH) return reply(200, { sid: SID, status: 'active' });
    if (req.method !== 'POST' || req.url !== MESSAGES_PATH) return reply(404, { code: 20404, message: 'not found' });
    answered++;
    reply(201, { sid: `SM${String(answered).padStart(32, '0')}`, status: 'queued', num_segments: '1' });
    onAnswered?.();
  });
}
const fake = createServer(twilioFake);
// Idle connections are kept longer than the client keeps them, as a provider's edge does: Node's
// 5 s default closes them while the worker waits for its queue to fill (on the embedded database
// that takes longer than 5 s), and `fetch` then reuses a closed socket and fails the call with
// ECONNRESET (docs/performance.md, "Operations").
fake.keepAliveTimeout = 65_000;
await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
const fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;

// ---------------------------------------------------------------------------------------------
// The plain loop: the request the Twilio adapter builds for one message, sent with `fetch` as the
// worker sends it, at the worker's concurrency, and its JSON answer read.

const SMS_INPUT = { to: '+15551230000', body: 'Your code is 123456' };
const plainCall = findProvider('twilio')!.operations!.send_sms!.request(SMS_INPUT, CREDENTIALS, {
  origin: () => fakeUrl,
  operationId: 'T3BlcmF0aW9uOmJlbmNo',
  callbackUrl: 'http://127.0.0.1:4000/hooks/twilio/bench-inbound-token',
});

/**
 * Calls per second, and this process's CPU per call (ms; the fake's share included, as in
 * `completed`), sent with `fetch` (the plain way) or with undici's `request` on a keep-alive
 * agent (the client the worker itself uses: src/providers/client.ts).
 */
const undiciAgent = new Agent({ keepAliveTimeout: 4_000 });
const clients = {
  fetch: async () => {
    const res = await fetch(plainCall.url, {
      method: plainCall.method,
      headers: { 'user-agent': 'integrations-control-plane', ...plainCall.headers },
      body: plainCall.body,
    });
    return { status: res.status, text: await res.text() };
  },
  undici: async () => {
    const res = await request(plainCall.url, {
      dispatcher: undiciAgent,
      method: plainCall.method,
      headers: { 'user-agent': 'integrations-control-plane', ...plainCall.headers },
      body: plainCall.body,
    });
    return { status: res.statusCode, text: await res.body.text() };
  },
};
async function plainLoop(client: keyof typeof clients): Promise<{ rate: number; cpuMs: number }> {
  const call = clients[client];
  let next = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) {
        const { status, text } = await call();
        const answer = JSON.parse(text) as { sid?: string };
        if (status !== 201 || !answer.sid) throw new Error(`the fake answered HTTP ${status}`);
      }
    }),
  );
  return { rate: N / ((performance.now() - started) / 1000), cpuMs: cpuMs(process.cpuUsage(cpu)) / N };
}

const cpuMs = (used: NodeJS.CpuUsage) => (used.user + used.system) / 1000;

// ---------------------------------------------------------------------------------------------
// Accepted: sendSms over HTTP against the same server's { __typename }

const SEND_SMS = `mutation Send($input: SendSmsInput!) { sendSms(input: $input) { __typename
  ... on SendSmsPayload { operation { id status } } ... on Error { code message } } }`;
const smsBody = JSON.stringify({ query: SEND_SMS, variables: { input: { ...SMS_INPUT, waitSeconds: 0 } } });
const typenameBody = JSON.stringify({ query: '{ __typename }' });

/** A 200 with data and no GraphQL errors or typed error (a refusal has a `code`). */
const okBody = (answer: string | Buffer | undefined) => {
  const text = String(answer ?? '');
  return text.startsWith('{"data"') && !text.includes('"errors"') && !/"code":"[A-Z_]+"/.test(text);
};

interface Run {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
}

async function load(url: string, bearer: string, body: string, seconds: number): Promise<Run> {
  const result = await autocannon({
    url: `${url}/graphql`,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 10,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body,
    verifyBody: okBody,
  });
  return {
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.non2xx + result.mismatches,
  };
}

async function measure(url: string, bearer: string, body: string): Promise<Run> {
  await load(url, bearer, body, WARMUP_SECONDS);
  return load(url, bearer, body, DURATION);
}

/** Statements of one executed sendSms: the fewest over two rounds of ten sequential requests. */
async function statementsPerSend(server: BenchChild, url: string, bearer: string) {
  let fewest = { statements: Infinity, transactionStatements: Infinity };
  for (let round = 0; round < 2; round++) {
    const before = await server.stats();
    for (let i = 0; i < 10; i++) {
      const data = await gql(url, bearer, SEND_SMS, { input: { ...SMS_INPUT, waitSeconds: 0 } });
      if (data.sendSms.__typename !== 'SendSmsPayload') throw new Error(`sendSms answered ${data.sendSms.__typename}`);
    }
    const after = await server.stats();
    const per = {
      statements: (after.statements - before.statements) / 10,
      transactionStatements: (after.transactionStatements - before.transactionStatements) / 10,
    };
    if (per.statements < fewest.statements) fewest = per;
  }
  return fewest;
}

/**
 * The server with its worker configures a Twilio integration (verified against the fake) and the
 * rule routing send_sms to it, and stops; the same database then serves an API-only server
 * (WORKER=false), so what is measured is accepting: validate, find an ACTIVE candidate, store the
 * operation and its job in one transaction, then the audit entry.
 */
async function accepted(databaseUrl: string | undefined) {
  const work = mkdtempSync(path.join(tmpdir(), 'icp-bench-ops-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: path.join(work, 'data'),
    AUTH_JWT_SECRET: BENCH_JWT_SECRET,
    ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY,
    TWILIO_API_BASE_URL: fakeUrl,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  const bearer = await token(`bench-operations-${process.pid}`);
  const logFile = path.join(work, 'server.log');
  let server: BenchChild | undefined;
  try {
    server = await startChild('server.ts', { env, logFile });
    const configured = await gql(
      server.url,
      bearer,
      `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) {
        ... on ConfigureIntegrationPayload { integration { id } } ... on Error { code message } } }`,
      { input: { provider: 'twilio', credentials: CREDENTIALS } },
    );
    const id = configured.configureIntegration.integration.id as string;
    for (let i = 0; ; i++) {
      const data = await gql(server.url, bearer, 'query($id: ID!) { integration(id: $id) { status lastError } }', { id });
      if (data.integration.status === 'ACTIVE') break;
      if (i > 300) throw new Error(`the Twilio integration is ${data.integration.status}: ${data.integration.lastError}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await gql(
      server.url,
      bearer,
      'mutation($input: CreateRoutingRuleInput!) { createRoutingRule(input: $input) { __typename ... on Error { code message } } }',
      { input: { capability: 'send_sms', integrationId: id } },
    );
    await server.stop();

    server = await startChild('server.ts', { env: { ...env, WORKER: 'false' }, logFile });
    const typenameFirst = await measure(server.url, bearer, typenameBody);
    const send = await measure(server.url, bearer, smsBody);
    const typenameLast = await measure(server.url, bearer, typenameBody);
    const statements = await statementsPerSend(server, server.url, bearer);
    return { database: server.database, typenameFirst, send, typenameLast, statements };
  } catch (err) {
    if (server) console.error(`--- last lines of the bench server:\n${server.tail()}`);
    throw err;
  } finally {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Completed: the worker from a full queue, in this process (as bench/deliveries.ts)

async function completed(databaseUrl: string | undefined) {
  const config = loadConfig({
    ...process.env,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    PORT: '0',
    AUTH_JWT_SECRET: BENCH_JWT_SECRET,
    ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY,
    TWILIO_API_BASE_URL: fakeUrl,
    LOG_LEVEL: 'warn',
    // the operation worker is started below, once the queue holds every job
    WORKER: 'false',
  });
  // the server's warnings, kept to explain a stall
  const warnings: string[] = [];
  const sink = new Writable({
    write: (chunk, _e, done) => {
      warnings.push(String(chunk).slice(0, 500));
      if (warnings.length > 20) warnings.shift();
      done();
    },
  });
  let statements = 0;
  const app = await createApp(config, {
    logger: createLogger('warn', sink),
    inMemory: !config.databaseUrl,
    pollingIntervalSeconds: 0.5,
    onQuery: (sql) => {
      // not transaction control, nor a driver adapter's `-- Implicit "COMMIT" query via underlying driver`
      if (!/^(?:--\s*Implicit\s*")?(BEGIN|COMMIT|ROLLBACK)\b/i.test(sql.trim())) statements++;
    },
  });
  const { services } = app;
  const tenantId = `bench-${Date.now()}`;
  const viewer = { tenantId, actorId: 'bench', appId: null, scopes: new Set(), via: 'jwt' } as never;
  const scope = { viewer, db: forTenant(services.prisma, tenantId), services } as never;

  // a Twilio integration verified against the fake, and the rule routing send_sms to it
  const integration = await configureIntegration(scope, { provider: 'twilio', credentials: CREDENTIALS });
  const verifier = services.queue.consume(VERIFY_QUEUE, 1, verifyIntegrationWorker(services));
  for (let i = 0; ; i++) {
    const row = await forTenant(services.prisma, tenantId).integration.findUnique({ where: { id: integration.id } });
    if (row?.status === 'ACTIVE') break;
    if (i > 300) throw new Error(`the Twilio integration is ${row?.status}: ${row?.lastError}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await verifier.stop(10_000);
  await createRoutingRule(scope, { capability: 'send_sms', integration: { id: integration.id } });

  /** Stores `count` operations through the service, 16 requests at once, as the mutation does. */
  async function request(count: number) {
    await inParallel(
      Array.from({ length: count }, (_, i) => i),
      () => requestOperation(scope, 'send_sms', SMS_INPUT, {}),
      16,
    );
  }
  /** Runs the worker as app.ts starts it until `count` calls were answered, then stops it. */
  async function runAll(count: number) {
    answered = 0;
    const done = new Promise<void>((resolve) => (onAnswered = () => answered >= count && resolve()));
    const consumer = services.queue.consume(OPERATION_QUEUE, OPERATION_CONCURRENCY, operationWorker(services));
    // a bench that stops making progress fails, saying where it stood
    let seen = -1;
    const watchdog = setInterval(() => {
      if (answered === seen) {
        console.error(`no call answered for 30 s: ${answered} of ${count}; the server's last warnings:\n${warnings.join('')}`);
        process.exit(1);
      }
      seen = answered;
    }, 30_000);
    await done.finally(() => clearInterval(watchdog));
    // the last operations' records (stop() returns as soon as they are done)
    await consumer.stop(120_000);
  }

  // warm-up, not measured: the code paths compiled, the query plans cached, sockets open
  await request(WARMUP);
  await runAll(WARMUP);

  const requestBefore = statements;
  const requestStarted = performance.now();
  await request(N);
  const requestRate = N / ((performance.now() - requestStarted) / 1000);
  const requestStatements = (statements - requestBefore) / N;
  // the queue now holds all N jobs
  const started = performance.now();
  const workerBefore = statements;
  const profile = process.env.BENCH_PROFILE ? await startProfile() : undefined;
  const cpu = process.cpuUsage();
  await runAll(N);
  const rate = N / ((performance.now() - started) / 1000);
  const cpuPerOperation = cpuMs(process.cpuUsage(cpu)) / N;
  await profile?.stop(path.join(process.env.BENCH_PROFILE!, 'operations.cpuprofile'));
  const perOperation = (statements - workerBefore) / N;

  // every one ended SUCCEEDED with one attempt: the figure is of operations that worked
  const db = forTenant(services.prisma, tenantId);
  const succeeded = await db.operation.count({ where: { status: 'SUCCEEDED', attemptCount: 1 } });
  const total = await db.operation.count();
  if (succeeded !== total || total !== WARMUP + N) {
    const seen = await db.operation.groupBy({ by: ['status', 'attemptCount'], _count: true });
    const failures = await db.operationAttempt.groupBy({
      by: ['outcome', 'error'],
      where: { outcome: { not: 'SUCCEEDED' } },
      _count: true,
    });
    await app.close();
    throw new Error(
      `${succeeded} of ${total} operations SUCCEEDED at the first attempt (${WARMUP + N} requested): ${JSON.stringify(seen)}; failed attempts: ${JSON.stringify(failures)}\n${warnings.join('')}`,
    );
  }
  await app.close();
  return { rate, cpuPerOperation, requestRate, requestStatements, perOperation, database: app.database.kind };
}

// ---------------------------------------------------------------------------------------------
// Main: each part on a database of its own (the API-only part leaves its operations queued)

const fmt = (n: number) => n.toFixed(0).padStart(7);
const useDatabase = async <T>(part: (url: string | undefined) => Promise<T>): Promise<T> => {
  const database = process.env.DATABASE_URL ? await benchDatabase(process.env.DATABASE_URL) : undefined;
  return part(database?.url).finally(() => database?.drop());
};

let exitCode = 0;
const loadStart = loadavg()[0]!.toFixed(1);
try {
  const api = await useDatabase(accepted);
  // warm-up: the fetch path takes about three runs to reach its speed
  for (let i = 0; i < 3; i++) await plainLoop('fetch');
  for (let i = 0; i < 3; i++) await plainLoop('undici');
  const plainFirst = await plainLoop('fetch');
  const undiciFirst = await plainLoop('undici');
  const worker = await useDatabase(completed);
  const plainLast = await plainLoop('fetch');
  const undiciLast = await plainLoop('undici');
  const plain = (plainFirst.rate + plainLast.rate) / 2;
  const plainCpu = (plainFirst.cpuMs + plainLast.cpuMs) / 2;
  const plainUndici = (undiciFirst.rate + undiciLast.rate) / 2;
  const plainUndiciCpu = (undiciFirst.cpuMs + undiciLast.cpuMs) / 2;
  const typename = (api.typenameFirst.rps + api.typenameLast.rps) / 2;
  const errors = api.typenameFirst.errors + api.send.errors + api.typenameLast.errors;

  console.log(
    `operations (sendSms through Twilio to a loopback fake), database ${worker.database}; ` +
      `load average ${loadStart} at the start, ${loadavg()[0]!.toFixed(1)} at the end`,
  );
  console.log(
    `  { __typename }         ${fmt(typename)} req/s  (first ${api.typenameFirst.rps.toFixed(0)}, last ${api.typenameLast.rps.toFixed(0)}; ${CONNECTIONS} connections, ${DURATION} s)`,
  );
  console.log(
    `  sendSms accepted       ${fmt(api.send.rps)} req/s  (p50 ${api.send.p50} ms, p99 ${api.send.p99} ms; API only, WORKER=false)`,
  );
  console.log(`  ratio                  ${(api.send.rps / typename).toFixed(2)}`);
  console.log(
    `  Prisma SQL statements per sendSms: ${api.statements.statements} (+${api.statements.transactionStatements} transaction control)`,
  );
  console.log(`  errors                 ${errors}`);
  console.log(`operations completed, ${N} from a full queue, concurrency ${CONCURRENCY}`);
  console.log(
    `  plain fetch loop       ${fmt(plain)} calls/s  (before ${plainFirst.rate.toFixed(0)}, after ${plainLast.rate.toFixed(0)}; ${plainCpu.toFixed(3)} ms of this process's CPU per call)`,
  );
  console.log(
    `  plain undici loop      ${fmt(plainUndici)} calls/s  (before ${undiciFirst.rate.toFixed(0)}, after ${undiciLast.rate.toFixed(0)}; ${plainUndiciCpu.toFixed(3)} ms; undici's request, the worker's own client)`,
  );
  console.log(
    `  operations completed   ${fmt(worker.rate)} operations/s  (queued → SUCCEEDED, each recorded with its attempt; ${worker.cpuPerOperation.toFixed(3)} ms of CPU each)`,
  );
  console.log(
    `  ratio                  ${(worker.rate / plain).toFixed(2)}  (CPU per call ÷ CPU per operation: ${(plainCpu / worker.cpuPerOperation).toFixed(2)}); ` +
      `to the undici loop ${(worker.rate / plainUndici).toFixed(2)} (CPU: ${(plainUndiciCpu / worker.cpuPerOperation).toFixed(2)})`,
  );
  console.log(`  Prisma SQL statements per operation run: ${worker.perOperation.toFixed(2)} (pg-boss's fetch and completion not counted)`);
  console.log(
    `  operations requested   ${fmt(worker.requestRate)} operations/s  (requestOperation in this process, 16 at once: ${worker.requestStatements.toFixed(1)} statements each)`,
  );
  console.log(
    `BENCH_JSON ${JSON.stringify({
      bench: 'operations',
      database: worker.database,
      typenameRps: Math.round(typename),
      sendSmsRps: Math.round(api.send.rps),
      sendSmsVsTypename: Number((api.send.rps / typename).toFixed(3)),
      sendSmsP99: api.send.p99,
      errors,
      plainRps: Math.round(plain),
      completedRps: Math.round(worker.rate),
      completedVsPlain: Number((worker.rate / plain).toFixed(3)),
      cpuPerOperationMs: Number(worker.cpuPerOperation.toFixed(3)),
      cpuPerPlainCallMs: Number(plainCpu.toFixed(3)),
      plainUndiciRps: Math.round(plainUndici),
      completedVsPlainUndici: Number((worker.rate / plainUndici).toFixed(3)),
      statementsPerSend: api.statements.statements,
      statementsPerRun: Number(worker.perOperation.toFixed(2)),
    })}`,
  );
  if (errors) exitCode = 1;
} catch (err) {
  console.error(err);
  exitCode = 1;
}
fake.close();
process.exit(exitCode);
