/**
 * Hanging-receiver drill: one webhook's receiver accepts the connection and never answers, while
 * another webhook's receiver answers at once. Measures delivery latency and throughput to the
 * healthy receiver alone (baseline), then with deliveries to the hung one enqueued first, so they
 * take the delivery workers before the healthy ones. Healthy deliveries must all arrive and keep
 * their latency within what the hung attempts ahead of them explain; every hung delivery must end its attempt at the
 * webhook's timeout and be recorded as a failed attempt with a retry scheduled.
 */
import { startTestServer, type TestServer } from '../test/helpers/app.ts';
import { type Receiver, startReceiver } from '../test/helpers/receiver.ts';
import { type DrillReport, gql, percentile, pool, Recorder, round, signToken, tail, waitFor } from './harness.ts';

export interface HangingReceiverOptions {
  /** Deliveries to the healthy receiver in each phase. */
  healthy: number;
  /** Deliveries to the receiver that never answers. */
  hung: number;
  /** The hung webhook's attempt timeout. */
  timeoutMs: number;
}

interface Phase {
  latencies: number[];
  durationMs: number;
  arrived: number;
}

/** Delivery workers per process (src/app.ts). */
const DELIVERY_WORKERS = 8;

const SEND = `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { ... on SendTestEventPayload { delivery { id } } } }`;

export async function hangingReceiverDrill(options: Partial<HangingReceiverOptions> = {}): Promise<DrillReport> {
  const { healthy = 100, hung = 16, timeoutMs = 1000 } = options;
  const r = new Recorder('hanging-receiver');
  const arrivedAt = new Map<string, number>();
  let good: Receiver | undefined;
  let bad: Receiver | undefined;
  let server: TestServer | undefined;
  try {
    good = await startReceiver((req) => {
      arrivedAt.set(String(req.headers['webhook-id']), performance.now());
      return { status: 200 };
    });
    bad = await startReceiver(() => ({ status: 200, hang: true }));
    server = await startTestServer({
      WEBHOOK_ALLOW_HOSTS: `${good.hostPort},${bad.hostPort}`,
      // one retry, far enough out that the drill sees it scheduled, not run
      WEBHOOK_RETRY_SCHEDULE: '60s',
      LOG_LEVEL: 'warn',
    });
    const url = server.url;
    const token = await signToken('hanging-drill');
    const create = async (name: string, target: string, timeout: number) => {
      const res = await gql(
        url,
        token,
        `mutation($url: URL!, $name: String!, $t: Int!) { createWebhook(input: { name: $name, url: $url, eventTypes: ["webhook.test"], retryPolicy: { timeoutMs: $t } }) {
        ... on CreateWebhookPayload { webhook { id } } } }`,
        { url: target, name, t: timeout },
      );
      const id = res.body?.data?.createWebhook?.webhook?.id as string | undefined;
      if (!id) throw new Error(`createWebhook failed: ${res.raw}`);
      return id;
    };
    const healthyHook = await create('healthy', good.url, 5000);
    const hungHook = await create('hung', bad.url, timeoutMs);

    /** Sends `n` test events to the healthy webhook and waits for all of them to arrive. */
    const healthyPhase = async (n: number): Promise<Phase> => {
      const started = performance.now();
      const sent = await pool(n, 4, async () => {
        const res = await gql(url, token, SEND, { id: healthyHook });
        return { id: res.body?.data?.sendTestEvent?.delivery?.id as string, at: performance.now() };
      });
      const done = await waitFor(() => (sent.every((s) => arrivedAt.has(s.id)) ? true : undefined), 60_000, 20);
      const latencies = sent.filter((s) => arrivedAt.has(s.id)).map((s) => arrivedAt.get(s.id)! - s.at);
      const last = Math.max(...sent.map((s) => arrivedAt.get(s.id) ?? 0));
      r.check(
        done === true,
        `${n - latencies.length}/${n} healthy deliveries did not arrive within 60 s: ${sent
          .filter((s) => !arrivedAt.has(s.id))
          .map((s) => s.id)
          .join(', ')}`,
      );
      return { latencies, durationMs: last - started, arrived: latencies.length };
    };

    const baseline = await healthyPhase(healthy);
    const hungSentAt = performance.now();
    const hungIds = await pool(
      hung,
      4,
      async () => (await gql(url, token, SEND, { id: hungHook })).body?.data?.sendTestEvent?.delivery?.id as string,
    );
    const withHung = await healthyPhase(healthy);

    const describe = (p: Phase) => ({
      throughput: p.arrived / (p.durationMs / 1000),
      text: `p50 ${round(percentile(p.latencies, 50))} ms, p95 ${round(percentile(p.latencies, 95))} ms, max ${round(Math.max(...p.latencies))} ms, ${round(p.arrived / (p.durationMs / 1000), 1)}/s`,
    });
    const a = describe(baseline);
    const b = describe(withHung);
    r.figure('healthy deliveries per phase', healthy);
    r.figure(`hung deliveries (timeout ${timeoutMs} ms)`, hung);
    r.figure('healthy alone', a.text);
    r.figure('healthy with hung ones queued first', b.text);
    // Not starved: a healthy delivery waits at most for the hung attempts ahead of it, which the
    // delivery workers end at the timeout in parallel, never for the hung receiver itself.
    const bound = percentile(baseline.latencies, 95) + Math.ceil(hung / DELIVERY_WORKERS) * timeoutMs + 2000;
    r.figure('healthy p95 bound with hung ones (ms)', round(bound));
    r.check(
      percentile(withHung.latencies, 95) <= bound,
      `healthy p95 latency ${round(percentile(withHung.latencies, 95))} ms with a hung receiver exceeds ${round(bound)} ms`,
    );

    // every hung delivery: one attempt that timed out, status PENDING with the retry scheduled
    type Delivery = {
      id: string;
      status: string;
      nextAttemptAt: string | null;
      attempts: { error: string | null; responseStatus: number | null; durationMs: number }[];
    };
    let last = '';
    const settled = await waitFor(async () => {
      const res = await gql(
        url,
        token,
        `query($id: ID!) { webhook(id: $id) { deliveries(first: 100) { edges { node { id status nextAttemptAt attempts { error responseStatus durationMs } } } } } }`,
        { id: hungHook },
      );
      last = res.raw;
      const nodes = (res.body?.data?.webhook?.deliveries?.edges ?? []).map((e: { node: Delivery }) => e.node) as Delivery[];
      return nodes.length === hung && nodes.every((n) => n.attempts.length >= 1) ? nodes : undefined;
    }, 60_000);
    r.check(settled !== undefined, `not every hung delivery recorded an attempt within 60 s: ${last.slice(0, 1000)}`);
    if (settled) {
      r.figure('hung deliveries all attempted after (ms)', round(performance.now() - hungSentAt));
      const attempts = settled.flatMap((d) => d.attempts);
      const timedOut = attempts.filter((x) => x.responseStatus === null && /time/i.test(x.error ?? ''));
      r.figure('hung attempts recorded as timed out', `${timedOut.length}/${attempts.length}`);
      r.figure(
        'hung attempt duration (min/max ms)',
        `${Math.min(...attempts.map((x) => x.durationMs))}/${Math.max(...attempts.map((x) => x.durationMs))}`,
      );
      r.check(
        timedOut.length === attempts.length,
        `attempts to the hung receiver not recorded as timeouts: ${JSON.stringify(attempts.filter((x) => !timedOut.includes(x)).slice(0, 3))}`,
      );
      r.check(
        attempts.every((x) => x.durationMs < timeoutMs + 2000),
        `an attempt to the hung receiver outlived its ${timeoutMs} ms timeout by more than 2 s`,
      );
      const scheduled = settled.filter((d) => d.status === 'PENDING' && d.nextAttemptAt !== null);
      r.figure('hung deliveries PENDING with a retry scheduled', `${scheduled.length}/${hung}`);
      r.check(
        scheduled.length === hung,
        `hung deliveries without a scheduled retry: ${settled
          .filter((d) => !scheduled.includes(d))
          .map((d) => `${d.id} ${d.status}`)
          .join(', ')}`,
      );
      r.check(
        hungIds.every((id) => settled.some((d) => d.id === id)),
        'a hung delivery is missing from its webhook',
      );
    }
    if (r.failures.length) r.note(`server log:\n${tail(server.logs.join(''))}`);
  } catch (err) {
    r.check(false, `drill aborted: ${(err as Error).message}`);
  } finally {
    await server?.close();
    await good?.close();
    await bad?.close();
  }
  return r.report();
}
