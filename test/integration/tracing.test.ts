/**
 * OpenTelemetry tracing against a loopback OTLP/HTTP collector: spans of GraphQL operations and
 * of background jobs (a verification against a loopback Stripe, a delivery to a loopback
 * receiver) arrive when the app closes, under the configured service name, and a canary secret
 * sent in variables (including one a coercion error quotes) appears nowhere in what was exported.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { createTracing, NO_TRACING, summarizeGraphQLErrors } from '../../src/observability/tracing.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, startFakeApi, stripeBalance } from '../helpers/fake-api.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

const CANARY = `CANARY${Date.now()}x`;
const STRIPE_KEY = `sk_test_${CANARY}`;

interface Collector {
  url: string;
  /** Raw bodies of every POST /v1/traces. */
  bodies: string[];
  close(): Promise<void>;
}

async function startCollector(): Promise<Collector> {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') return res.writeHead(404).end();
      bodies.push(Buffer.concat(chunks).toString());
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

type AnyValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean };
interface ExportedSpan {
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  service: unknown;
}

const plain = (attrs: { key: string; value: AnyValue }[] = []) =>
  Object.fromEntries(
    attrs.map((a) => [a.key, a.value.stringValue ?? (a.value.intValue !== undefined ? Number(a.value.intValue) : a.value.boolValue)]),
  );

function spansOf(bodies: string[]): ExportedSpan[] {
  const spans: ExportedSpan[] = [];
  for (const body of bodies) {
    for (const rs of JSON.parse(body).resourceSpans ?? []) {
      const service = plain(rs.resource?.attributes)['service.name'];
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          spans.push({
            name: s.name,
            kind: s.kind,
            attributes: plain(s.attributes),
            events: (s.events ?? []).map((e: { name: string; attributes?: { key: string; value: AnyValue }[] }) => ({
              name: e.name,
              attributes: plain(e.attributes),
            })),
            service,
          });
        }
      }
    }
  }
  return spans;
}

let collector: Collector;
let stripe: FakeApi;
let receiver: Receiver;
let server: TestServer | undefined;

beforeAll(async () => {
  collector = await startCollector();
  stripe = await startFakeApi(stripeBalance(STRIPE_KEY));
  receiver = await startReceiver();
  server = await startTestServer({
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_SERVICE_NAME: 'icp-tracing-test',
    STRIPE_API_BASE_URL: stripe.url,
    WEBHOOK_ALLOW_HOSTS: receiver.hostPort,
  });
});

afterAll(async () => {
  await server?.close();
  for (const c of [collector, stripe, receiver]) await c?.close();
});

describe('with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('exports operation and job spans on close, and never a variable', async () => {
    const token = await server!.token({ tenant_id: 'traced' });
    const hook = await server!.gql(
      `mutation CreateHook($input: CreateWebhookInput!) { createWebhook(input: $input) { ... on CreateWebhookPayload { signingSecret } } }`,
      { input: { name: 'traced', url: receiver.url, eventTypes: ['integration.status_changed'] } },
      { token },
    );
    const signingSecret: string = hook.data.createWebhook.signingSecret;
    const configured = await server!.gql(
      `mutation ConfigureStripe($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) {
        ... on ConfigureIntegrationPayload { integration { id } } } }`,
      {
        input: {
          provider: 'stripe',
          credentials: { publishable_key: 'pk_test_abc', secret_key: STRIPE_KEY, webhook_secret: `whsec_${CANARY}` },
        },
      },
      { token },
    );
    expect(configured.data.configureIntegration.integration.id).toBeTruthy();
    // graphql-js quotes a value it cannot coerce in the error message; the service's errors do not
    // (value-free-errors.ts), and neither may the span recording the refusal
    const refused = await server!.gql(
      `mutation Refused($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename } }`,
      { input: { provider: { secret: CANARY }, credentials: {} } },
      { token },
    );
    expect(refused.raw).toContain('input.provider');
    expect(refused.raw).not.toContain(CANARY);
    await eventually(async () => (receiver.received.length ? true : undefined));

    await server!.close();
    server = undefined;

    const raw = collector.bodies.join('\n');
    expect(collector.bodies.length).toBeGreaterThan(0);
    for (const secret of [CANARY, token, signingSecret]) expect(raw).not.toContain(secret);

    const spans = spansOf(collector.bodies);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['icp-tracing-test']));
    const operation = spans.find((s) => s.name === 'mutation.ConfigureStripe');
    expect(operation?.attributes).toMatchObject({
      'graphql.execute.operationName': 'ConfigureStripe',
      'graphql.execute.operationType': 'mutation',
    });
    expect(Object.keys(operation!.attributes)).not.toContain('graphql.execute.variables');
    expect(Object.keys(operation!.attributes)).not.toContain('graphql.execute.result');

    const refusedSpan = spans.find((s) => s.name === 'mutation.Refused');
    const exception = refusedSpan?.events.find((e) => e.name === 'exception');
    expect(exception?.attributes['exception.type']).toBe('graphql.execute.error');
    // graphql-js's coercion error has neither code nor path: nothing of it is left
    expect(JSON.parse(String(exception?.attributes['exception.message']))).toEqual([{ code: null, path: null }]);

    const verify = spans.find((s) => s.name === 'process integration-verify');
    expect(verify?.attributes).toMatchObject({
      'messaging.system': 'pg-boss',
      'messaging.destination.name': 'integration-verify',
      'icp.provider': 'stripe',
      'icp.verification.outcome': 'active',
    });
    const deliver = spans.find((s) => s.name === 'process webhook-deliver' && s.attributes['icp.delivery.outcome'] === 'succeeded');
    expect(deliver?.attributes).toMatchObject({ 'http.response.status_code': 200 });
  });
});

describe('configuration', () => {
  it('is off without an endpoint, with no plugin and handlers left as they are', async () => {
    const tracing = await createTracing(undefined, createLogger('silent'));
    expect(tracing).toBe(NO_TRACING);
    const handler = async () => {};
    expect(tracing.traceJob('q', handler)).toBe(handler);
    expect(loadConfig({}).tracing).toBeUndefined();
  });

  it('reads the standard OTEL variables', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      serviceName: 'integrations-control-plane',
    });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/v1/traces',
        OTEL_SERVICE_NAME: 'icp',
      }).tracing,
    ).toEqual({ tracesUrl: 'https://traces.example/v1/traces', serviceName: 'icp' });
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(ConfigError);
  });

  it('reduces recorded GraphQL errors to codes and paths', () => {
    const recorded = JSON.stringify([
      { message: `bad ${CANARY}`, path: ['a', 0], extensions: { code: 'FORBIDDEN', detail: CANARY } },
      { message: CANARY },
    ]);
    expect(JSON.parse(summarizeGraphQLErrors(recorded))).toEqual([
      { code: 'FORBIDDEN', path: ['a', 0] },
      { code: null, path: null },
    ]);
    expect(summarizeGraphQLErrors(`not json ${CANARY}`)).toBe('[redacted]');
  });
});
