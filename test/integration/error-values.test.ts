/**
 * No error repeats a value the client sent, on either request path (the lean path takes a JSON
 * POST of a query from a non-browser client; Yoga the rest, here forced with an `Accept` of two
 * types or an `Origin`, and every mutation): a body that is not JSON, variables that do not
 * coerce (Int, enum, URL, JSONObject, input objects), literals that do not, syntax errors, and
 * ids or cursors that do not decode. Each error still names the variable or argument, the path
 * inside it and the expected type.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GraphQLResponse, startTestServer, type TestServer } from '../helpers/app.ts';

const SECRET = 'sk_test_51CanaryValueThatMustNeverComeBack';

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.token({ tenant_id: 'error-values' });
});
afterAll(() => server?.close());

const PATHS = { lean: {}, yoga: { accept: 'application/json, */*' }, browser: { origin: 'http://127.0.0.1' } } as const;

function expectNoSecret(res: GraphQLResponse | { status: number; raw: string }) {
  expect(res.status).toBeLessThan(500);
  expect(res.raw).not.toContain(SECRET);
  expect(res.raw).not.toContain('sk_test_51');
  expect(res.raw).not.toContain('originalError');
}

describe('a body that is not JSON', () => {
  it('is answered 400 without its text, on every path', async () => {
    for (const headers of Object.values(PATHS)) {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
        body: `{"query": "{ __typename }", "variables": { "key": ${SECRET} }`,
      });
      const raw = await res.text();
      expectNoSecret({ status: res.status, raw });
      expect(res.status).toBe(400);
      expect(JSON.parse(raw).errors[0]).toEqual({ message: 'POST body sent invalid JSON.', extensions: { code: 'BAD_REQUEST' } });
    }
  });
});

describe('variables that do not coerce', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'query($first: Int) { integrations(first: $first) { totalCount } }',
      { first: SECRET },
      'Variable "$first" got an invalid value: expected Int',
    ],
    [
      'query($c: ProviderCategory) { providers(category: $c) { name } }',
      { c: SECRET },
      'Variable "$c" got an invalid value: expected ProviderCategory',
    ],
    ['query($id: ID!) { node(id: $id) { id } }', { id: { key: SECRET } }, 'Variable "$id" got an invalid value: expected ID!'],
    [
      'mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename } }',
      { input: { provider: 'stripe', credentials: SECRET } },
      'Variable "$input" got an invalid value at "input.credentials": expected JSONObject!',
    ],
    [
      'mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename } }',
      { input: { provider: 'stripe', credentials: {}, metadata: [SECRET] } },
      'Variable "$input" got an invalid value at "input.metadata": expected JSONObject',
    ],
    [
      'mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { __typename } }',
      { input: { name: 'w', url: SECRET, eventTypes: ['*'] } },
      'Variable "$input" got an invalid value at "input.url": expected URL!',
    ],
    [
      'mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { __typename } }',
      { input: { name: 'w', url: 'https://example.com/', eventTypes: ['*', { secret: SECRET }] } },
      'Variable "$input" got an invalid value at "input.eventTypes[1]": expected String!',
    ],
    [
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename } }',
      { input: SECRET },
      'Variable "$input" got an invalid value: Expected type "CreateApiKeyInput" to be an object.',
    ],
  ];

  it('name the variable, the path and the type, never the value, on every path', async () => {
    for (const [path, headers] of Object.entries(PATHS)) {
      for (const [query, variables, message] of cases) {
        const res = await server.gql(query, variables, { token, headers });
        expectNoSecret(res);
        expect(res.status, `${path}: ${query}`).toBe(400);
        expect(res.errors?.map((e) => e.message)).toEqual([message]);
        expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
    }
    expect(server.logs.join('')).not.toContain(SECRET);
  });

  it('an input field the type does not define is named when it is a plain name, and left out when not', async () => {
    const query = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename } }';
    const res = await server.gql(query, { input: { name: 'k', scopez: [], [`${SECRET} `]: 1 } }, { token });
    expectNoSecret(res);
    expect(res.errors?.map((e) => e.message)).toEqual([
      'Variable "$input" got an invalid value: Field "scopez" is not defined by type "CreateApiKeyInput".',
      'Variable "$input" got an invalid value: expected CreateApiKeyInput!',
    ]);
  });
});

describe('literals that do not coerce', () => {
  it('name the argument, the path and the type, never the value', async () => {
    for (const [query, message] of [
      [`{ integrations(first: "${SECRET}") { totalCount } }`, 'Argument "first" has an invalid value: expected Int'],
      [`{ providers(category: ${SECRET}) { name } }`, 'Argument "category" has an invalid value: expected ProviderCategory'],
      [
        `mutation { createWebhook(input: { name: "w", url: "${SECRET}", eventTypes: ["*"] }) { __typename } }`,
        'Argument "input" has an invalid value at "input.url": expected URL!',
      ],
      [
        `mutation { configureIntegration(input: { provider: "stripe", credentials: "${SECRET}" }) { __typename } }`,
        'Argument "input" has an invalid value at "input.credentials": expected JSONObject!',
      ],
      [
        `mutation { createWebhook(input: { name: "w", url: "https://example.com/", eventTypes: ["*", { s: "${SECRET}" }] }) { __typename } }`,
        'Argument "input" has an invalid value at "input.eventTypes[1]": expected String!',
      ],
      [
        `query($first: Int = "${SECRET}") { integrations(first: $first) { totalCount } }`,
        'The default value of variable "$first" has an invalid value: expected Int',
      ],
    ]) {
      for (const headers of Object.values(PATHS)) {
        const res = await server.gql(query!, undefined, { token, headers });
        expectNoSecret(res);
        expect(
          res.errors?.map((e) => e.message),
          query,
        ).toEqual([message]);
        expect(JSON.parse(res.raw).errors[0].locations).toBeDefined();
      }
    }
  });

  it('and a document that does not parse is described by token kind, not by its text', async () => {
    for (const [query, message] of [
      [`{ integrations("${SECRET}") { totalCount } }`, 'Syntax Error: Expected Name, found String.'],
      [`{ integrations(first: 1) """${SECRET}""" }`, 'Syntax Error: Expected Name, found BlockString.'],
      ['{ integrations(first: 1) 4242424242424242 }', 'Syntax Error: Expected Name, found Int.'],
    ]) {
      for (const headers of Object.values(PATHS)) {
        const res = await server.gql(query!, undefined, { token, headers });
        expect(res.raw).not.toContain(SECRET);
        expect(res.raw).not.toContain('4242424242424242');
        expect(res.errors?.map((e) => e.message)).toEqual([message]);
      }
    }
  });
});

describe('ids and cursors that do not decode', () => {
  it('are refused (a cursor) or answer null (an id, like a missing one) without repeating them', async () => {
    for (const headers of Object.values(PATHS)) {
      const cursor = await server.gql(
        'query($after: String) { integrations(after: $after) { totalCount } }',
        { after: SECRET },
        { token, headers },
      );
      expectNoSecret(cursor);
      expect(cursor.errors?.[0]?.message).toBe('Invalid cursor');
      const node = await server.gql('query($id: ID!) { node(id: $id) { id } }', { id: SECRET }, { token, headers });
      expectNoSecret(node);
      expect(node.errors).toBeUndefined();
      expect(node.data).toEqual({ node: null });
    }
  });
});

describe('application errors', () => {
  const gid = (typename: string, id: string) => Buffer.from(`${typename}:${id}`).toString('base64');

  it('never repeat a value sent in an id, a provider, a capability, a scope, an event type or a credential key', async () => {
    const cases: [string, Record<string, unknown>, (data: any) => unknown, RegExp][] = [
      // ids that are not well-formed global ids of the expected type
      [
        'mutation($id: ID!) { deleteWebhook(input: { id: $id }) { __typename ... on Error { message } } }',
        { id: SECRET },
        (d) => d.deleteWebhook.message,
        /^Webhook was not found: the id given is not a well-formed Webhook id$/,
      ],
      [
        'mutation($id: ID!) { deleteWebhook(input: { id: $id }) { __typename ... on Error { message } } }',
        { id: gid('Webhook', SECRET) },
        (d) => d.deleteWebhook.message,
        /^Webhook was not found/,
      ],
      [
        'mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename ... on Error { message } } }',
        { id: SECRET },
        (d) => d.revokeApiKey.message,
        /^ApiKey was not found/,
      ],
      [
        'mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) { __typename ... on Error { message } } }',
        { id: gid('ApiKey', SECRET) },
        (d) => d.sendTestEvent.message,
        /^Webhook was not found/,
      ],
      // values checked against a fixed set: the set is listed instead
      [
        'query($p: String) { integrations(provider: $p) { totalCount } }',
        { p: SECRET },
        () => undefined,
        /^provider: unknown provider \(known: .*stripe/,
      ],
      [
        'mutation($input: CreateRoutingRuleInput!) { createRoutingRule(input: $input) { ... on ValidationError { message fieldErrors { path message } } } }',
        { input: { capability: SECRET, integrationId: gid('Integration', '0190f1a2-0000-7000-8000-000000000000') } },
        (d) => d.createRoutingRule.fieldErrors[0].message,
        /^unknown capability \(known: .*send_sms/,
      ],
      [
        'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { ... on ValidationError { message fieldErrors { path message } } } }',
        { input: { name: 'k', scopes: [SECRET] } },
        (d) => d.createApiKey.fieldErrors[0].message,
        /^unknown scope \(known: integrations:read/,
      ],
      ...[SECRET, `${SECRET}.*`, `${SECRET}*`, `provider.stripe.${SECRET} x`].map(
        (pattern) =>
          [
            'mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { ... on ValidationError { message fieldErrors { path message } } } }',
            { input: { name: 'w', url: 'https://example.com/hook', eventTypes: [pattern] } },
            (d: any) => d.createWebhook.fieldErrors.find((e: { path: string[] }) => e.path[0] === 'eventTypes')?.message,
            /event type|"\*" is allowed/,
          ] as [string, Record<string, unknown>, (data: any) => unknown, RegExp],
      ),
      [
        'mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { ... on ValidationError { message fieldErrors { path message } } } }',
        { input: { provider: SECRET, credentials: {} } },
        (d) => d.configureIntegration.fieldErrors[0].message,
        /^unknown provider \(known: /,
      ],
      [
        'mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { ... on ValidationError { message fieldErrors { path message } } } }',
        { input: { provider: 'openai', credentials: { api_key: 'sk-x', [SECRET]: 'x', [`${SECRET}_2`]: true } } },
        (d) => d.configureIntegration.fieldErrors.find((e: { path: string[] }) => e.path.join() === 'credentials')?.message,
        /^has 2 fields that are not a openai credential field \(known: /,
      ],
      [
        'mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { ... on ValidationError { message fieldErrors { path message } } } }',
        { input: { provider: 'openai', credentials: { api_key: 'sk-x' }, enabledCapabilities: [SECRET] } },
        (d) => d.configureIntegration.fieldErrors[0].message,
        /^openai does not support this capability \(supported: /,
      ],
    ];
    for (const [query, variables, pick, message] of cases) {
      const res = await server.gql(query, variables, { token });
      expectNoSecret(res);
      expect(res.raw).not.toContain('CanaryValue');
      const text = res.errors?.[0]?.message ?? pick(res.data);
      expect(text, res.raw).toMatch(message);
    }
  });

  it('repeat an id only when it is a well-formed global id of the expected type', async () => {
    const missing = gid('Webhook', '0190f1a2-0000-7000-8000-000000000000');
    const res = await server.gql(
      'mutation($id: ID!) { deleteWebhook(input: { id: $id }) { ... on Error { code message } } }',
      { id: missing },
      { token },
    );
    expect(res.data.deleteWebhook).toEqual({ code: 'NOT_FOUND', message: `Webhook ${missing} was not found` });
  });

  it('a subscription to a webhook that is not there does not repeat the id', async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: 'subscription($id: ID!) { webhookDeliveryUpdated(webhookId: $id) { id } }',
        variables: { id: SECRET },
      }),
    });
    const raw = await res.text();
    expect(res.status).toBe(404);
    expectNoSecret({ status: res.status, raw });
    expect(JSON.parse(raw).errors[0]).toMatchObject({
      message: 'Webhook was not found: the id given is not a well-formed Webhook id',
      extensions: { code: 'NOT_FOUND' },
    });
  });
});
