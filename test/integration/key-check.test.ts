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
import { SignJWT } from 'jose';
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
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

const A = Buffer.alloc(32, 0xa1);
const B = Buffer.alloc(32, 0xb2);
const b64 = (key: Buffer) => key.toString('base64');
/** The id ENCRYPTION_KEY gives a key: the first 8 hex digits of its SHA-256. */
const fingerprint = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 8);
const TENANT = 'key-check';
const SECRET_KEY = 'sk_test_keyCheckSecret0123';

let dataDir: string;
let database: { url: string; drop(): Promise<void> } | undefined;
let receiver: Receiver;
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
    for (const key of [A, B]) {
      expect(message).not.toContain(b64(key));
      expect(message).not.toContain(key.toString('hex'));
    }
    return message;
  }
  await stop();
  expect.fail(`the service started with ${JSON.stringify(Object.keys(keys))} that cannot read the stored records (${started.config.port})`);
}

async function gql(app: App, query: string, variables: Record<string, unknown> = {}) {
  const token = await new SignJWT({ tenant_id: TENANT, scope: 'admin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('tester')
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
  const { port } = app.server.address() as { port: number };
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown[] };
  expect(body.errors).toBeUndefined();
  return body.data;
}

const canaryIds = async (app: App) => (await app.database.prisma.keyCanary.findMany({ orderBy: { keyId: 'asc' } })).map((c) => c.keyId);

beforeAll(async () => {
  receiver = await startReceiver();
  dataDir = await mkdtemp(path.join(tmpdir(), 'icp-key-check-'));
  if (process.env.TEST_DATABASE_URL) database = await createTestDatabase(process.env.TEST_DATABASE_URL);
});

afterAll(async () => {
  await stop();
  await database?.drop();
  await receiver?.close();
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
    expect(single).toContain(`ENCRYPTION_KEY (key id "${fingerprint(B)}") cannot read the stored credentials and webhook signing secrets`);
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

    expect(await rotateKeys(prisma, app.services.keyring)).toEqual({ integrations: 1, webhooks: 1 });
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
