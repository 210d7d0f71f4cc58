/**
 * The service as `npm start` runs it: a child process on the embedded database in a data
 * directory. Covers the zero-configuration start (generated keys), GraphiQL without a CDN,
 * restart with persisted data, and the leak test: a canary secret configured through the API
 * appears in no response, no log line and no file of the data directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/app.ts';
import { type FakeApi, startFakeApi, stripeBalance } from '../helpers/fake-api.ts';
import { freePort, type ServerProcess, startServerProcess } from '../helpers/process.ts';

const CANARY = `sk_test_CANARY${randomBytes(12).toString('hex')}`;
const WEBHOOK_CANARY = `whsec_CANARY${randomBytes(12).toString('hex')}`;

let dataDir: string;
let stripe: FakeApi;
let server: ServerProcess;
let token: string;
const responses: string[] = [];
let integrationId: string;

async function gql(query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const raw = await res.text();
  responses.push(raw);
  return JSON.parse(raw);
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

async function start() {
  server = await startServerProcess(
    { DATA_DIR: dataDir, LOG_LEVEL: 'debug', STRIPE_API_BASE_URL: stripe.url, VERIFY_RETRY_DELAY_SECONDS: '1' },
    await freePort(),
  );
  const jwtSecret = (await readFile(path.join(dataDir, 'jwt-secret'), 'utf8')).trim();
  token = await new SignJWT({ tenant_id: 'leak-test' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('tester')
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(jwtSecret));
}

async function waitForStatus(status: string) {
  return eventually(
    async () => {
      const res = await gql(`query($id: ID!) { integration(id: $id) { status lastError } }`, { id: integrationId });
      return res.data.integration.status === status ? res.data.integration : undefined;
    },
    20_000,
    status,
  );
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'icp-process-'));
  stripe = await startFakeApi(stripeBalance(CANARY));
  await start();
});

afterAll(async () => {
  await server?.stop('SIGKILL');
  await stripe?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('npm start on the embedded default', () => {
  it('generates its encryption key and development JWT secret once, readable only by the owner', async () => {
    for (const name of ['encryption.key', 'jwt-secret']) {
      const info = await stat(path.join(dataDir, name));
      expect(info.mode & 0o777).toBe(0o600);
    }
    expect(server.output()).toMatch(/generated a key-encryption key/);
  });

  it('serves liveness and readiness without credentials, and GraphQL only with them', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const anonymous = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(anonymous.status).toBe(401);
  });

  it('serves GraphiQL to browsers from the server itself (no CDN)', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/graphiql/i);
    expect(html).not.toMatch(/<script[^>]+src=["']https?:/i);
    expect(html).not.toMatch(/<link[^>]+href=["']https?:/i);
  });

  it('rejects request bodies over 1 MiB with 413', async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `{ __typename }`, variables: { pad: 'x'.repeat(1024 * 1024) } }),
    });
    expect(res.status).toBe(413);
  });

  it('rejects chunked bodies (no content-length) over 1 MiB with 413 as well, and keeps serving', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 20) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('secrets', () => {
  it('a canary credential configured through the API never comes back', async () => {
    const created = await gql(
      `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) {
        ... on ConfigureIntegrationPayload { integration { id status credentials credentialFields { key value isSet } } } } }`,
      { input: { provider: 'stripe', credentials: { publishable_key: 'pk_test_x', secret_key: CANARY, webhook_secret: WEBHOOK_CANARY } } },
    );
    integrationId = created.data.configureIntegration.integration.id;
    await waitForStatus('ACTIVE');
    expect(stripe.seen.at(-1)?.headers.authorization).toBe(`Bearer ${CANARY}`);
    // a failing rotation and an invalid one put the secrets near error paths too
    await gql(`mutation($id: ID!, $c: JSONObject!) { rotateIntegrationCredentials(input: { id: $id, credentials: $c }) { __typename } }`, {
      id: integrationId,
      c: { secret_key: `${CANARY}x` },
    });
    await waitForStatus('ERROR');
    await gql(
      `mutation($id: ID!, $c: JSONObject!) { rotateIntegrationCredentials(input: { id: $id, credentials: $c }) { __typename ... on ValidationError { message fieldErrors { message } } } }`,
      { id: integrationId, c: { secret_key: `not a key ${CANARY}` } },
    );
    await gql(`mutation($id: ID!, $c: JSONObject!) { rotateIntegrationCredentials(input: { id: $id, credentials: $c }) { __typename } }`, {
      id: integrationId,
      c: { secret_key: CANARY },
    });
    await waitForStatus('ACTIVE');
    await gql(
      `{ integrations { edges { node { credentials credentialFields { key value } lastError } } } events(first: 100) { edges { node { payload } } } }`,
    );
    for (const raw of responses) {
      expect(raw).not.toContain('CANARY');
    }
  });

  it('survives a restart: data persists and the secret still decrypts (verification sends it)', async () => {
    expect(await server.stop('SIGTERM')).toBe(0);
    await start();
    expect(server.output()).not.toMatch(/applied database migrations/);
    const before = stripe.seen.length;
    await gql(`mutation($id: ID!) { verifyIntegration(input: { id: $id }) { __typename } }`, { id: integrationId });
    await waitForStatus('ACTIVE');
    expect(stripe.seen.slice(before).some((s) => s.headers.authorization === `Bearer ${CANARY}`)).toBe(true);
  }, 90_000);

  it('appears in no log line and in no file of the data directory', async () => {
    expect(await server.stop('SIGTERM')).toBe(0);
    const logs = server.output();
    expect(logs).toMatch(/integration verified/);
    expect(logs).not.toContain('CANARY');
    const needles = ['CANARY', Buffer.from(CANARY).toString('base64'), Buffer.from(WEBHOOK_CANARY).toString('base64')].map((s) =>
      Buffer.from(s),
    );
    const files = await filesUnder(dataDir);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const bytes = await readFile(file);
      for (const needle of needles) {
        expect(bytes.includes(needle), `${path.relative(dataDir, file)} contains a canary`).toBe(false);
      }
    }
  });
});
