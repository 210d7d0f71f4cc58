/**
 * The typed client example (src/examples/client/). First, its generated code cannot drift: the
 * codegen configuration is run in memory and must reproduce the checked-in gql/ file for file
 * (possible-types.ts, the Apollo recipe's possibleTypes, included).
 * Then the typed main flow runs against the real server over HTTP and SSE, with Twilio's API
 * replaced by a loopback fake that checks what the real one requires and a real TCP receiver:
 * the SMS must have reached the fake with the stored credentials, and the delivery the flow
 * reports must have arrived signed per Standard Webhooks with the secret createWebhook returned
 * (checked with the independent verifier in helpers/standard-webhooks.ts). Last, the same flow as
 * a CLI.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import config, { OUTPUT_DIR, POSSIBLE_TYPES_FILE } from '../../src/examples/client/codegen.ts';
import * as documents from '../../src/examples/client/gql/graphql.ts';
import possibleTypes from '../../src/examples/client/gql/possible-types.ts';
import { runMainFlow, type Step, TRIGGERED_EVENT } from '../../src/examples/client/main-flow.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, type Reply, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';
import { verifyStandardWebhook } from '../helpers/standard-webhooks.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SID = `AC${'7'.repeat(32)}`;
const AUTH_TOKEN = 'typed-client-auth-token';
const FROM = '+15550001234';
const CREDENTIALS = { account_sid: SID, auth_token: AUTH_TOKEN, from_number: FROM };
const SMS = { to: '+14155550123', body: 'Hello from the typed client test' };
const BASIC = `Basic ${Buffer.from(`${SID}:${AUTH_TOKEN}`).toString('base64')}`;
const MESSAGES_PATH = `/2010-04-01/Accounts/${SID}/Messages.json`;

/**
 * Twilio's account read (verification) and Messages API as the real ones answer: Basic
 * sid:auth_token, a form body with exactly To, From, Body and StatusCallback, 201 with the
 * Message resource. The account read waits for `ready`.
 */
function twilioFake(ready: Promise<void>) {
  let sent = 0;
  return async (req: Seen): Promise<Reply> => {
    if (req.headers.authorization !== BASIC) return { status: 401, body: { code: 20003, message: 'Authenticate' } };
    if (req.method === 'GET' && req.path === `/2010-04-01/Accounts/${SID}.json`) {
      await ready;
      return { status: 200, body: { sid: SID, status: 'active' } };
    }
    if (req.method !== 'POST' || req.path !== MESSAGES_PATH) return { status: 404, body: { code: 20404, message: 'not found' } };
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return { status: 400, body: { message: 'not a form' } };
    const form = new URLSearchParams(req.body);
    if ([...form.keys()].sort().join(',') !== 'Body,From,StatusCallback,To') return { status: 400, body: { message: 'unexpected fields' } };
    sent += 1;
    return {
      status: 201,
      body: { sid: `SM${String(sent).padStart(32, '0')}`, status: 'queued', to: form.get('To'), from: form.get('From') },
    };
  };
}

describe('npm run codegen', () => {
  it('reproduces the checked-in gql/ from schema.graphql and operations.graphql', async () => {
    const outputs = (await generate({ ...config, cwd: ROOT, silent: true }, false)) as { filename: string; content: string }[];
    const generated = new Map(outputs.map((o) => [path.relative(path.join(ROOT, OUTPUT_DIR), path.resolve(ROOT, o.filename)), o.content]));
    expect(path.relative(OUTPUT_DIR, POSSIBLE_TYPES_FILE), 'possibleTypes are generated into gql/').toBe('possible-types.ts');
    const checkedIn = (await readdir(path.join(ROOT, OUTPUT_DIR))).sort();
    expect([...generated.keys()].sort(), 'files in gql/ (run npm run codegen)').toEqual(checkedIn);
    for (const [file, content] of generated) {
      expect(await readFile(path.join(ROOT, OUTPUT_DIR, file), 'utf8'), `gql/${file} is stale: run npm run codegen`).toBe(content);
    }
  });

  it('gives Apollo Client every member of each union and interface, the Error interface included', () => {
    expect(possibleTypes.possibleTypes.Error).toEqual(expect.arrayContaining(['ValidationError', 'NotFoundError', 'ConflictError']));
    expect(possibleTypes.possibleTypes.ConfigureIntegrationResult).toEqual(
      expect.arrayContaining(['ConfigureIntegrationPayload', 'ValidationError', 'ConflictError']),
    );
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
    expect(embedded).toHaveLength(10);
  });
});

describe('the typed main flow against the running server', () => {
  let server: TestServer;
  let twilio: FakeApi;
  let receiver: Receiver;
  // Twilio's answer to the verification waits until the flow's status subscription is open and
  // its read of the status answered, so ACTIVE can only reach the flow over SSE (the step was once
  // reported before the read, which a slow run then saw ACTIVE already).
  let subscribed!: () => void;
  const statusStreamOpen = new Promise<void>((resolve) => (subscribed = resolve));

  beforeAll(async () => {
    twilio = await startFakeApi(twilioFake(statusStreamOpen));
    receiver = await startReceiver();
    server = await startTestServer({ TWILIO_API_BASE_URL: twilio.url, WEBHOOK_ALLOW_HOSTS: receiver.hostPort });
  });

  afterAll(async () => {
    await server?.close();
    await twilio?.close();
    await receiver?.close();
  });

  it('configures Twilio, waits for ACTIVE over SSE, routes and sends an SMS, and receives its signed event at the webhook', async () => {
    const token = await server.token({ tenant_id: 'typed-client', sub: 'example' });
    const steps: Step[] = [];
    const result = await runMainFlow({
      url: `${server.url}/graphql`,
      headers: { authorization: `Bearer ${token}` },
      provider: 'twilio',
      credentials: CREDENTIALS,
      receiverUrl: receiver.url,
      sms: SMS,
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
      'routed',
      'watching-deliveries',
      'sent',
      'delivered',
      'read',
    ]);
    expect(result.tenantId).toBe('typed-client');
    expect(result.providers).toContain('twilio');
    expect(result.integration).toMatchObject({ status: 'ACTIVE', provider: { name: 'twilio' } });
    expect(result.statusChanges.at(-1)).toMatchObject({ id: result.integration.id, status: 'ACTIVE' });

    // the SMS went to Twilio once, from the stored number, with the integration's status callback
    const sends = twilio.seen.filter((r) => r.method === 'POST' && r.path === MESSAGES_PATH);
    expect(sends).toHaveLength(1);
    const form = Object.fromEntries(new URLSearchParams(sends[0]!.body));
    expect(form).toMatchObject({ To: SMS.to, From: FROM, Body: SMS.body });
    expect(form.StatusCallback).toMatch(new RegExp(`^${server.url}/hooks/twilio/[^/]+$`));

    // sendSms waited for the end; reading the operation back shows the one provider call
    const reference = 'SM00000000000000000000000000000001';
    expect(result.sent).toMatchObject({ status: 'SUCCEEDED', providerReference: reference });
    expect(result.operation).toMatchObject({
      id: result.sent.id,
      capability: 'send_sms',
      status: 'SUCCEEDED',
      usedFallback: false,
      providerReference: reference,
      deliveryStatus: null,
      attemptCount: 1,
      integration: { id: result.integration.id, provider: { name: 'twilio' } },
      result: { messageId: reference, status: 'queued' },
      error: null,
    });
    expect(result.operation.attempts).toMatchObject([{ attemptNumber: 1, outcome: 'SUCCEEDED', httpStatus: 201, error: null }]);

    expect(result.delivery).toMatchObject({
      status: 'SUCCEEDED',
      attemptCount: 1,
      event: { type: TRIGGERED_EVENT, payload: { id: result.sent.id, idempotencyKey: result.idempotencyKey, status: 'SUCCEEDED' } },
    });

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
        ICP_TO: SMS.to,
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
    expect(output).toMatch(/^read: SUCCEEDED after 1 provider call\(s\); deliveryStatus not reported yet$/m);
    expect(receiver.received.some((r) => r.path === '/hooks/cli')).toBe(true);
  });
});
