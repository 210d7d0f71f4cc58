/**
 * Database-outage drill (PostgreSQL only): under a steady loop of queries and mutations, PostgreSQL
 * is stopped for OUTAGE ms and started again. Meanwhile every answer must be a clean failure (a 503
 * or coded GraphQL errors, no SQL, driver message or stack) within a bound, /readyz 503 and the
 * process up; after, /readyz 200 within a bound, requests succeed again, and every delivery the API
 * acknowledged arrives. docs/development.md ("Fault drills").
 */

import { type Cluster, createServiceDatabase, postgresBinDir, startCluster } from '../test/helpers/pg-cluster.ts';
import { freePort, type ServerProcess, startServerProcess } from '../test/helpers/process.ts';
import { type Receiver, startReceiver } from '../test/helpers/receiver.ts';
import {
  type Answer,
  DRILL_SECRETS,
  type DrillReport,
  gql,
  percentile,
  Recorder,
  round,
  send,
  signToken,
  tail,
  tempDir,
  waitFor,
} from './harness.ts';

export interface DatabaseOutageOptions {
  outageMs: number;
  /** Requests in flight at once, all the time. */
  concurrency: number;
  /** An answer slower than this counts as a hang. */
  requestTimeoutMs: number;
  /** How long after PostgreSQL is back /readyz may stay 503. */
  readyWithinMs: number;
  /** Extra environment for the server process (e.g. NODE_OPTIONS, to look past a first failure). */
  serverEnv: Record<string, string>;
}

type Stage = 'before' | 'outage' | 'after';

interface Sample {
  stage: Stage;
  kind: 'query' | 'mutation';
  answer: Answer;
}

/** What an answer reveals that it must not: SQL, driver and connection errors, source locations. */
const INTERNALS =
  /\b(SELECT|INSERT INTO|UPDATE "|DELETE FROM)\b|prisma|ECONNREFUSED|ECONNRESET|57P01|terminating connection|pg-boss|\.ts:\d+|\bat [\w.<>]+ \(/i;

type Verdict = 'ok' | 'clean failure' | 'untyped 500' | 'leaks internals' | 'no answer' | 'not json' | 'error without code';

function classify(a: Answer): Verdict {
  if (a.status === 0) return 'no answer';
  if (INTERNALS.test(a.raw)) return 'leaks internals';
  if (a.body === undefined) return 'not json';
  const errors = (a.body.errors ?? []) as { extensions?: { code?: string } }[];
  if (a.status === 200 && !errors.length) return 'ok';
  if (errors.some((e) => !e.extensions?.code)) return 'error without code';
  if (a.status === 503) return 'clean failure';
  if (a.status >= 500 || errors.some((e) => e.extensions?.code === 'INTERNAL_SERVER_ERROR')) return 'untyped 500';
  return 'clean failure';
}

export async function databaseOutageDrill(options: Partial<DatabaseOutageOptions> = {}): Promise<DrillReport> {
  const { outageMs = 10_000, concurrency = 8, requestTimeoutMs = 15_000, readyWithinMs = 15_000, serverEnv = {} } = options;
  const r = new Recorder('database-outage');
  const bin = postgresBinDir();
  if (!bin)
    return r.report(
      'PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql); an embedded database cannot have an outage',
    );

  let cluster: Cluster | undefined;
  let receiver: Receiver | undefined;
  let server: ServerProcess | undefined;
  const dataDir = await tempDir('icp-drill-outage-');
  const arrived = new Set<string>();
  let failFirst: string | undefined; // a delivery answered 503 once, so its retry falls in the outage
  try {
    cluster = await startCluster(bin, { prefix: 'icp-drill-pg-' });
    const databaseUrl = await createServiceDatabase(cluster.adminUrl, 'icp_drill');
    receiver = await startReceiver((req) => {
      const id = String(req.headers['webhook-id']);
      if (id === failFirst && !arrived.has(`${id}:503`)) {
        arrived.add(`${id}:503`);
        return { status: 503 };
      }
      arrived.add(id);
      return { status: 200 };
    });
    server = await startServerProcess(
      {
        ...DRILL_SECRETS,
        DATABASE_URL: databaseUrl,
        DATA_DIR: dataDir.path,
        WEBHOOK_ALLOW_HOSTS: receiver.hostPort,
        WEBHOOK_RETRY_SCHEDULE: '4s,2s,2s,2s,2s,2s,2s,2s,2s,2s',
        QUEUE_MAINTENANCE_INTERVAL_SECONDS: '1',
        LOG_LEVEL: 'warn',
        ...serverEnv,
      },
      await freePort(),
    );
    const proc = server;
    let exited: string | undefined;
    proc.child.once('exit', (code, signal) => (exited = `exit code ${code}, signal ${signal}`));
    const url = proc.url;
    const token = await signToken('outage-drill');
    const created = await gql(
      url,
      token,
      `mutation($url: URL!) { createWebhook(input: { name: "outage drill", url: $url, eventTypes: ["webhook.test"], retryPolicy: { timeoutMs: 3000 } }) {
      ... on CreateWebhookPayload { webhook { id } } } }`,
      { url: receiver.url },
    );
    const webhookId = created.body.data.createWebhook.webhook.id as string;
    const SEND = `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { ... on SendTestEventPayload { delivery { id } } ... on Error { message } } }`;
    const QUERY = `query { viewer { tenantId } webhooks(first: 5) { edges { node { id status consecutiveFailures } } } integrations(first: 5) { totalCount } }`;

    // steady load: every worker loops until told to stop
    let stage: Stage = 'before';
    let loading = true;
    const samples: Sample[] = [];
    const acknowledged: string[] = [];
    let n = 0;
    const workers = Array.from({ length: concurrency }, async () => {
      while (loading) {
        const kind = n++ % 3 === 0 ? 'mutation' : 'query';
        const at = stage;
        const answer =
          kind === 'mutation'
            ? await gql(url, token, SEND, { id: webhookId }, requestTimeoutMs)
            : await gql(url, token, QUERY, {}, requestTimeoutMs);
        const id = answer.body?.data?.sendTestEvent?.delivery?.id as string | undefined;
        if (id) acknowledged.push(id);
        // an answer that straddles a stage change counts in the stage it was asked in
        samples.push({ stage: at, kind, answer });
        if (answer.status === 0) await new Promise((res) => setTimeout(res, 100));
      }
    });
    const readiness: { stage: Stage; status: number }[] = [];
    const probeReadiness = async () => {
      const a = await send(`${url}/readyz`, {}, 5000);
      readiness.push({ stage, status: a.status });
      return a;
    };

    await new Promise((res) => setTimeout(res, 3000));
    const probe = await gql(url, token, SEND, { id: webhookId });
    failFirst = probe.body?.data?.sendTestEvent?.delivery?.id;
    if (failFirst) acknowledged.push(failFirst);
    await waitFor(() => (arrived.has(`${failFirst}:503`) ? true : undefined), 5000, 20);

    stage = 'outage';
    const stopped = performance.now();
    cluster.stopServer();
    r.figure('pg_ctl stop -m fast took (ms)', round(performance.now() - stopped));
    while (performance.now() - stopped < outageMs) {
      await probeReadiness();
      await new Promise((res) => setTimeout(res, 500));
    }
    cluster.startServer();
    const restarted = performance.now();
    r.figure('outage (ms)', round(restarted - stopped));
    stage = 'after';
    // a dead process will not become ready: stop waiting at once
    const ready = await waitFor(
      async () => (exited ? -1 : (await probeReadiness()).status === 200 ? performance.now() : undefined),
      readyWithinMs,
      250,
    );
    r.check(ready !== undefined && ready > 0, `/readyz not 200 within ${readyWithinMs} ms of PostgreSQL being back`);
    if (ready && ready > 0) r.figure('PostgreSQL back to /readyz 200 (ms)', round(ready - restarted));
    const afterReady = samples.length;
    await new Promise((res) => setTimeout(res, exited ? 1000 : 5000));
    loading = false;
    await Promise.all(workers);

    // answers by stage and verdict
    for (const s of ['before', 'outage', 'after'] as const) {
      const counts = new Map<string, number>();
      for (const x of samples.filter((x) => x.stage === s)) {
        const key = `${x.answer.status} ${classify(x.answer)}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const latencies = samples.filter((x) => x.stage === s).map((x) => x.answer.ms);
      r.figure(
        `answers ${s}`,
        `${[...counts].map(([k, v]) => `${k}: ${v}`).join(', ')}; p50 ${round(percentile(latencies, 50))} ms, max ${round(Math.max(...latencies))} ms`,
      );
    }
    const outage = samples.filter((x) => x.stage === 'outage');
    const codes = new Map<string, number>();
    for (const x of outage)
      for (const e of (x.answer.body?.errors ?? []) as { extensions?: { code?: string } }[])
        codes.set(String(e.extensions?.code), (codes.get(String(e.extensions?.code)) ?? 0) + 1);
    r.figure('error codes during the outage', [...codes].map(([k, v]) => `${k}: ${v}`).join(', ') || 'none');
    const bad = outage.filter((x) => !['ok', 'clean failure'].includes(classify(x.answer)));
    const byVerdict = new Map<string, Sample>();
    for (const x of bad) byVerdict.set(classify(x.answer), x);
    for (const [verdict, x] of byVerdict) {
      r.check(
        false,
        `during the outage: ${bad.filter((b) => classify(b.answer) === verdict).length} answers "${verdict}", e.g. ${x.kind} → ${x.answer.status || x.answer.error} ${x.answer.raw.slice(0, 300)}`,
      );
    }
    const outageReadiness = readiness.filter((x) => x.stage === 'outage');
    r.figure('/readyz during the outage', outageReadiness.map((x) => x.status).join(','));
    r.check(
      outageReadiness.length > 0 && outageReadiness.every((x) => x.status === 503),
      `/readyz during the outage was not always 503: ${outageReadiness.map((x) => x.status).join(',')}`,
    );
    const lateAfter = samples.slice(afterReady).filter((x) => x.stage === 'after');
    const lateOk = lateAfter.filter((x) => classify(x.answer) === 'ok').length;
    r.figure('answers ok after /readyz 200', `${lateOk}/${lateAfter.length}`);
    r.check(
      lateAfter.length > 0 && lateOk === lateAfter.length,
      `after recovery, ${lateAfter.length - lateOk}/${lateAfter.length} requests still failed, e.g. ${lateAfter.find((x) => classify(x.answer) !== 'ok')?.answer.raw.slice(0, 300)}`,
    );

    const delivered = await waitFor(
      () => (exited ? -1 : acknowledged.every((id) => arrived.has(id)) ? performance.now() : undefined),
      120_000,
      250,
    );
    r.figure('acknowledged deliveries arrived', `${acknowledged.filter((id) => arrived.has(id)).length}/${acknowledged.length}`);
    r.check(
      delivered !== undefined && delivered > 0,
      `acknowledged deliveries that never arrived: ${acknowledged.filter((id) => !arrived.has(id)).length}${failFirst && !arrived.has(failFirst) ? ' (including the one retried across the outage)' : ''}`,
    );
    if (delivered && delivered > 0) r.figure('PostgreSQL back to last delivery (ms)', round(delivered - restarted));
    r.check(arrived.has(failFirst ?? ''), 'the delivery whose retry was due during the outage never arrived');
    r.check(exited === undefined, `the server process died: ${exited}`);
    r.figure('server process', exited ? `died (${exited})` : 'alive throughout');
    if (r.failures.length) {
      // a crash prints the object it threw at length: name the error first
      const cause = proc
        .output()
        .split('\n')
        .filter((l) => /Unhandled|^\w*Error\b|^error: |Emitted 'error'|node:events/.test(l))
        .slice(0, 8);
      if (cause.length) r.note(`server crash lines:\n${cause.join('\n')}`);
      r.note(`server output:\n${tail(proc.output(), 40)}`);
    }
  } catch (err) {
    r.check(false, `drill aborted: ${(err as Error).message}`);
    if (server) r.note(`server output:\n${tail(server.output(), 40)}`);
  } finally {
    await server?.stop('SIGKILL');
    await receiver?.close();
    cluster?.destroy();
    await dataDir.remove();
  }
  return r.report();
}
