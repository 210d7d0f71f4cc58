/**
 * The typed client example (src/examples/client/). First, its generated code cannot drift: the
 * codegen configuration is run in memory and must reproduce the checked-in gql/ file for file.
 * Then the typed main flow runs against the real server over HTTP and SSE, with Stripe's API
 * replaced by a loopback fake and a real TCP receiver, and the delivery it reports must have
 * arrived signed per Standard Webhooks with the secret createWebhook returned (checked with the
 * independent verifier in helpers/standard-webhooks.ts). Last, the same flow as a CLI.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import config, { OUTPUT_DIR } from '../../src/examples/client/codegen.ts';
import * as documents from '../../src/examples/client/gql/graphql.ts';
import { runMainFlow, type Step, TRIGGERED_EVENT } from '../../src/examples/client/main-flow.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, startFakeApi, stripeBalance } from '../helpers/fake-api.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';
import { verifyStandardWebhook } from '../helpers/standard-webhooks.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SECRET_KEY = 'sk_test_typedClient123';
const CREDENTIALS = { publishable_key: 'pk_test_typedClient', secret_key: SECRET_KEY };

describe('npm run codegen', () => {
  it('reproduces the checked-in gql/ from schema.graphql and operations.graphql', async () => {
    const outputs = (await generate({ ...config, cwd: ROOT, silent: true }, false)) as { filename: string; content: string }[];
    const generated = new Map(outputs.map((o) => [path.relative(path.join(ROOT, OUTPUT_DIR), path.resolve(ROOT, o.filename)), o.content]));
    const checkedIn = (await readdir(path.join(ROOT, OUTPUT_DIR))).sort();
    expect([...generated.keys()].sort(), 'files in gql/ (run npm run codegen)').toEqual(checkedIn);
    for (const [file, content] of generated) {
      expect(await readFile(path.join(ROOT, OUTPUT_DIR, file), 'utf8'), `gql/${file} is stale: run npm run codegen`).toBe(content);
    }
  });

  it('lists every operation in persisted-documents.json under the sha256 of its text', async () => {
    const manifest = JSON.parse(await readFile(path.join(ROOT, OUTPUT_DIR, 'persisted-documents.json'), 'utf8')) as Record<string, string>;
    for (const [hash, text] of Object.entries(manifest)) {
      expect(hash).toBe(`sha256:${createHash('sha256').update(text).digest('hex')}`);
    }
    const embedded = Object.values(documents)
      .map((d) => (d as { __meta__?: { hash?: string } }).__meta__?.hash)
      .filter((h): h is string => h !== undefined);
    expect(embedded.sort()).toEqual(Object.keys(manifest).sort());
    expect(embedded).toHaveLength(8);
  });
});

describe('the typed main flow against the running server', () => {
  let server: TestServer;
  let stripe: FakeApi;
  let receiver: Receiver;
  // Stripe's answer waits until the flow's status subscription is open, so ACTIVE can only
  // reach the flow over SSE.
  let subscribed!: () => void;
  const statusStreamOpen = new Promise<void>((resolve) => (subscribed = resolve));

  beforeAll(async () => {
    const balance = stripeBalance(SECRET_KEY);
    stripe = await startFakeApi(async (req) => {
      await statusStreamOpen;
      return balance(req);
    });
    receiver = await startReceiver();
    server = await startTestServer({ STRIPE_API_BASE_URL: stripe.url, WEBHOOK_ALLOW_HOSTS: receiver.hostPort });
  });

  afterAll(async () => {
    await server?.close();
    await stripe?.close();
    await receiver?.close();
  });

  it('configures, waits for ACTIVE over SSE, and receives a signed event at the webhook', async () => {
    const token = await server.token({ tenant_id: 'typed-client', sub: 'example' });
    const steps: Step[] = [];
    const result = await runMainFlow({
      url: `${server.url}/graphql`,
      headers: { authorization: `Bearer ${token}` },
      provider: 'stripe',
      credentials: CREDENTIALS,
      receiverUrl: receiver.url,
      timeoutMs: 20_000,
      onStep: (step) => {
        steps.push(step);
        if (step === 'watching-status') subscribed();
      },
    });

    expect(steps).toEqual([
      'viewer',
      'providers',
      'configured',
      'watching-status',
      'active',
      'webhook-created',
      'watching-deliveries',
      'triggered',
      'delivered',
    ]);
    expect(result.tenantId).toBe('typed-client');
    expect(result.providers).toContain('stripe');
    expect(result.integration).toMatchObject({ status: 'ACTIVE', provider: { name: 'stripe' } });
    expect(result.statusChanges.at(-1)).toMatchObject({ id: result.integration.id, status: 'ACTIVE' });
    expect(stripe.seen.some((r) => r.path === '/v1/balance' && r.headers.authorization === `Bearer ${SECRET_KEY}`)).toBe(true);
    expect(result.delivery).toMatchObject({ status: 'SUCCEEDED', attemptCount: 1, event: { type: TRIGGERED_EVENT } });

    const arrived = receiver.received.filter((r) => r.headers['webhook-id'] === result.delivery.id);
    expect(arrived).toHaveLength(1);
    const [request] = arrived;
    const check = verifyStandardWebhook({ secret: result.signingSecret, headers: request!.headers, body: request!.body });
    expect(check).toMatchObject({ ok: true, id: result.delivery.id });
    const other = verifyStandardWebhook({
      secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
      headers: request!.headers,
      body: request!.body,
    });
    expect(other.ok).toBe(false);
    expect(JSON.parse(request!.body)).toEqual({
      type: TRIGGERED_EVENT,
      timestamp: result.delivery.event.occurredAt,
      data: result.delivery.event.payload,
    });
  });

  it('runs the same flow as a CLI configured from the environment', async () => {
    subscribed();
    const token = await server.token({ tenant_id: 'typed-client-cli', sub: 'example' });
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/examples/client/main-flow.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        ICP_URL: `${server.url}/graphql`,
        ICP_TOKEN: token,
        ICP_CREDENTIALS: JSON.stringify(CREDENTIALS),
        ICP_RECEIVER_URL: `${receiver.url}/cli`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));

    expect(code, output).toBe(0);
    expect(output).toMatch(/^active: /m);
    expect(output).toMatch(new RegExp(`^delivered: ${TRIGGERED_EVENT.replace('.', '\\.')} as `, 'm'));
    expect(receiver.received.some((r) => r.path === '/hooks/cli')).toBe(true);
  });
});
