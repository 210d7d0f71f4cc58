/**
 * The start-up key check, on a database that outlives the service (a data directory on the
 * embedded database, a database of its own on PostgreSQL): a keyring that cannot read the stored
 * records never becomes ready, and createApp says which variable and which key id; a fresh
 * database, a restart with the same key and a rotation (new key first, `keys:rotate`, then the
 * new key alone) all start.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { credentialsAad, revealCredentials } from '../../src/crypto/credentials.ts';
import { keyringFromKeys } from '../../src/crypto/keyring.ts';
import { rotateKeys } from '../../src/crypto/rotate.ts';
import { forTenant } from '../../src/db/tenant.ts';
import { createLogger } from '../../src/log.ts';
import type { CredentialValue } from '../../src/providers/types.ts';
import { signingSecrets } from '../../src/webhooks/secrets.ts';
import { createTestDatabase, TEST_JWT_SECRET } from '../helpers/app.ts';
import { type FakeApi, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import { addRule, basicAuth, configureActive, gqlAt, urlOf } from '../helpers/integrations.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

const A = Buffer.alloc(32, 0xa1);
const B = Buffer.alloc(32, 0xb2);
const C = Buffer.alloc(32, 0xc3);
const TWILIO_SID = `AC${'4'.repeat(32)}`;
const b64 = (key: Buffer) => key.toString('base64');
/** The id ENCRYPTION_KEY gives a key: the first 8 hex digits of its SHA-256. */
const fingerprint = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 8);
const TENANT = 'key-check';
const SECRET_KEY = 'sk_test_keyCheckSecret0123';

let dataDir: string;
let database: { url: string; drop(): Promise<void> } | undefined;
let receiver: Receiver;
let twilioApi: FakeApi;
let running: App | undefined;

/** Starts the service on the test's database with these key variables. */
async function start(keys: { ENCRYPTION_KEY?: string; ENCRYPTION_KEYS?: string }): Promise<App> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    WEBHOOK_ALLOW_HOSTS: receiver.hostPort,
    STRIPE_API_BASE_URL: 'http://127.0.0.1:9',
    TWILIO_API_BASE_URL: twilioApi.url,
    VERIFY_RETRY_LIMIT: '0',
    ...(database ? { DATABASE_URL: database.url } : { DATA_DIR: dataDir }),
    ...keys,
  });
  const app = await createApp(config, { logger: createLogger('silent'), pollingIntervalSeconds: 0.5 });
  running = app;
  await app.listen();
  return app;
}

async function stop() {
  await running?.close();
  running = undefined;
}

/** What createApp rejected with; fails the test when it started instead. */
async function refusal(keys: { ENCRYPTION_KEY?: string; ENCRYPTION_KEYS?: string }): Promise<string> {
  let started: App | undefined;
  try {
    started = await start(keys);
  } catch (err) {
    const message = (err as Error).message;
    // never a key, in any form the operator could have given it
    for (const key of [A, B, C]) {
      expect(message).not.toContain(b64(key));
      expect(message).not.toContain(key.toString('hex'));
    }
    return message;
  }
  await stop();
  expect.fail(`the service started with ${JSON.stringify(Object.keys(keys))} that cannot read the stored records (${started.config.port})`);
}

/** An admin of TENANT on `app`. */
const adminOf = (app: App) => gqlAt(urlOf(app), { tenant_id: TENANT, scope: 'admin' });

function gql(app: App, query: string, variables: Record<string, unknown> = {}) {
  return adminOf(app)(query, variables);
}

/** Twilio's account check and Messages API, with Basic auth and the form a send needs. */
function twilioFake(req: Seen) {
  if (req.headers.authorization !== basicAuth(TWILIO_SID, 'twilio-token')) return { status: 401, body: { code: 20003 } };
  if (req.method === 'GET' && req.path === `/2010-04-01/Accounts/${TWILIO_SID}.json`) return { status: 200, body: { sid: TWILIO_SID } };
  const form = new URLSearchParams(req.body);
  if (req.method === 'POST' && req.path === `/2010-04-01/Accounts/${TWILIO_SID}/Messages.json` && form.get('To') && form.get('Body')) {
    return { status: 201, body: { sid: 'SMkeycheck', status: 'queued' } };
  }
  return { status: 400, body: { message: 'unexpected request' } };
}

const canaryIds = async (app: App) => (await app.database.prisma.keyCanary.findMany({ orderBy: { keyId: 'asc' } })).map((c) => c.keyId);

beforeAll(async () => {
  receiver = await startReceiver();
  twilioApi = await startFakeApi(twilioFake);
  dataDir = await mkdtemp(path.join(tmpdir(), 'icp-key-check-'));
  if (process.env.TEST_DATABASE_URL) database = await createTestDatabase(process.env.TEST_DATABASE_URL);
});

afterAll(async () => {
  await stop();
  await database?.drop();
  await receiver?.close();
  await twilioApi?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the start-up key check', () => {
  it('lets a fresh database start, and stores a canary of the current key', async () => {
    const app = await start({ ENCRYPTION_KEYS: `a:${b64(A)}` });
    await gql(
      app,
      `mutation { configureIntegration(input: { provider: "stripe", credentials: { publishable_key: "pk_test_k", secret_key: "${SECRET_KEY}", webhook_secret: "whsec_keyCheck" } }) { __typename } }`,
    );
    const hook = await gql(
      app,
      `mutation($url: URL!) { createWebhook(input: { name: "k", url: $url, eventTypes: ["webhook.test"] }) {
      ... on CreateWebhookPayload { webhook { id } } } }`,
      { url: receiver.url },
    );
    // a previous secret kept for a grace period is a sealed record too
    await gql(app, `mutation($id: ID!) { rotateWebhookSecret(input: { id: $id, gracePeriodSeconds: 3600 }) { __typename } }`, {
      id: hook.createWebhook.webhook.id,
    });
    expect(await canaryIds(app)).toEqual(['a']);
    await stop();
  });

  it('refuses another key, naming the variable and the key ids', async () => {
    const single = await refusal({ ENCRYPTION_KEY: b64(B) });
    expect(single).toContain(
      `ENCRYPTION_KEY (key id "${fingerprint(B)}") cannot read the stored credentials, webhook signing secrets and operation payloads`,
    );
    expect(single).toContain('sealed under key id "a", which it does not hold');

    const ring = await refusal({ ENCRYPTION_KEYS: `b:${b64(B)}` });
    expect(ring).toMatch(/^ENCRYPTION_KEYS \(key id "b"\) cannot read .* key id "a", which it does not hold/);
  });

  it('refuses a key given under the right id that is not the key that sealed the records', async () => {
    const message = await refusal({ ENCRYPTION_KEYS: `a:${b64(B)}` });
    expect(message).toMatch(
      /^ENCRYPTION_KEYS \(key id "a"\): the key with id "a" is not the key that sealed the stored records under that id/,
    );
  });

  it('without a canary (a database from before the check), samples the records themselves', async () => {
    let app = await start({ ENCRYPTION_KEYS: `a:${b64(A)}` });
    await app.database.prisma.keyCanary.deleteMany();
    await stop();

    expect(await refusal({ ENCRYPTION_KEYS: `a:${b64(B)}` })).toMatch(/the key with id "a" is not the key that sealed/);

    app = await start({ ENCRYPTION_KEYS: `a:${b64(A)}` });
    expect(await canaryIds(app)).toEqual(['a']);
    await stop();
  });

  it('follows a rotation: new key first, keys:rotate, then the new key alone; the old key alone is then refused', async () => {
    let app = await start({ ENCRYPTION_KEYS: `b:${b64(B)},a:${b64(A)}` });
    expect(await canaryIds(app)).toEqual(['a', 'b']);
    const prisma = app.database.prisma;

    // a rotation with a key that is not the service's under the same id would re-wrap every
    // record under a key the service cannot use: it is refused before it re-wraps anything
    const wrongNew = keyringFromKeys(
      [
        { id: 'b', key: A },
        { id: 'a', key: A },
      ],
      'ENCRYPTION_KEYS',
    );
    await expect(rotateKeys(prisma, wrongNew)).rejects.toThrow(/the key with id "b" is not the key that sealed/);
    expect((await forTenant(prisma, TENANT).integration.findFirstOrThrow()).secretKeyId).toBe('a');

    expect(await rotateKeys(prisma, app.services.keyring)).toEqual({ integrations: 1, webhooks: 1, operations: 0 });
    await stop();

    app = await start({ ENCRYPTION_KEYS: `b:${b64(B)}` });
    expect(await canaryIds(app)).toEqual(['b']);
    const newOnly = app.services.keyring;
    const row = await forTenant(app.database.prisma, TENANT).integration.findFirstOrThrow();
    const credentials = revealCredentials(
      newOnly,
      { ...row, config: row.config as Record<string, CredentialValue> },
      credentialsAad(row.tenantId, row.id),
    );
    expect(credentials.secret_key).toBe(SECRET_KEY);
    const webhook = await forTenant(app.database.prisma, TENANT).webhook.findFirstOrThrow();
    expect(signingSecrets(newOnly, webhook, new Date())).toHaveLength(2);
    await stop();

    expect(await refusal({ ENCRYPTION_KEYS: `a:${b64(A)}` })).toMatch(
      /^ENCRYPTION_KEYS \(key id "a"\) cannot read .* key id "b", which it does not hold/,
    );
  });
});

describe('the start-up key check, with operations', () => {
  const OPERATION = `query($id: ID!) { operation(id: $id) { status input result } }`;
  let operationId: string;

  it('refuses a keyring without the key that sealed an operation’s input and result', async () => {
    // the integration's credentials under "b"; then "c" becomes the current key and seals the operation alone
    let app = await start({ ENCRYPTION_KEYS: `b:${b64(B)}` });
    const admin = adminOf(app);
    const twilio = await configureActive(admin, 'twilio', {
      account_sid: TWILIO_SID,
      auth_token: 'twilio-token',
      from_number: '+15550000001',
    });
    await addRule(admin, { capability: 'send_sms', integrationId: twilio.id });
    await stop();

    app = await start({ ENCRYPTION_KEYS: `c:${b64(C)},b:${b64(B)}` });
    const sent = await gql(
      app,
      `mutation { sendSms(input: { to: "+15551230000", body: "sealed under c", waitSeconds: 10 }) { ... on SendSmsPayload { operation { id status } } } }`,
    );
    expect(sent.sendSms.operation.status).toBe('SUCCEEDED');
    operationId = sent.sendSms.operation.id;
    const row = await forTenant(app.database.prisma, TENANT).operation.findFirstOrThrow();
    expect([row.inputKeyId, row.resultKeyId]).toEqual(['c', 'c']);
    expect((await forTenant(app.database.prisma, TENANT).integration.findFirstOrThrow({ where: { provider: 'twilio' } })).secretKeyId).toBe(
      'b',
    );
    await stop();

    expect(await refusal({ ENCRYPTION_KEYS: `b:${b64(B)}` })).toMatch(
      /^ENCRYPTION_KEYS \(key id "b"\) cannot read the stored credentials, webhook signing secrets and operation payloads: they are sealed under key id "c", which it does not hold/,
    );
  });

  it('without canaries, samples operations to prove a key opens them', async () => {
    let app = await start({ ENCRYPTION_KEYS: `c:${b64(C)},b:${b64(B)}` });
    await app.database.prisma.keyCanary.deleteMany();
    await stop();

    expect(await refusal({ ENCRYPTION_KEYS: `c:${b64(A)},b:${b64(B)}` })).toMatch(/the key with id "c" is not the key that sealed/);
    // only operations are sealed under "c": the right key starts because one of them opens
    app = await start({ ENCRYPTION_KEYS: `c:${b64(C)},b:${b64(B)}` });
    expect(await canaryIds(app)).toEqual(['b', 'c']);
    await stop();
  });

  it('keys:rotate re-wraps operations too: the old key can then go, and the operation still reads', async () => {
    let app = await start({ ENCRYPTION_KEYS: `b:${b64(B)},c:${b64(C)}` });
    expect(await rotateKeys(app.database.prisma, app.services.keyring)).toEqual({ integrations: 0, webhooks: 0, operations: 1 });
    await stop();

    app = await start({ ENCRYPTION_KEYS: `b:${b64(B)}` });
    expect((await gql(app, OPERATION, { id: operationId })).operation).toEqual({
      status: 'SUCCEEDED',
      input: { to: '+15551230000', body: 'sealed under c' },
      result: { messageId: 'SMkeycheck', status: 'queued' },
    });
    expect(await canaryIds(app)).toEqual(['b']);
    await stop();
  });
});
