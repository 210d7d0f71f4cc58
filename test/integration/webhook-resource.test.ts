/**
 * The webhook resource's provenance and ownership fields (#20, CONTRACT.md "Seed fields on
 * webhooks and providers"): defaults, what create and update set, who is stamped, the list's
 * filters with their counts, and the same audit fields on integrations, rules and API keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { type Gql, gqlAs } from '../helpers/integrations.ts';

const FIELDS = `id name status eventTypes source sourceType schemaVersion tags connectorId appId
  createdBy updatedBy deletedAt deletedBy version`;
const CREATE = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { __typename
  ... on CreateWebhookPayload { webhook { ${FIELDS} } }
  ... on ValidationError { fieldErrors { path message } } } }`;
const UPDATE = `mutation($input: UpdateWebhookInput!) { updateWebhook(input: $input) { __typename
  ... on UpdateWebhookPayload { webhook { ${FIELDS} } }
  ... on ValidationError { fieldErrors { path message } } } }`;
const LIST = `query($status: WebhookStatus, $tag: String, $eventType: String, $includeDeleted: Boolean) {
  webhooks(first: 100, status: $status, tag: $tag, eventType: $eventType, includeDeleted: $includeDeleted) {
    totalCount edges { node { name deletedAt deletedBy } } } }`;
const URL_OF = 'http://127.0.0.1:9/in';

let server: TestServer;
let gql: Gql;

beforeAll(async () => {
  server = await startTestServer({ WEBHOOK_ALLOW_HOSTS: '127.0.0.1:9' });
  gql = gqlAs(server, { token: await server.token({ tenant_id: 'webhook-resource', sub: 'alice' }) });
}, 60_000);

afterAll(async () => {
  await server?.close();
});

async function create(input: Record<string, unknown>, as = gql) {
  const data = await as(CREATE, { input: { url: URL_OF, eventTypes: ['webhook.test'], ...input } });
  return data.createWebhook;
}

/** The names a filtered list shows, and its totalCount. */
async function listed(filter: Record<string, unknown>) {
  const { webhooks } = await gql(LIST, filter);
  return { names: webhooks.edges.map((e: { node: { name: string } }) => e.node.name).sort(), totalCount: webhooks.totalCount };
}

describe('webhook provenance and ownership', () => {
  it('defaults: source "api", sourceType API, schemaVersion 1, no tags or connector, stamped with its creator', async () => {
    const { webhook } = await create({ name: 'defaults' });
    expect(webhook).toMatchObject({
      source: 'api',
      sourceType: 'API',
      schemaVersion: 1,
      tags: [],
      connectorId: null,
      appId: null,
      createdBy: 'alice',
      updatedBy: 'alice',
      deletedAt: null,
      deletedBy: null,
    });
  });

  it('create and update take source, sourceType, tags and connectorId; the updater is stamped', async () => {
    const { webhook } = await create({
      name: 'provenance',
      source: 'console',
      sourceType: 'FRONTEND',
      tags: ['billing', 'team:payments', 'billing'],
      connectorId: 'stripe-connector/1',
    });
    expect(webhook).toMatchObject({
      source: 'console',
      sourceType: 'FRONTEND',
      tags: ['billing', 'team:payments'],
      connectorId: 'stripe-connector/1',
    });

    const bob = gqlAs(server, { token: await server.token({ tenant_id: 'webhook-resource', sub: 'bob' }) });
    const updated = (await bob(UPDATE, { input: { id: webhook.id, tags: ['ops'], sourceType: 'BACKEND', connectorId: '' } })).updateWebhook;
    expect(updated.webhook).toMatchObject({
      source: 'console',
      sourceType: 'BACKEND',
      tags: ['ops'],
      connectorId: null,
      createdBy: 'alice',
      updatedBy: 'bob',
      version: webhook.version + 1,
    });
  });

  it('stamps appId only when the token was minted for an application', async () => {
    const app = gqlAs(server, { token: await server.token({ tenant_id: 'webhook-resource', sub: 'svc', app_id: 'checkout-app' }) });
    const { webhook } = await create({ name: 'from an app' }, app);
    expect(webhook).toMatchObject({ appId: 'checkout-app', createdBy: 'svc' });
  });

  it('refuses bad labels with the path of each', async () => {
    const refused = await create({
      name: 'bad labels',
      source: 'x'.repeat(65),
      tags: ['ok', 'has space', ''],
      connectorId: '-leading-dash',
    });
    expect(refused.__typename).toBe('ValidationError');
    const paths = refused.fieldErrors.map((e: { path: string[] }) => e.path.join('.')).sort();
    expect(paths).toEqual(['connectorId', 'source', 'tags.1', 'tags.2']);
    const tooMany = await create({ name: 'too many tags', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) });
    expect(tooMany.fieldErrors).toEqual([{ path: ['tags'], message: 'at most 20 tags' }]);
  });
});

describe('webhooks(status, tag, eventType, includeDeleted)', () => {
  beforeAll(async () => {
    const filter = gqlAs(server, { token: await server.token({ tenant_id: 'webhook-filters', sub: 'carol' }) });
    gql = filter;
    const made: Record<string, string> = {};
    for (const [name, eventTypes, tags] of [
      ['exact', ['integration.updated'], ['a']],
      ['prefix', ['integration.*'], ['a', 'b']],
      ['star', ['*'], []],
      ['other', ['routing_rule.created'], ['b']],
      ['gone', ['integration.updated'], ['a']],
    ] as const) {
      made[name] = (await create({ name, eventTypes, tags })).webhook.id;
    }
    await gql(`mutation($input: PauseWebhookInput!) { pauseWebhook(input: $input) { __typename } }`, { input: { id: made.other } });
    await gql(`mutation($input: DeleteWebhookInput!) { deleteWebhook(input: $input) { __typename } }`, { input: { id: made.gone } });
  });

  it('without filters: every live webhook', async () => {
    expect(await listed({})).toEqual({ names: ['exact', 'other', 'prefix', 'star'], totalCount: 4 });
  });

  it('status, tag, and both together', async () => {
    expect(await listed({ status: 'PAUSED' })).toEqual({ names: ['other'], totalCount: 1 });
    expect(await listed({ tag: 'a' })).toEqual({ names: ['exact', 'prefix'], totalCount: 2 });
    expect(await listed({ tag: 'b', status: 'ACTIVE' })).toEqual({ names: ['prefix'], totalCount: 1 });
    expect(await listed({ tag: 'none' })).toEqual({ names: [], totalCount: 0 });
  });

  it('eventType: the webhooks that receive it (exact, prefix.* and *)', async () => {
    expect(await listed({ eventType: 'integration.updated' })).toEqual({ names: ['exact', 'prefix', 'star'], totalCount: 3 });
    expect(await listed({ eventType: 'routing_rule.created' })).toEqual({ names: ['other', 'star'], totalCount: 2 });
    expect(await listed({ eventType: 'operation.failed' })).toEqual({ names: ['star'], totalCount: 1 });
  });

  it('includeDeleted: deleted ones too, with when and by whom', async () => {
    const all = await gql(LIST, { includeDeleted: true });
    expect(all.webhooks.totalCount).toBe(5);
    const gone = all.webhooks.edges.find((e: { node: { name: string } }) => e.node.name === 'gone').node;
    expect(gone.deletedBy).toBe('carol');
    expect(Number.isNaN(Date.parse(gone.deletedAt))).toBe(false);
    expect(await listed({ includeDeleted: true, tag: 'a', eventType: 'integration.updated' })).toEqual({
      names: ['exact', 'gone', 'prefix'],
      totalCount: 3,
    });
  });

  it('a malformed filter is a VALIDATION error naming the argument', async () => {
    const res = await server.gql(LIST, { tag: 'has space' }, { token: await server.token({ tenant_id: 'webhook-filters' }) });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', argument: 'tag' });
    const long = await server.gql(LIST, { eventType: 'x'.repeat(201) }, { token: await server.token({ tenant_id: 'webhook-filters' }) });
    expect(long.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION', argument: 'eventType' });
  });
});

describe('the same audit fields on the other resources', () => {
  it('Integration, RoutingRule and ApiKey expose createdBy, updatedBy, deletedAt, deletedBy (and appId where it applies)', async () => {
    const types = await server.gql(
      `{ i: __type(name: "Integration") { fields { name } } r: __type(name: "RoutingRule") { fields { name } }
         k: __type(name: "ApiKey") { fields { name } } w: __type(name: "Webhook") { fields { name } } }`,
      {},
      { token: await server.token({ tenant_id: 'webhook-resource' }) },
    );
    const names = (t: { fields: { name: string }[] }) => t.fields.map((f) => f.name);
    const audit = ['createdAt', 'updatedAt', 'createdBy', 'updatedBy', 'deletedAt', 'deletedBy', 'appId'];
    for (const type of [types.data.i, types.data.r, types.data.k, types.data.w]) expect(names(type)).toEqual(expect.arrayContaining(audit));
  });
});
