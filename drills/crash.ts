/**
 * Crash drill: the server process is killed with SIGKILL while webhook deliveries (some in flight
 * to a receiver that holds them) and integration verifications (the fake provider API holds the
 * check) are pending, then restarted on the same DATA_DIR. Every delivery must arrive exactly once
 * with a 2xx answer (earlier, unanswered copies carry the same webhook-id: at-least-once), and
 * every integration must reach ACTIVE. Work that was in flight at the kill comes back when its
 * job expires (pg-boss maintenance), so the time to recover is reported too.
 */
import { type Seen, startFakeApi } from '../test/helpers/fake-api.ts';
import { freePort, type ServerProcess, startServerProcess } from '../test/helpers/process.ts';
import { type Received, startReceiver } from '../test/helpers/receiver.ts';
import { verifyStandardWebhook } from '../test/helpers/standard-webhooks.ts';
import { DRILL_SECRETS, type DrillReport, gql, pool, Recorder, round, signToken, tail, tempDir, waitFor } from './harness.ts';

export interface CrashOptions {
  deliveries: number;
  verifications: number;
  /** How long after the restart everything must have completed. */
  recoveryTimeoutMs: number;
}

const KEY_PREFIX = 'sk_test_crashdrill';

export async function crashDrill(options: Partial<CrashOptions> = {}): Promise<DrillReport> {
  const { deliveries = 20, verifications = 6, recoveryTimeoutMs = 150_000 } = options;
  const r = new Recorder('crash');
  const dataDir = await tempDir('icp-drill-crash-');
  let held = true;
  const answered = new Map<string, number>(); // webhook-id → 2xx answers
  const receiver = await startReceiver((req: Received) => {
    if (held) return { status: 200, hang: true };
    const id = String(req.headers['webhook-id']);
    answered.set(id, (answered.get(id) ?? 0) + 1);
    return { status: 200 };
  });
  // Stripe's balance check, held until the crash; afterwards it accepts every drill key
  const provider = await startFakeApi((req: Seen) =>
    held
      ? new Promise(() => {})
      : String(req.headers.authorization).startsWith(`Bearer ${KEY_PREFIX}`)
        ? { status: 200, body: { object: 'balance', available: [] } }
        : { status: 401, body: { error: { type: 'invalid_request_error' } } },
  );
  const env = {
    ...DRILL_SECRETS,
    DATA_DIR: dataDir.path,
    WEBHOOK_ALLOW_HOSTS: receiver.hostPort,
    STRIPE_API_BASE_URL: provider.url,
    QUEUE_MAINTENANCE_INTERVAL_SECONDS: '1',
    WEBHOOK_RETRY_SCHEDULE: '1s,1s,1s,1s,1s,1s,1s,1s',
    VERIFY_TIMEOUT_MS: '3000',
    VERIFY_RETRY_DELAY_SECONDS: '1',
    LOG_LEVEL: 'warn',
  };
  let server: ServerProcess | undefined;
  try {
    const port = await freePort();
    server = await startServerProcess(env, port);
    const url = server.url;
    const token = await signToken('crash-drill');

    // M tenants, each configuring Stripe: each configuration enqueues one verification
    const integrations = await pool(verifications, 4, async (i) => {
      const t = await signToken(`crash-drill-v${i}`);
      const res = await gql(
        url,
        t,
        `mutation($c: JSONObject!) { configureIntegration(input: { provider: "stripe", credentials: $c }) {
        ... on ConfigureIntegrationPayload { integration { id status } } ... on Error { message } } }`,
        {
          c: { publishable_key: `pk_test_crashdrill${i}`, secret_key: `${KEY_PREFIX}${i}` },
        },
      );
      const id = res.body?.data?.configureIntegration?.integration?.id as string | undefined;
      if (!id) throw new Error(`configureIntegration failed: ${res.raw}`);
      return { id, token: t, key: `${KEY_PREFIX}${i}` };
    });

    const created = await gql(
      url,
      token,
      `mutation($url: URL!) { createWebhook(input: { name: "crash drill", url: $url, eventTypes: ["webhook.test"], retryPolicy: { timeoutMs: 5000 } }) {
      ... on CreateWebhookPayload { signingSecret webhook { id } } } }`,
      { url: receiver.url },
    );
    const { signingSecret, webhook } = created.body.data.createWebhook as { signingSecret: string; webhook: { id: string } };
    const deliveryIds = await pool(deliveries, 4, async () => {
      const sent = await gql(
        url,
        token,
        `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { ... on SendTestEventPayload { delivery { id } } } }`,
        {
          id: webhook.id,
        },
      );
      return sent.body.data.sendTestEvent.delivery.id as string;
    });

    const inFlight = await waitFor(
      () => (receiver.received.length >= 1 && provider.seen.length >= Math.min(2, verifications) ? true : undefined),
      30_000,
      50,
    );
    r.check(inFlight === true, 'no delivery and verification were in flight within 30 s of being enqueued');
    r.figure('deliveries enqueued', deliveries);
    r.figure('verifications enqueued', verifications);
    r.figure('deliveries in flight at the kill', new Set(receiver.received.map((x) => x.headers['webhook-id'])).size);
    r.figure('verifications in flight at the kill', provider.seen.length);
    await server.stop('SIGKILL');
    const receivedBeforeKill = receiver.received.length;
    const seenBeforeKill = provider.seen.length;
    held = false;

    const restarted = performance.now();
    server = await startServerProcess(env, port);
    r.figure('restart to ready (ms)', round(performance.now() - restarted));

    const allDelivered = await waitFor(
      () => (deliveryIds.every((id) => answered.has(id)) ? performance.now() : undefined),
      recoveryTimeoutMs,
    );
    r.check(
      allDelivered !== undefined,
      `only ${deliveryIds.filter((id) => answered.has(id)).length}/${deliveries} deliveries arrived within ${recoveryTimeoutMs} ms of the restart`,
    );
    if (allDelivered) r.figure('restart to last delivery (ms)', round(allDelivered - restarted));

    const statusOf = async (i: { id: string; token: string }) =>
      (await gql(server!.url, i.token, `query($id: ID!) { integration(id: $id) { status } }`, { id: i.id })).body?.data?.integration
        ?.status as string | undefined;
    const allActive = await waitFor(async () => {
      const statuses = await Promise.all(integrations.map(statusOf));
      return statuses.every((s) => s === 'ACTIVE') ? performance.now() : undefined;
    }, recoveryTimeoutMs);
    if (!allActive) {
      const statuses = await Promise.all(integrations.map(statusOf));
      r.check(false, `integrations not ACTIVE ${recoveryTimeoutMs} ms after the restart: ${statuses.join(', ')}`);
    } else r.figure('restart to last ACTIVE (ms)', round(allActive - restarted));

    // every request that reached the receiver is one of ours, signed; none was answered 2xx twice
    const byId = new Map<string, number>();
    for (const req of receiver.received) {
      const id = String(req.headers['webhook-id']);
      byId.set(id, (byId.get(id) ?? 0) + 1);
      r.check(deliveryIds.includes(id), `the receiver got an unknown webhook-id ${id}`);
      r.check(
        verifyStandardWebhook({ secret: signingSecret, headers: req.headers, body: req.body }).ok,
        `a request with webhook-id ${id} is not validly signed`,
      );
    }
    const twice = [...answered].filter(([, n]) => n > 1);
    r.check(twice.length === 0, `deliveries answered 2xx more than once: ${twice.map(([id, n]) => `${id}×${n}`).join(', ')}`);
    r.figure('requests at the receiver (before kill / total)', `${receivedBeforeKill} / ${receiver.received.length}`);
    r.figure('deliveries sent more than once (same webhook-id)', [...byId.values()].filter((n) => n > 1).length);

    const statuses = await waitFor(async () => {
      const res = await gql(
        server!.url,
        token,
        `query($id: ID!) { webhook(id: $id) { deliveries(first: 100) { edges { node { status attemptCount } } } } }`,
        { id: webhook.id },
      );
      const nodes = res.body.data.webhook.deliveries.edges.map((e: { node: { status: string; attemptCount: number } }) => e.node);
      return nodes.length === deliveries && nodes.every((n: { status: string }) => n.status === 'SUCCEEDED') ? nodes : undefined;
    }, 30_000);
    r.check(statuses !== undefined, 'not every delivery is recorded SUCCEEDED');

    // each integration's check reached the provider; more than once only for one held at the kill
    const calls = integrations.map((i) => provider.seen.filter((s) => s.headers.authorization === `Bearer ${i.key}`).length);
    r.check(
      calls.every((n) => n >= 1),
      `an ACTIVE integration was never checked at the provider: calls ${calls.join(',')}`,
    );
    r.figure('verification calls (before kill / total)', `${seenBeforeKill} / ${provider.seen.length}`);
    r.figure('verification calls per integration', calls.join(','));
    if (r.failures.length) r.note(`server output:\n${tail(server.output())}`);
  } catch (err) {
    r.check(false, `drill aborted: ${(err as Error).message}`);
    if (server) r.note(`server output:\n${tail(server.output())}`);
  } finally {
    await server?.stop('SIGKILL');
    await receiver.close();
    await provider.close();
    await dataDir.remove();
  }
  return r.report();
}
