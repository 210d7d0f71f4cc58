/**
 * `npm run bench -- --only requests`: the GraphQL API under load. The real `createApp` runs in a
 * child process (`server.ts`) on a tenant seeded through the API (`seed.ts`); autocannon drives it
 * from here, and every figure is also a ratio to two ceilings measured first and last in the same
 * run (a bare `node:http` server, and `{ __typename }`). Every answer's body is checked for errors.
 * Scenarios, settings (`BENCH_*`, DATABASE_URL) and results: docs/performance.md.
 */
import { deepStrictEqual } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { baseUrlEnvVar, PROVIDERS } from '../src/providers/catalog.ts';
import { startFakeApi } from '../test/helpers/fake-api.ts';
import { startReceiver } from '../test/helpers/receiver.ts';
import { subscribeSse } from '../test/helpers/sse.ts';
import { type BenchChild, startChild } from './child.ts';
import { benchDatabase } from './cluster.ts';
import { postgresCpu } from './postgres-cpu.ts';
import {
  BENCH_ENCRYPTION_KEY,
  BENCH_JWT_SECRET,
  CONFIGURE,
  credentialsFor,
  DELETE,
  fakeProviderRoute,
  gql,
  INTEGRATIONS_PAGE,
  inParallel,
  seedTenant,
  token,
  WEBHOOKS_PAGE,
  waitForVerified,
} from './seed.ts';

const num = (name: string, fallback: number) => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
};
const DURATION = num('BENCH_DURATION', 5);
const WARMUP = num('BENCH_WARMUP', 1);
const CONNECTIONS = Math.round(num('BENCH_CONNECTIONS', 16));
const WEBHOOKS = Math.min(100, Math.round(num('BENCH_WEBHOOKS', 100)));
const ACTIVATIONS = Math.round(num('BENCH_ACTIVATIONS', 40));
const ONLY = process.env.BENCH_SCENARIOS ? new RegExp(process.env.BENCH_SCENARIOS) : undefined;
const PROFILE_DIR = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;

// ---------------------------------------------------------------------------------------------
// Operations

const Q = {
  typename: '{ __typename }',
  providers: `query Providers {
    providers { id name displayName category capabilities isConfigured
      credentialSchema { key label type required sensitive enumValues defaultValue }
      integration { id status } }
  }`,
  integrations: INTEGRATIONS_PAGE,
  webhooks: WEBHOOKS_PAGE,
  resolveRoute: `query Route($capability: String!) {
    resolveRoute(capability: $capability) { capability usedFallback
      integration { id status provider { name } } rule { id priority isDefault } error { code message } }
  }`,
  update: `mutation Update($input: UpdateIntegrationInput!) {
    updateIntegration(input: $input) { __typename
      ... on UpdateIntegrationPayload { integration { id version updatedAt } } ... on Error { code message } }
  }`,
};

/** The integrations page with `Cache-Control: no-cache`: executed every time, as on a change. */
const EXECUTED_LIST = 'integrations(first: 25), executed (no-cache)';
const WEBHOOK_PAGE = 'webhooks(first: 25) + deliveries(first: 3)';

const body = (query: string, variables?: Record<string, unknown>) => JSON.stringify({ query, variables });

/** A 200 answer with data and no GraphQL errors or typed error. */
const okBody = (answer: string | Buffer | undefined) => {
  const text = String(answer ?? '');
  return text.startsWith('{"data"') && !text.includes('"errors"') && !/"code":"[A-Z_]+"/.test(text);
};

// ---------------------------------------------------------------------------------------------
// Load runs

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  connectionErrors: number;
  timeouts: number;
  non2xx: number;
  /** 200s whose body was not the expected data. */
  badBodies: number;
  errors: number;
  rssMB: number;
  /** The server's CPU use during the run, in cores (1 = one core busy all the time). */
  serverCpu: number;
  /** PostgreSQL's, likewise (bench/postgres-cpu.ts); undefined on the embedded database or without a figure. */
  dbCpu?: number;
  note?: string;
}

type Requests = autocannon.Request[];

interface Scenario {
  name: string;
  /**
   * One fixed request, or a sequence per connection (mutations): `connection()` is called once
   * for each connection and its closure holds that connection's state (its tenant, a version).
   */
  request: { body: string } | { connection: () => Requests };
  /** Headers of every request besides the JSON content type and the bearer token. */
  headers?: Record<string, string>;
  /** Requests per unit the note reports (2 for a configure + delete pair). */
  per?: { count: number; unit: string };
  /** Called before each run (warm-up and measured): refreshes mutation state. */
  prepare?: () => Promise<void>;
}

async function run(target: BenchChild, bearer: string | undefined, scenario: Scenario, seconds: number): Promise<autocannon.Result> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...scenario.headers };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  await scenario.prepare?.();
  const base: autocannon.Options = {
    url: `${target.url}/graphql`,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 10,
    method: 'POST',
    headers,
    verifyBody: okBody,
  };
  if ('body' in scenario.request) return autocannon({ ...base, body: scenario.request.body });
  // autocannon shares a `requests` option between its connections (and builds each one's first
  // request into the same object); a sequence set per connection in setupClient is its own
  const { connection } = scenario.request;
  return autocannon({ ...base, setupClient: (client) => client.setRequests(connection()) });
}

async function measure(target: BenchChild, bearer: string | undefined, scenario: Scenario): Promise<Row> {
  await run(target, bearer, scenario, WARMUP);
  const before = await target.stats();
  const dbBefore = dbCpu?.read();
  const rss = target.sampleRss();
  const profile = PROFILE_DIR && target.entry === 'server.ts';
  if (profile) target.profileStart();
  const result = await run(target, bearer, scenario, DURATION);
  if (profile)
    await target.profileStop(path.join(PROFILE_DIR, `${scenario.name.replace(/[^\w]+/g, '-').replace(/^-|-$/g, '')}.cpuprofile`));
  const peak = await rss.stop();
  const after = await target.stats();
  const dbAfter = dbCpu?.read();
  const rps = result.requests.total / result.duration;
  const row: Row = {
    name: scenario.name,
    rps,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    connectionErrors: result.errors - result.timeouts,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    badBodies: result.mismatches,
    errors: result.errors + result.non2xx + result.mismatches,
    rssMB: peak / 2 ** 20,
    serverCpu: (after.cpuMicros - before.cpuMicros) / 1e6 / result.duration,
    ...(dbBefore !== undefined && dbAfter !== undefined ? { dbCpu: (dbAfter - dbBefore) / 1e6 / result.duration } : {}),
  };
  if (scenario.per) row.note = `${(rps / scenario.per.count).toFixed(0)} ${scenario.per.unit}/s`;
  console.error(`  ${scenario.name}: ${rps.toFixed(0)} req/s, p99 ${row.p99} ms, ${row.errors} errors`);
  return row;
}

// ---------------------------------------------------------------------------------------------
// Mutation scenarios

const jsonHeaders = (bearer: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${bearer}` });

/**
 * configureIntegration then deleteIntegration of the same integration, each connection in a
 * tenant of its own (a tenant has one live integration per provider). Fresh tenants every run:
 * a pair cut off by the end of a run must not leave the next run a CONFLICT. A delete is sent
 * only after its configure answered with an id; a failed configure is counted and the
 * connection starts over.
 */
function pairsScenario(): Scenario {
  let tokens: string[] = [];
  let runs = 0;
  const configure = body(CONFIGURE, { input: { provider: 'stripe', credentials: credentialsFor('stripe'), metadata: { team: 'bench' } } });
  return {
    name: 'configureIntegration + deleteIntegration',
    per: { count: 2, unit: 'pairs' },
    prepare: async () => {
      runs++;
      tokens = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => token(`bench-pairs-${process.pid}-${runs}-${i}`)));
    },
    request: {
      connection: () => {
        const bearer = tokens.pop();
        if (!bearer) throw new Error('the pairs scenario has more connections than tenants');
        let id: string | undefined;
        return [
          {
            method: 'POST',
            path: '/graphql',
            headers: jsonHeaders(bearer),
            body: configure,
            onResponse: (_status, text) => {
              id = /"integration":\{"id":"([^"]+)"/.exec(text)?.[1];
            },
          },
          {
            method: 'POST',
            path: '/graphql',
            // a falsy request makes autocannon start the sequence over
            setupRequest: (req) => (id ? { ...req, headers: jsonHeaders(bearer), body: body(DELETE, { input: { id } }) } : (null as never)),
          },
        ];
      },
    },
  };
}

/**
 * updateIntegration with expectedVersion, each connection on an integration of a tenant of its
 * own, passing the version the previous answer gave it: a lost update would be a VERSION_CONFLICT,
 * counted as an error. Versions are re-read before every run (a run's last answers are not read).
 */
async function updateScenario(server: BenchChild): Promise<Scenario> {
  const { url } = server;
  const entries = await inParallel(
    Array.from({ length: CONNECTIONS }, (_, i) => i),
    async (i) => {
      const bearer = await token(`bench-update-${process.pid}-${i}`);
      const data = await gql(url, bearer, CONFIGURE, { input: { provider: 'stripe', credentials: credentialsFor('stripe') } });
      return { bearer, id: data.configureIntegration.integration.id as string, version: 0 };
    },
  );
  await inParallel(entries, (e) => waitForVerified(url, e.bearer));
  let free: typeof entries = [];
  let n = 0;
  return {
    name: 'updateIntegration (expectedVersion)',
    prepare: async () => {
      // an update the previous run left in flight (autocannon stops mid-request) commits first
      await settle(server);
      for (const e of entries) {
        const data = await gql(url, e.bearer, 'query($id: ID!) { integration(id: $id) { version } }', { id: e.id });
        e.version = data.integration.version;
      }
      free = [...entries];
    },
    request: {
      connection: () => {
        const entry = free.pop();
        if (!entry) throw new Error('the update scenario has more connections than integrations');
        return [
          {
            method: 'POST',
            path: '/graphql',
            setupRequest: (req) => {
              const input = { id: entry.id, expectedVersion: entry.version, metadata: { team: 'bench', n: n++ } };
              return { ...req, headers: jsonHeaders(entry.bearer), body: body(Q.update, { input }) };
            },
            onResponse: (_status, text) => {
              const version = /"version":(\d+)/.exec(text)?.[1];
              if (version) entry.version = Number(version);
            },
          },
        ];
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// SQL statements per request

/** Waits until the server sends no statement for a while (background verification, deliveries). */
async function settle(target: BenchChild): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = (await target.stats()).statements;
  let quiet = 0;
  while (quiet < 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 150));
    const now = (await target.stats()).statements;
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}

interface StatementCount {
  statements: number;
  transactionStatements: number;
  rows: number | null;
  /** Why the server refused the request (a limit), when it did. */
  refused?: string;
}

/** Statements of one request: the fewest over two settled rounds of five sequential requests. */
async function statementsPerRequest(
  target: BenchChild,
  bearer: string,
  payload: string,
  rows: (data: any) => number | null,
): Promise<StatementCount> {
  const send = async () => {
    const res = await fetch(`${target.url}/graphql`, {
      method: 'POST',
      // executed: a kept answer of the response cache costs none
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}`, 'cache-control': 'no-cache' },
      body: payload,
    });
    const text = await res.text();
    if (res.status !== 200 || !okBody(text)) throw new Error(`statement count request failed: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text).data;
  };
  let data;
  try {
    data = await send();
  } catch (err) {
    const code = /"code":"([A-Z_]+)"/.exec(String(err))?.[1];
    if (!code) throw err;
    return { statements: NaN, transactionStatements: NaN, rows: null, refused: code };
  }
  let best: StatementCount | undefined;
  for (let round = 0; round < 2; round++) {
    await settle(target);
    const before = await target.stats();
    for (let i = 0; i < 5; i++) await send();
    const after = await target.stats();
    const statements = (after.statements - before.statements) / 5;
    if (!best || statements < best.statements) {
      best = { statements, transactionStatements: (after.transactionStatements - before.transactionStatements) / 5, rows: rows(data) };
    }
  }
  return best!;
}

// ---------------------------------------------------------------------------------------------
// The peer (yoga + pg)

/** The peer's pages must be the service's, executed: same ids, cursors, values and field order. */
async function samePages(service: BenchChild, peer: BenchChild, bearer: string): Promise<void> {
  for (const [field, query] of [
    ['integrations', Q.integrations],
    ['webhooks', Q.webhooks],
  ] as const) {
    const page = async (target: BenchChild) => {
      const res = await fetch(`${target.url}/graphql`, {
        method: 'POST',
        headers: { ...jsonHeaders(bearer), 'cache-control': 'no-cache' },
        body: body(query, { first: 25 }),
      });
      const text = await res.text();
      if (res.status !== 200 || !okBody(text))
        throw new Error(`${target.entry}: the ${field} page failed: ${res.status} ${text.slice(0, 300)}`);
      return JSON.parse(text).data;
    };
    const served = await page(service);
    const peers = await page(peer);
    if (!served[field].edges.length) throw new Error(`the service answered an empty ${field} page: nothing to compare`);
    try {
      deepStrictEqual(peers, served);
    } catch (err) {
      throw new Error(`the peer's ${field} page is not the service's (peer: actual, service: expected):\n${(err as Error).message}`);
    }
    if (JSON.stringify(peers) !== JSON.stringify(served))
      throw new Error(`the peer's ${field} page holds the service's values in another order`);
  }
}

// ---------------------------------------------------------------------------------------------
// configure → ACTIVE

/** An SSE subscription to a tenant's status changes: integration id → when it was heard ACTIVE. */
async function subscribeActive(url: string, bearer: string) {
  const heard = new Map<string, number>();
  const waiters = new Map<string, (at: number) => void>();
  const { response, close } = await subscribeSse(url, bearer, 'subscription { integrationStatusChanged { id status } }', (payload) => {
    const node = payload?.data?.integrationStatusChanged;
    if (node?.status !== 'ACTIVE') return;
    const when = performance.now();
    heard.set(node.id, when);
    waiters.get(node.id)?.(when);
  });
  if (response.status !== 200) throw new Error(`subscription refused: HTTP ${response.status}`);
  return {
    active(id: string, timeoutMs = 30_000): Promise<number> {
      const already = heard.get(id);
      if (already !== undefined) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`integration ${id} not ACTIVE within ${timeoutMs} ms`)), timeoutMs);
        waiters.set(id, (at) => {
          clearTimeout(timer);
          waiters.delete(id);
          resolve(at);
        });
      });
    },
    close,
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

async function configureToActive(url: string) {
  const bearer = await token(`bench-activation-${process.pid}`);
  const subscription = await subscribeActive(url, bearer);
  await new Promise((r) => setTimeout(r, 200)); // the subscription is registered
  const toActive: number[] = [];
  const toAnswer: number[] = [];
  try {
    for (let i = 0; i < ACTIVATIONS; i++) {
      const started = performance.now();
      const data = await gql(url, bearer, CONFIGURE, { input: { provider: 'stripe', credentials: credentialsFor('stripe') } });
      toAnswer.push(performance.now() - started);
      const id = data.configureIntegration.integration.id;
      toActive.push((await subscription.active(id)) - started);
      await gql(url, bearer, DELETE, { input: { id } });
    }
  } finally {
    subscription.close();
  }
  const sorted = [...toActive].sort((a, b) => a - b);
  const answers = [...toAnswer].sort((a, b) => a - b);
  return {
    n: ACTIVATIONS,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1)!,
    answerP50: percentile(answers, 50),
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function gitDescription(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    return dirty ? `${commit} + uncommitted changes` : commit;
  } catch {
    return 'unknown';
  }
}

/** A measured run as BENCH_JSON reports it. */
function runFigures(r: Row) {
  return {
    rps: Math.round(r.rps),
    p50: r.p50,
    p99: r.p99,
    errors: r.errors,
    rssMB: Math.round(r.rssMB),
    serverCpu: Number(r.serverCpu.toFixed(2)),
    ...(r.dbCpu === undefined ? {} : { dbCpu: Number(r.dbCpu.toFixed(2)), cpuMsPerRequest: Number(cpuMsPerRequest(r)!.toFixed(2)) }),
  };
}

/** Server and PostgreSQL CPU per request, in ms (undefined without PostgreSQL's figure). */
const cpuMsPerRequest = (r: Row) => (r.dbCpu === undefined ? undefined : ((r.serverCpu + r.dbCpu) * 1000) / r.rps);

function printTable(rows: Row[], raw: number, typename: number) {
  const withDb = rows.some((r) => r.dbCpu !== undefined);
  const head = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'srv RSS MB', 'srv CPU'];
  if (withDb) head.push('db CPU', 'CPU ms/req');
  head.push('vs raw', 'vs {__typename}', '');
  const lines = rows.map((r) => [
    r.name,
    r.rps.toFixed(0),
    r.p50.toFixed(1),
    r.p99.toFixed(1),
    r.errors ? `${r.errors} (conn ${r.connectionErrors}, timeout ${r.timeouts}, non-2xx ${r.non2xx}, body ${r.badBodies})` : '0',
    r.rssMB.toFixed(0),
    `${(r.serverCpu * 100).toFixed(0)}%`,
    ...(withDb ? [r.dbCpu === undefined ? '' : `${(r.dbCpu * 100).toFixed(0)}%`, cpuMsPerRequest(r)?.toFixed(2) ?? ''] : []),
    (r.rps / raw).toFixed(3),
    r.name.startsWith('raw') ? '' : (r.rps / typename).toFixed(2),
    r.note ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
}

// ---------------------------------------------------------------------------------------------
// Main

const work = mkdtempSync(path.join(tmpdir(), 'icp-bench-'));
if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
const receiver = await startReceiver();
const fake = await startFakeApi(fakeProviderRoute);
// before the bench database is made: nothing to clean up if this fails
const postgres = process.env.DATABASE_URL ? await postgresCpu(process.env.DATABASE_URL) : undefined;
const database = process.env.DATABASE_URL ? await benchDatabase(process.env.DATABASE_URL) : undefined;
const dbCpu = postgres && 'read' in postgres ? postgres : undefined;
const children: BenchChild[] = [];
let cleaned: Promise<void> | undefined;
const cleanUp = () =>
  (cleaned ??= (async () => {
    for (const c of children) await c.stop().catch(() => {});
    await receiver.close();
    await fake.close();
    await database?.drop().catch((err: unknown) => console.error('could not drop the bench database', err));
    rmSync(work, { recursive: true, force: true });
  })());
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void cleanUp().finally(() => process.exit(1)));
let exitCode = 0;
try {
  const startedAt = new Date();
  const loadStart = loadavg()[0]!.toFixed(1);
  console.log(
    `GraphQL request bench, ${startedAt.toISOString().slice(0, 16)}Z, commit ${gitDescription()}, node ${process.version}, ` +
      `${cpus().length} CPUs; ${CONNECTIONS} connections, ${DURATION} s per scenario after ${WARMUP} s of warm-up`,
  );
  console.log('(load generator, server and database share this machine; compare the ratios, measured in the same run)');

  // the ceiling, alone on the machine
  const raw = await startChild('raw-server.ts', { env: { PATH: process.env.PATH ?? '' }, logFile: path.join(work, 'raw.log') });
  children.push(raw);
  console.error('measuring (progress on stderr):');
  const rawScenario: Scenario = { name: 'raw node:http (child process)', request: { body: body(Q.typename) } };
  const rawFirst = await measure(raw, undefined, rawScenario);

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: path.join(work, 'data'),
    AUTH_JWT_SECRET: BENCH_JWT_SECRET,
    ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY,
    WEBHOOK_ALLOW_HOSTS: receiver.hostPort,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    ...Object.fromEntries(PROVIDERS.map((p) => [baseUrlEnvVar(p.name), fake.url])),
    ...(database ? { DATABASE_URL: database.url } : {}),
  };
  const serverLog = path.join(work, 'server.log');
  const startAt = performance.now();
  const server = await startChild('server.ts', { env, logFile: serverLog });
  children.push(server);
  const startSeconds = (performance.now() - startAt) / 1000;
  // idle after start: what a process holds before any request (docs/performance.md → Memory)
  await settle(server);
  const rssStart = (await server.stats()).rss / 2 ** 20;
  console.log(
    `server: ${server.database === 'embedded' ? 'embedded PGlite' : 'PostgreSQL'}, ready in ${startSeconds.toFixed(1)} s (migrations included), ` +
      `RSS idle after start ${rssStart.toFixed(0)} MB`,
  );

  const seedAt = performance.now();
  const tenant = await seedTenant(server.url, `bench-tenant-${process.pid}`, {
    webhooks: WEBHOOKS,
    receiverUrl: receiver.url,
    received: () => receiver.received.length,
  });
  const updates = await updateScenario(server);
  console.log(
    `seeded in ${((performance.now() - seedAt) / 1000).toFixed(1)} s: ${tenant.integrations.size} integrations (every provider, ACTIVE), ` +
      `${tenant.webhookIds.length} webhooks, ${tenant.deliveries} deliveries delivered, ${tenant.rules} routing rules; ` +
      `${CONNECTIONS} more tenants with one integration each for updates`,
  );

  // the in-repo yardstick (#18): yoga + plain pg on the same database, role, tenant and rows
  let peer: BenchChild | undefined;
  let peerSkipped: string | undefined;
  if (ONLY && !ONLY.test('peer')) peerSkipped = 'left out by BENCH_SCENARIOS';
  else if (server.database === 'embedded' || !database) peerSkipped = 'PostgreSQL only: the embedded database cannot be shared';
  else {
    peer = await startChild('peer-server.ts', {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: database.url, AUTH_JWT_SECRET: BENCH_JWT_SECRET },
      logFile: path.join(work, 'peer.log'),
    });
    children.push(peer);
    await samePages(server, peer, tenant.token);
    console.log("peer (yoga + pg): ready, its integrations and webhooks pages are the service's executed pages (data compared)");
  }

  const read = (name: string, query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Scenario => ({
    name,
    request: { body: body(query, variables) },
    headers,
  });
  const typenameScenario = read('{ __typename }', Q.typename);
  const scenarios: Scenario[] = [
    read('providers (catalog)', Q.providers),
    read('integrations(first: 25)', Q.integrations, { first: 25 }),
    read(EXECUTED_LIST, Q.integrations, { first: 25 }, { 'cache-control': 'no-cache' }),
    read(WEBHOOK_PAGE, Q.webhooks, { first: 25 }),
    read('resolveRoute(send_sms)', Q.resolveRoute, { capability: 'send_sms' }),
    updates,
    pairsScenario(),
  ];
  const rows: Row[] = [rawFirst];
  const typenameFirst = await measure(server, tenant.token, typenameScenario);
  rows.push(typenameFirst);
  for (const s of scenarios.filter((s) => !ONLY || ONLY.test(s.name))) rows.push(await measure(server, tenant.token, s));
  let peerRows: { typename: Row; page: Row; webhooks: Row } | undefined;
  if (peer) {
    peerRows = {
      typename: await measure(peer, tenant.token, { ...typenameScenario, name: 'peer (yoga + pg): { __typename }' }),
      // the executed scenarios' bodies and headers
      page: await measure(peer, tenant.token, {
        ...scenarios.find((s) => s.name === EXECUTED_LIST)!,
        name: 'peer (yoga + pg): integrations(first: 25)',
      }),
      webhooks: await measure(peer, tenant.token, {
        ...scenarios.find((s) => s.name === WEBHOOK_PAGE)!,
        name: `peer (yoga + pg): ${WEBHOOK_PAGE}`,
      }),
    };
    rows.push(peerRows.typename, peerRows.page, peerRows.webhooks);
    await peer.stop();
  }
  const typenameLast = await measure(server, tenant.token, { ...typenameScenario, name: '{ __typename } (again, last)' });
  rows.push(typenameLast);
  const rawLast = await measure(raw, undefined, { ...rawScenario, name: 'raw node:http (again, last)' });
  rows.push(rawLast);
  await raw.stop();
  const typename = (typenameFirst.rps + typenameLast.rps) / 2;
  const rawRps = (rawFirst.rps + rawLast.rps) / 2;

  // statements per request, on the quiet server
  console.error('counting SQL statements per request');
  const edges = (field: string) => (data: any) => data[field].edges.length as number;
  const counts: Record<string, Record<string, StatementCount>> = {
    'integrations (provider, credentials)': {},
    'webhooks + deliveries(first: 3)': {},
  };
  for (const first of [1, 25, 100]) {
    counts['integrations (provider, credentials)']![first] = await statementsPerRequest(
      server,
      tenant.token,
      body(Q.integrations, { first }),
      edges('integrations'),
    );
  }
  // the cost limit refuses 100 webhooks with their deliveries, events and attempts (as it should):
  // the webhook page is counted at the sizes it allows
  for (const first of [1, 10, 25]) {
    counts['webhooks + deliveries(first: 3)']![first] = await statementsPerRequest(
      server,
      tenant.token,
      body(Q.webhooks, { first }),
      edges('webhooks'),
    );
  }
  const flat = {
    '{ __typename }': await statementsPerRequest(server, tenant.token, body(Q.typename), () => null),
    'providers (catalog)': await statementsPerRequest(server, tenant.token, body(Q.providers), (d) => d.providers.length),
    'resolveRoute(send_sms)': await statementsPerRequest(
      server,
      tenant.token,
      body(Q.resolveRoute, { capability: 'send_sms' }),
      () => null,
    ),
  };

  console.error(`configure → ACTIVE, ${ACTIVATIONS} times`);
  const activation = await configureToActive(server.url);
  await settle(server);
  const rssEnd = (await server.stats()).rss / 2 ** 20;
  await server.stop();
  const serverErrors = readFileSync(serverLog, 'utf8')
    .split('\n')
    .filter((l) => /"level":"(error|fatal)"/.test(l));

  console.log('');
  printTable(rows, rawRps, typename);
  console.log(
    `ratios use the mean of each ceiling's two runs (raw ${rawRps.toFixed(0)} req/s, { __typename } ${typename.toFixed(0)} req/s); ` +
      `srv CPU: 100% = one core; ${dbCpu ? "db CPU: PostgreSQL's, likewise; CPU ms/req: both, per request; " : ''}load average ${loadStart} at the start, ${loadavg()[0]!.toFixed(1)} at the end`,
  );
  if (postgres && 'unavailable' in postgres) console.log(`PostgreSQL's CPU not measured: ${postgres.unavailable}`);
  const executedPage = rows.find((r) => r.name === EXECUTED_LIST);
  const webhookPage = rows.find((r) => r.name === WEBHOOK_PAGE);
  if (peerRows) {
    for (const [what, ours, theirs] of [
      ['executed integrations page', executedPage, peerRows.page],
      ['webhooks page', webhookPage, peerRows.webhooks],
    ] as const) {
      const own = (theirs.rps / peerRows.typename.rps).toFixed(2);
      console.log(
        ours
          ? `${what} ÷ peer's: ${(ours.rps / theirs.rps).toFixed(2)} (service ${ours.rps.toFixed(0)} req/s, ` +
              `peer ${theirs.rps.toFixed(0)} req/s); each against its own { __typename }: ${(ours.rps / typename).toFixed(2)} vs ${own}`
          : `peer's ${what} against its own { __typename }: ${own} (the service's was not measured)`,
      );
    }
  } else {
    console.log(`peer (yoga + pg): skipped (${peerSkipped})`);
  }
  console.log('');
  console.log('SQL statements per request sent by Prisma, [+ transaction control: BEGIN/COMMIT], (rows returned):');
  for (const [name, bySize] of Object.entries(counts)) {
    const cell = (c: StatementCount) =>
      c.refused ? `refused (${c.refused})` : `${c.statements} [+${c.transactionStatements}] (${c.rows})`;
    console.log(
      `  ${name.padEnd(38)} ${Object.entries(bySize)
        .map(([n, c]) => `first ${n}: ${cell(c)}`)
        .join('   ')}`,
    );
  }
  for (const [name, c] of Object.entries(flat)) {
    console.log(`  ${name.padEnd(38)} ${c.statements} [+${c.transactionStatements}]${c.rows !== null ? ` (${c.rows})` : ''}`);
  }
  console.log('  (a tenant has at most one live integration per provider: 11 integrations, so pages of 25 and 100 hold 11)');
  console.log('');
  console.log(
    `configure → ACTIVE (verification against a loopback fake provider, heard on the subscription), ${activation.n} sequential: ` +
      `p50 ${activation.p50.toFixed(0)} ms, p99 ${activation.p99.toFixed(0)} ms, max ${activation.max.toFixed(0)} ms ` +
      `(configureIntegration answers in ${activation.answerP50.toFixed(0)} ms, p50)`,
  );
  console.log(
    `server RSS idle after start ${rssStart.toFixed(0)} MB, idle at the end ${rssEnd.toFixed(0)} MB; error lines in the server log: ${serverErrors.length}`,
  );
  for (const line of serverErrors.slice(0, 5)) console.log(`  ${line.slice(0, 300)}`);

  // absent when BENCH_SCENARIOS left it out: its targets read "not measured"
  const list = rows.find((r) => r.name === 'integrations(first: 25)');
  const executed = rows.find((r) => r.name === EXECUTED_LIST);
  const errors = rows.reduce((n, r) => n + r.errors, 0);
  // the largest page measured against the smallest, per query
  const statementsGrow = Object.values(counts).some((c) => {
    const sizes = Object.keys(c).map(Number);
    return c[Math.max(...sizes)]!.statements > c[Math.min(...sizes)]!.statements;
  });
  const pageRefused = Object.values(counts).some((c) => Object.values(c).some((x) => x.refused));
  const targets = [
    [
      'integrations(first: 25) ≥ 0.5 × { __typename }',
      list ? (list.rps / typename).toFixed(2) : 'not measured',
      !!list && list.rps / typename >= 0.5,
    ],
    ['{ __typename } ≥ 0.2 × raw node:http', (typename / rawRps).toFixed(2), typename / rawRps >= 0.2],
    [
      `p99 of integrations(first: 25) < 25 ms at ${CONNECTIONS} connections`,
      list ? `${list.p99.toFixed(1)} ms` : 'not measured',
      !!list && list.p99 < 25,
    ],
    ['zero errors', String(errors + serverErrors.length), errors + serverErrors.length === 0],
    [
      'statements per request do not grow with page size',
      pageRefused ? 'a page was refused' : statementsGrow ? 'they grow' : 'flat',
      !statementsGrow && !pageRefused,
    ],
  ] as const;
  console.log('');
  console.log(
    `targets (set for PostgreSQL; this run: ${server.database === 'embedded' ? 'embedded PGlite' : 'PostgreSQL'}; deliveries: see the deliveries bench)`,
  );
  for (const [what, measured, met] of targets) console.log(`  ${met ? 'met    ' : 'NOT met'}  ${what.padEnd(60)} ${measured}`);
  if (executed) {
    console.log(
      `  (the page as a client gets it again, from the response cache; executed every time: ${(executed.rps / typename).toFixed(2)} × { __typename }, p99 ${executed.p99.toFixed(1)} ms)`,
    );
  }

  const summary = {
    bench: 'requests',
    at: startedAt.toISOString(),
    commit: gitDescription(),
    database: server.database,
    loadAverage: [Number(loadStart), Number(loadavg()[0]!.toFixed(1))],
    connections: CONNECTIONS,
    durationSeconds: DURATION,
    rawRps: Math.round(rawRps),
    typenameRps: Math.round(typename),
    scenarios: rows.map((r) => ({
      name: r.name,
      ...runFigures(r),
      vsRaw: Number((r.rps / rawRps).toFixed(3)),
      vsTypename: Number((r.rps / typename).toFixed(3)),
    })),
    statements: {
      ...Object.fromEntries(
        Object.entries(counts).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([n, c]) => [n, c.statements]))]),
      ),
      ...Object.fromEntries(Object.entries(flat).map(([k, c]) => [k, c.statements])),
    },
    configureToActiveMs: { p50: Math.round(activation.p50), p99: Math.round(activation.p99) },
    rssMB: { idleAfterStart: Math.round(rssStart), idleAtEnd: Math.round(rssEnd) },
    serverLogErrors: serverErrors.length,
    peer: peerRows
      ? {
          ...Object.fromEntries(Object.entries(peerRows).map(([k, r]) => [k, runFigures(r)])),
          pageVsOwnTypename: Number((peerRows.page.rps / peerRows.typename.rps).toFixed(3)),
          executedOverPeer: executedPage ? Number((executedPage.rps / peerRows.page.rps).toFixed(3)) : null,
          webhooksVsOwnTypename: Number((peerRows.webhooks.rps / peerRows.typename.rps).toFixed(3)),
          webhooksOverPeer: webhookPage ? Number((webhookPage.rps / peerRows.webhooks.rps).toFixed(3)) : null,
        }
      : { skipped: peerSkipped },
    targetsMet: targets.filter((t) => t[2]).length,
    targets: targets.length,
  };
  console.log(`BENCH_JSON ${JSON.stringify(summary)}`);
  if (PROFILE_DIR) console.log(`CPU profiles of the server in ${PROFILE_DIR} (npx tsx bench/profile-summary.ts <file>)`);
} catch (err) {
  console.error(err);
  for (const c of children) console.error(`--- last lines of a bench child:\n${c.tail()}`);
  exitCode = 1;
} finally {
  await cleanUp();
}
process.exit(exitCode);
