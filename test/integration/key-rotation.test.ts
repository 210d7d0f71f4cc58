/**
 * Key rotation: after `rotateKeys` with a new key first in the ring, every stored credential and
 * webhook secret opens with the new key alone; a second run has nothing left to do.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { credentialsAad, revealCredentials } from '../../src/crypto/credentials.ts';
import { keyringFromKeys } from '../../src/crypto/keyring.ts';
import { rotateKeys } from '../../src/crypto/rotate.ts';
import { forTenant } from '../../src/db/tenant.ts';
import type { CredentialValue } from '../../src/providers/types.ts';
import { revealHeaders } from '../../src/webhooks/headers.ts';
import { signingSecrets } from '../../src/webhooks/secrets.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

const OLD = Buffer.alloc(32, 1);
const NEW = Buffer.alloc(32, 2);
let server: TestServer;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startTestServer({
    ENCRYPTION_KEY: '',
    ENCRYPTION_KEYS: `old:${OLD.toString('base64')}`,
    WEBHOOK_ALLOW_HOSTS: receiver.hostPort,
    STRIPE_API_BASE_URL: 'http://127.0.0.1:9',
  });
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

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
  expect(await rotateKeys(prisma, ring, (p) => progress.push(p))).toEqual({ integrations: 1, webhooks: 1 });
  expect(progress).toContainEqual({ table: 'Integration', rewrapped: 1, remaining: 0 });

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

  expect(await rotateKeys(prisma, ring)).toEqual({ integrations: 0, webhooks: 0 });
});
