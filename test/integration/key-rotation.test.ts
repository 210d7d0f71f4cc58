/**
 * Key rotation: after `rotateKeys` with a new key first in the ring, every stored credential,
 * webhook secret and operation input and result opens with the new key alone; a second run has
 * nothing left to do.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { credentialsAad, revealCredentials } from '../../src/crypto/credentials.ts';
import { keyringFromKeys } from '../../src/crypto/keyring.ts';
import { rotateKeys } from '../../src/crypto/rotate.ts';
import { forTenant } from '../../src/db/tenant.ts';
import { openPart } from '../../src/operations/sealed.ts';
import type { CredentialValue } from '../../src/providers/types.ts';
import { revealHeaders } from '../../src/webhooks/headers.ts';
import { signingSecrets } from '../../src/webhooks/secrets.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import { addRule, basicAuth, configureActive, gqlAs } from '../helpers/integrations.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

const OLD = Buffer.alloc(32, 1);
const NEW = Buffer.alloc(32, 2);
let server: TestServer;
let receiver: Receiver;
let twilioApi: FakeApi;
const TWILIO_SID = `AC${'5'.repeat(32)}`;

/** Twilio's account check and Messages API, with Basic auth and the form a send needs. */
function twilioFake(req: Seen) {
  if (req.headers.authorization !== basicAuth(TWILIO_SID, 'twilio-token')) return { status: 401, body: { code: 20003 } };
  if (req.method === 'GET' && req.path === `/2010-04-01/Accounts/${TWILIO_SID}.json`) return { status: 200, body: { sid: TWILIO_SID } };
  const form = new URLSearchParams(req.body);
  if (req.method === 'POST' && req.path === `/2010-04-01/Accounts/${TWILIO_SID}/Messages.json` && form.get('To') && form.get('Body')) {
    return { status: 201, body: { sid: 'SMrotation', status: 'queued' } };
  }
  return { status: 400, body: { message: 'unexpected request' } };
}

beforeAll(async () => {
  receiver = await startReceiver();
  twilioApi = await startFakeApi(twilioFake);
  server = await startTestServer({
    ENCRYPTION_KEY: '',
    ENCRYPTION_KEYS: `old:${OLD.toString('base64')}`,
    WEBHOOK_ALLOW_HOSTS: receiver.hostPort,
    STRIPE_API_BASE_URL: 'http://127.0.0.1:9',
    TWILIO_API_BASE_URL: twilioApi.url,
  });
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
  await twilioApi?.close();
});

/** An SMS sent through Twilio by the tenant "rotation-ops": its input and result sealed under the old key. */
async function sendOperation(): Promise<string> {
  const token = await server.token({ tenant_id: 'rotation-ops' });
  const admin = gqlAs(server, { token });
  const twilio = await configureActive(admin, 'twilio', {
    account_sid: TWILIO_SID,
    auth_token: 'twilio-token',
    from_number: '+15550000001',
  });
  await addRule(admin, { capability: 'send_sms', integrationId: twilio.id });
  const sent = await server.gql(
    `mutation { sendSms(input: { to: "+15551230000", body: "rotate me too", waitSeconds: 10 }) { ... on SendSmsPayload { operation { status } } } }`,
    {},
    { token },
  );
  expect(sent.data.sendSms.operation.status).toBe('SUCCEEDED');
  const row = await forTenant(server.app.database.prisma, 'rotation-ops').operation.findFirstOrThrow();
  expect([row.inputKeyId, row.resultKeyId]).toEqual(['old', 'old']);
  return row.id;
}

it('re-wraps every data key under the new key without touching ciphertexts', async () => {
  const token = await server.token({ tenant_id: 'rotation' });
  await server.gql(
    `mutation { configureIntegration(input: { provider: "stripe", credentials: { publishable_key: "pk_test_r", secret_key: "sk_test_rotateMe" } }) { __typename } }`,
    {},
    { token },
  );
  const hook = await server.gql(
    `mutation($url: URL!) { createWebhook(input: { name: "r", url: $url, eventTypes: ["*"], headers: { Authorization: "Bearer rotate-me" } }) {
      ... on CreateWebhookPayload { signingSecret webhook { id } } } }`,
    { url: receiver.url },
    { token },
  );
  await server.gql(
    `mutation($id: ID!) { rotateWebhookSecret(input: { id: $id, gracePeriodSeconds: 600 }) { __typename } }`,
    { id: hook.data.createWebhook.webhook.id },
    { token },
  );
  const operationId = await sendOperation();
  const operations = forTenant(server.app.database.prisma, 'rotation-ops').operation;
  const operationBefore = await operations.findUniqueOrThrow({ where: { id: operationId } });
  const prisma = server.app.database.prisma;
  const db = forTenant(prisma, 'rotation');
  const before = await db.integration.findFirstOrThrow();
  expect(before.secretKeyId).toBe('old');
  const webhook0 = await db.webhook.findFirstOrThrow();
  expect(webhook0.headersKeyId).toBe('old');

  const ring = keyringFromKeys([
    { id: 'new', key: NEW },
    { id: 'old', key: OLD },
  ]);
  const progress: unknown[] = [];
  // the stripe integration, and the twilio one the operation went through
  expect(await rotateKeys(prisma, ring, (p) => progress.push(p))).toEqual({ integrations: 2, webhooks: 1, operations: 1 });
  expect(progress).toContainEqual({ table: 'Integration', rewrapped: 2, remaining: 0 });
  expect(progress).toContainEqual({ table: 'Operation', rewrapped: 1, remaining: 0 });

  const newOnly = keyringFromKeys([{ id: 'new', key: NEW }]);
  const after = await db.integration.findFirstOrThrow();
  expect(after.secretKeyId).toBe('new');
  expect(Buffer.from(after.secretCiphertext!).equals(Buffer.from(before.secretCiphertext!))).toBe(true);
  const creds = revealCredentials(
    newOnly,
    { ...after, config: after.config as Record<string, CredentialValue> },
    credentialsAad(after.tenantId, after.id),
  );
  expect(creds.secret_key).toBe('sk_test_rotateMe');

  const webhookBefore = webhook0;
  const webhook = await db.webhook.findFirstOrThrow();
  expect([webhook.secretKeyId, webhook.previousSecretKeyId, webhook.headersKeyId]).toEqual(['new', 'new', 'new']);
  // the static headers' data key is re-wrapped too, their ciphertext untouched
  expect(Buffer.from(webhook.headersCiphertext!).equals(Buffer.from(webhookBefore.headersCiphertext!))).toBe(true);
  expect(revealHeaders(newOnly, webhook)).toEqual({ Authorization: 'Bearer rotate-me' });
  const secrets = signingSecrets(newOnly, webhook, new Date());
  expect(secrets).toHaveLength(2);
  expect(secrets[1]).toBe(hook.data.createWebhook.signingSecret);

  // the operation's input and result: data keys re-wrapped, ciphertexts untouched
  const operation = await operations.findUniqueOrThrow({ where: { id: operationId } });
  expect([operation.inputKeyId, operation.resultKeyId]).toEqual(['new', 'new']);
  for (const part of ['input', 'result'] as const) {
    expect(Buffer.from(operation[`${part}Ciphertext`]!).equals(Buffer.from(operationBefore[`${part}Ciphertext`]!)), part).toBe(true);
    expect(Buffer.from(operation[`${part}DataKey`]!).equals(Buffer.from(operationBefore[`${part}DataKey`]!)), part).toBe(false);
  }
  expect(openPart(newOnly, operation, 'input')).toEqual({ to: '+15551230000', body: 'rotate me too' });
  expect(openPart(newOnly, operation, 'result')).toMatchObject({ messageId: 'SMrotation', status: 'queued' });

  expect(await rotateKeys(prisma, ring)).toEqual({ integrations: 0, webhooks: 0, operations: 0 });
});
