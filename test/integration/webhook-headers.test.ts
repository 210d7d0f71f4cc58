/**
 * Webhook static headers are write-only: their values (a receiver's Authorization, typically)
 * are sealed at rest and every read shows the names with null values, while deliveries to a real
 * TCP receiver on 127.0.0.1 still carry them. Rows from before the sealing are delivered as they
 * are and sealed by the start-up pass.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { transactionInRowScope } from '../../src/db/row-security.ts';
import { forTenant } from '../../src/db/tenant.ts';
import { createLogger } from '../../src/log.ts';
import { sealPlaintextHeaders } from '../../src/webhooks/headers.ts';
import { eventually, startTestServer, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET, type TestServer } from '../helpers/app.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

const TENANT = 'sealed-headers';
const CANARY = 'Bearer hdr-canary-7f3a91';
let server: TestServer;
let receiver: Receiver;
let token: string;

const WEBHOOK = 'id headers';
const CREATE = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) {
  __typename ... on CreateWebhookPayload { webhook { ${WEBHOOK} } } ... on ValidationError { fieldErrors { path message } } } }`;
const UPDATE = `mutation($input: UpdateWebhookInput!) { updateWebhook(input: $input) {
  __typename ... on UpdateWebhookPayload { webhook { ${WEBHOOK} } } ... on ValidationError { fieldErrors { path message } } } }`;
const SEND_TEST = `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { ... on SendTestEventPayload { delivery { id } } } }`;

/** Every column of every Webhook row of the tenant, as PostgreSQL renders it (bytea as hex). */
async function storedRows(prisma = server.app.database.prisma): Promise<string> {
  const rows = await transactionInRowScope(prisma, { tenantId: TENANT }, (tx) =>
    tx.$queryRawUnsafe<{ row: string }[]>(`SELECT row_to_json(w)::text AS row FROM "Webhook" w`),
  );
  expect(rows.length).toBeGreaterThan(0);
  return rows.map((r) => r.row).join('\n');
}

function expectNotStored(stored: string, secret: string) {
  expect(stored).not.toContain(secret);
  expect(stored.toLowerCase()).not.toContain(Buffer.from(secret).toString('hex'));
}

/** Sends a test event and returns the request the receiver got for it. */
async function deliver(webhookId: string) {
  const sent = await server.gql(SEND_TEST, { id: webhookId }, { token });
  const deliveryId = sent.data.sendTestEvent.delivery.id as string;
  return eventually(async () => receiver.received.find((r) => r.headers['webhook-id'] === deliveryId));
}

const rowId = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1]!;

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startTestServer({ WEBHOOK_ALLOW_HOSTS: receiver.hostPort });
  token = await server.token({ tenant_id: TENANT });
});

afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

describe('static headers', () => {
  it('are stored encrypted, read back as names with null values, and sent on delivery', async () => {
    const created = await server.gql(
      CREATE,
      {
        input: {
          name: 'auth',
          url: receiver.url,
          eventTypes: ['webhook.test'],
          headers: { Authorization: CANARY, 'X-Team': 'ops-canary-55' },
        },
      },
      { token },
    );
    const webhook = created.data.createWebhook.webhook;
    expect(webhook.headers).toEqual({ Authorization: null, 'X-Team': null });
    expect(created.raw).not.toContain('hdr-canary');

    const read = await server.gql(
      `query($id: ID!) { webhook(id: $id) { headers } webhooks { edges { node { headers } } } node(id: $id) { ... on Webhook { headers } } }`,
      { id: webhook.id },
      { token },
    );
    expect(read.data.webhook.headers).toEqual({ Authorization: null, 'X-Team': null });
    expect(read.raw).not.toContain('hdr-canary');
    expect(read.raw).not.toContain('ops-canary-55');

    const stored = await storedRows();
    expectNotStored(stored, CANARY);
    expectNotStored(stored, 'ops-canary-55');

    const got = await deliver(webhook.id);
    expect(got.headers.authorization).toBe(CANARY);
    expect(got.headers['x-team']).toBe('ops-canary-55');
  });

  it('are replaced by an update, where null keeps a stored value', async () => {
    const created = await server.gql(
      CREATE,
      { input: { name: 'update', url: receiver.url, eventTypes: ['webhook.test'], headers: { Authorization: CANARY, 'X-Old': 'gone' } } },
      { token },
    );
    const id = created.data.createWebhook.webhook.id;
    const updated = await server.gql(UPDATE, { input: { id, headers: { Authorization: null, 'X-New': 'fresh' } } }, { token });
    expect(updated.data.updateWebhook.webhook.headers).toEqual({ Authorization: null, 'X-New': null });
    const got = await deliver(id);
    expect(got.headers.authorization).toBe(CANARY);
    expect(got.headers['x-new']).toBe('fresh');
    expect(got.headers['x-old']).toBeUndefined();
    expectNotStored(await storedRows(), 'fresh');

    // null for a header that has no stored value is an error naming it
    const bad = await server.gql(UPDATE, { input: { id, headers: { 'X-Missing': null } } }, { token });
    expect(bad.data.updateWebhook.__typename).toBe('ValidationError');
    expect(bad.data.updateWebhook.fieldErrors).toEqual([
      { path: ['headers', 'X-Missing'], message: expect.stringMatching(/no header of this name/) },
    ]);
    // and on creation there is nothing to keep
    const none = await server.gql(
      CREATE,
      { input: { name: 'n', url: receiver.url, eventTypes: ['*'], headers: { Authorization: null } } },
      { token },
    );
    expect(none.data.createWebhook.fieldErrors).toEqual([{ path: ['headers', 'Authorization'], message: 'must be a string' }]);
  });

  it('held in clear by an older row are delivered, shown as null, and sealed by the start-up pass', async () => {
    const created = await server.gql(CREATE, { input: { name: 'legacy', url: receiver.url, eventTypes: ['webhook.test'] } }, { token });
    const id = created.data.createWebhook.webhook.id;
    // the row as an older version wrote it: values in "headers", no envelope
    await forTenant(server.app.database.prisma, TENANT).webhook.update({
      where: { id: rowId(id) },
      data: { headers: { Authorization: 'Bearer legacy-canary-31' } },
    });
    expect(await storedRows()).toContain('legacy-canary-31');
    const read = await server.gql(`query($id: ID!) { webhook(id: $id) { headers } }`, { id }, { token });
    expect(read.data.webhook.headers).toEqual({ Authorization: null });
    expect((await deliver(id)).headers.authorization).toBe('Bearer legacy-canary-31');

    expect(await sealPlaintextHeaders(server.app.database.prisma, server.app.services.keyring)).toBe(1);
    expect(await sealPlaintextHeaders(server.app.database.prisma, server.app.services.keyring)).toBe(0);
    expectNotStored(await storedRows(), 'legacy-canary-31');
    expect((await server.gql(`query($id: ID!) { webhook(id: $id) { headers } }`, { id }, { token })).data.webhook.headers).toEqual({
      Authorization: null,
    });
    expect((await deliver(id)).headers.authorization).toBe('Bearer legacy-canary-31');
  });

  it('held in clear by an older row are sealed when the service starts', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'icp-headers-'));
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      WEBHOOK_ALLOW_HOSTS: receiver.hostPort,
      DATA_DIR: dataDir,
    });
    const start = () => createApp(config, { logger: createLogger('silent'), pollingIntervalSeconds: 0.5 });
    let app: App | undefined = await start();
    try {
      const { url } = await app.listen();
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: CREATE, variables: { input: { name: 'restart', url: receiver.url, eventTypes: ['webhook.test'] } } }),
      });
      const id = rowId(((await res.json()) as any).data.createWebhook.webhook.id);
      await forTenant(app.database.prisma, TENANT).webhook.update({
        where: { id },
        data: { headers: { Authorization: 'Bearer restart-canary-82' } },
      });
      expect(await storedRows(app.database.prisma)).toContain('restart-canary-82');
      await app.close();
      app = undefined;

      app = await start();
      expectNotStored(await storedRows(app.database.prisma), 'restart-canary-82');
      const row = await forTenant(app.database.prisma, TENANT).webhook.findUniqueOrThrow({ where: { id } });
      expect(row.headers).toEqual({ Authorization: null });
      expect(row.headersKeyId).not.toBeNull();
    } finally {
      await app?.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
