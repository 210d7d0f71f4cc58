/**
 * NUL characters and deep nesting in GraphQL input, over HTTP on both request paths (the lean
 * path takes a JSON POST of a query from a non-browser client; Yoga takes the rest, here forced
 * with an `Accept` of two types, and every mutation): refused as VALIDATION before anything runs,
 * saying where, never a 500, and the server goes on serving.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INPUT_LIMITS } from '../../src/graphql-hardening/input-limits.ts';
import { type GraphQLResponse, startTestServer, type TestServer } from '../helpers/app.ts';

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer({
    WEBHOOK_ALLOW_HOSTS: '127.0.0.1:9',
    OPENAI_API_BASE_URL: 'http://127.0.0.1:9',
    STRIPE_API_BASE_URL: 'http://127.0.0.1:9',
    VERIFY_RETRY_LIMIT: '0',
  });
  token = await server.token({ tenant_id: 'input-limits' });
});
afterAll(() => server?.close());

const NUL = '\u0000';
const PATHS = { lean: {}, yoga: { accept: 'application/json, */*' } } as const;

/** Sends a body as it is (a 10,000-level object is beyond JSON.stringify here). */
async function postRaw(body: string, headers: Record<string, string> = {}): Promise<GraphQLResponse> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body,
  });
  const raw = await res.text();
  const parsed = JSON.parse(raw);
  return { status: res.status, data: parsed.data, errors: parsed.errors, raw };
}

function expectRefused(res: GraphQLResponse, message: RegExp) {
  expect(res.status, res.raw).toBeLessThan(500);
  expect(res.data ?? null).toBeNull();
  expect(res.errors?.[0]?.extensions?.code, res.raw).toBe('VALIDATION');
  expect(res.errors?.[0]?.message).toMatch(message);
}

async function expectStillServing() {
  const res = await server.gql('{ viewer { tenantId } }', {}, { token });
  expect(res.data?.viewer.tenantId).toBe('input-limits');
  expect(server.logs.filter((line) => /"msg":"(unexpected error in a resolver|request failed)"/.test(line))).toEqual([]);
}

async function apiKeyCount(): Promise<number> {
  return (await server.gql('{ apiKeys { totalCount } }', {}, { token })).data.apiKeys.totalCount;
}

describe('a NUL character', () => {
  const CONFIGURE = 'mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename } }';
  const openai = (input: Record<string, unknown>) => ({ provider: 'openai', credentials: { api_key: 'sk-nul-test' }, ...input });

  it('in mutation variables (names, metadata keys and values, credentials, list items) is refused, and nothing is stored', async () => {
    const before = await apiKeyCount();
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename } }',
        { input: { name: `ci${NUL}key` } },
        /^Variable "\$input" is refused at "input\.name": a string holds a NUL/,
      ],
      [
        'mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { __typename } }',
        { input: { name: `hook${NUL}`, url: 'http://127.0.0.1:9/hook', eventTypes: ['*'] } },
        /at "input\.name": a string holds a NUL/,
      ],
      [
        'mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { __typename } }',
        { input: { name: 'hook', url: 'http://127.0.0.1:9/hook', eventTypes: ['integration.created', `x${NUL}`] } },
        /at "input\.eventTypes\[1\]": a string holds a NUL/,
      ],
      [CONFIGURE, { input: openai({ metadata: { [`team${NUL}`]: 'a' } }) }, /at "input\.metadata": an object key holds a NUL/],
      [CONFIGURE, { input: openai({ metadata: { team: { name: `a${NUL}` } } }) }, /at "input\.metadata\.team\.name": a string holds a NUL/],
      [
        CONFIGURE,
        { input: { provider: 'openai', credentials: { api_key: `sk-${NUL}` } } },
        /at "input\.credentials\.api_key": a string holds a NUL/,
      ],
      [CONFIGURE, { input: openai({ provider: `open${NUL}ai` }) }, /at "input\.provider": a string holds a NUL/],
    ];
    for (const [query, variables, message] of cases) {
      const res = await server.gql(query, variables, { token });
      expectRefused(res, message);
      expect(res.status).toBe(400);
    }
    expect(await apiKeyCount()).toBe(before);
    expect((await server.gql('{ integrations { totalCount } }', {}, { token })).data.integrations.totalCount).toBe(0);
    await expectStillServing();
  });

  it('in mutation literals is refused the same way (a GraphQL "\\u0000" escape)', async () => {
    const cases: [string, RegExp][] = [
      [
        'mutation { createApiKey(input: { name: "ci\\u0000key" }) { __typename } }',
        /^Argument "input" is refused at "input\.name": a string holds a NUL/,
      ],
      [
        'mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-x" }, metadata: { team: ["a", "b\\u0000"] } }) { __typename } }',
        /at "input\.metadata\.team\[1\]": a string holds a NUL/,
      ],
    ];
    for (const [query, message] of cases) expectRefused(await server.gql(query, undefined, { token }), message);
    // a block string keeps \u0000 as six characters: no NUL, and not refused
    const block = await server.gql('mutation { createApiKey(input: { name: """ci\\u0000key""" }) { __typename } }', undefined, { token });
    expect(block.data?.createApiKey.__typename, block.raw).toBe('CreateApiKeyPayload');
    await expectStillServing();
  });

  it('in query filter arguments is refused on both paths, as a variable and as a literal', async () => {
    for (const [path, headers] of Object.entries(PATHS)) {
      for (const [query, variables, message] of [
        ['query($t: String) { events(type: $t) { totalCount } }', { t: `a${NUL}` }, /^Variable "\$t" is refused: a string holds a NUL/],
        ['query($p: String) { integrations(provider: $p) { totalCount } }', { p: NUL }, /^Variable "\$p" is refused/],
        ['query($id: ID!) { integration(id: $id) { id } }', { id: `SW50${NUL}` }, /^Variable "\$id" is refused/],
        ['{ events(type: "a\\u0000") { totalCount } }', undefined, /^Argument "type" is refused: a string holds a NUL/],
        ['{ integrations(provider: "\\u0000") { totalCount } }', undefined, /^Argument "provider" is refused/],
      ] as const) {
        const res = await server.gql(query, variables, { token, headers });
        expectRefused(res, message);
        expect(JSON.parse(res.raw).errors[0].locations, `${path}: ${query}`).toBeDefined();
      }
    }
    await expectStillServing();
  });

  it('in a variable the operation does not use is refused too (no string input holds one)', async () => {
    expectRefused(
      await server.gql('{ __typename }', { unused: { deep: [`x${NUL}`] } }, { token }),
      /^Variable "\$unused" is refused at "unused\.deep\[0\]"/,
    );
  });
});

describe('a lone UTF-16 surrogate', () => {
  const CONFIGURE = 'mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename } }';
  const openai = (input: Record<string, unknown>) => ({ provider: 'openai', credentials: { api_key: 'sk-surrogate-test' }, ...input });
  const LONE = ['\udc00', '\ud800', 'a\ud83dz'];

  it('in mutation variables (metadata keys and values, names, credentials, list items) is refused, and nothing is stored', async () => {
    const before = await apiKeyCount();
    for (const lone of LONE) {
      const cases: [string, Record<string, unknown>, RegExp][] = [
        [
          CONFIGURE,
          { input: openai({ metadata: { a: lone } }) },
          /^Variable "\$input" is refused at "input\.metadata\.a": a string holds a lone UTF-16 surrogate/,
        ],
        [
          CONFIGURE,
          { input: openai({ metadata: { [`team${lone}`]: 'a' } }) },
          /at "input\.metadata": an object key holds a lone UTF-16 surrogate/,
        ],
        [
          CONFIGURE,
          { input: { provider: 'openai', credentials: { api_key: `sk-${lone}` } } },
          /at "input\.credentials\.api_key": a string holds a lone UTF-16 surrogate/,
        ],
        [
          'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename } }',
          { input: { name: `ci${lone}key` } },
          /at "input\.name": a string holds a lone UTF-16 surrogate/,
        ],
        [
          'mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { __typename } }',
          { input: { name: 'hook', url: 'http://127.0.0.1:9/hook', eventTypes: ['integration.created', `x${lone}`] } },
          /at "input\.eventTypes\[1\]": a string holds a lone UTF-16 surrogate/,
        ],
      ];
      for (const [query, variables, message] of cases) {
        const res = await server.gql(query, variables, { token });
        expectRefused(res, message);
        expect(res.status).toBe(400);
      }
    }
    // a surrogate pair (an emoji) is well-formed and stored as it is
    const emoji = await server.gql(
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { ... on CreateApiKeyPayload { apiKey { name } } } }',
      { input: { name: 'ci \ud83d\ude00' } },
      { token },
    );
    expect(emoji.data?.createApiKey.apiKey.name, emoji.raw).toBe('ci \ud83d\ude00');
    expect(await apiKeyCount()).toBe(before + 1);
    expect((await server.gql('{ integrations { totalCount } }', {}, { token })).data.integrations.totalCount).toBe(0);
    await expectStillServing();
  });

  it('in updateIntegration metadata is refused the same way', async () => {
    const configured = await server.gql(
      'mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { ... on ConfigureIntegrationPayload { integration { id version } } } }',
      { input: { provider: 'stripe', credentials: { publishable_key: 'pk_test_s', secret_key: 'sk_test_s' } } },
      { token },
    );
    const integration = configured.data.configureIntegration.integration;
    const res = await server.gql(
      'mutation($input: UpdateIntegrationInput!) { updateIntegration(input: $input) { __typename } }',
      { input: { id: integration.id, expectedVersion: integration.version, metadata: { a: '\udc00' } } },
      { token },
    );
    expectRefused(res, /^Variable "\$input" is refused at "input\.metadata\.a": a string holds a lone UTF-16 surrogate/);
    await server.gql(
      'mutation($input: DeleteIntegrationInput!) { deleteIntegration(input: $input) { __typename } }',
      { input: { id: integration.id } },
      { token },
    );
    await expectStillServing();
  });

  it('in query filter arguments is refused on both paths', async () => {
    for (const headers of Object.values(PATHS)) {
      for (const [query, variables, message] of [
        [
          'query($t: String) { events(type: $t) { totalCount } }',
          { t: 'a\udc00' },
          /^Variable "\$t" is refused: a string holds a lone UTF-16 surrogate/,
        ],
        ['query($p: String) { integrations(provider: $p) { totalCount } }', { p: '\ud800' }, /^Variable "\$p" is refused/],
      ] as const) {
        expectRefused(await server.gql(query, variables, { token, headers }), message);
      }
    }
    await expectStillServing();
  });

  it('in the query text or the operationName of a JSON body is refused as any bad document is, never a 500', async () => {
    // JSON "\udc00" escapes: graphql-js's lexer refuses a lone surrogate in a string, a comment or
    // anywhere else (a syntax error: 200 to application/json clients, as Yoga answers any), and an
    // operationName that names no operation is a 400
    const cases: [string, number, string][] = [
      ['{"query": "{ events(type: \\"a\\udc00\\") { totalCount } }"}', 200, 'GRAPHQL_PARSE_FAILED'],
      ['{"query": "{ __typename } # \\udc00"}', 200, 'GRAPHQL_PARSE_FAILED'],
      ['{"query": "{ __typename \\ud800 }"}', 200, 'GRAPHQL_PARSE_FAILED'],
      ['{"query": "query Q { __typename }", "operationName": "Q\\udc00"}', 400, 'OPERATION_RESOLUTION_FAILURE'],
      ['{"query": "query Q { __typename }", "operationName": "\\ud800"}', 400, 'OPERATION_RESOLUTION_FAILURE'],
    ];
    for (const headers of Object.values(PATHS)) {
      for (const [body, status, code] of cases) {
        const res = await postRaw(body, headers);
        expect(res.status, `${body}: ${res.raw}`).toBe(status);
        expect(res.data ?? null).toBeNull();
        expect(res.errors?.[0]?.extensions?.code, res.raw).toBe(code);
      }
    }
    await expectStillServing();
  });
});

describe('nesting', () => {
  const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
  const configure = (metadata: string) =>
    `{"query":"mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename } }","variables":{"input":{"provider":"openai","credentials":{"api_key":"sk-deep"},"metadata":${metadata}}}}`;

  it('metadata nested 10,000 levels deep is refused, and the server stays up', async () => {
    const res = await postRaw(configure(deep(10_000)));
    expectRefused(
      res,
      new RegExp(
        `^Variable "\\$input" is refused at "input\\.metadata\\.a\\.a.*": lists and objects are nested more than ${INPUT_LIMITS.depth} levels deep`,
      ),
    );
    expect(res.status).toBe(400);
    await expectStillServing();
  });

  it('the limit counts from the variable: 32 levels pass, 33 are refused', async () => {
    // input (1) › metadata (2) › 30 more levels = 32
    const ok = await postRaw(configure(deep(31)));
    expect(ok.errors ?? [], ok.raw).toEqual([]);
    expect(ok.data.configureIntegration.__typename).toBe('ConfigureIntegrationPayload');
    expectRefused(await postRaw(configure(deep(32))), /nested more than 32 levels deep/);
  });

  it('a deep variable of a query is refused on both paths (and a deep body elsewhere is no 500 either)', async () => {
    for (const headers of Object.values(PATHS)) {
      const res = await postRaw(
        `{"query":"query($t: String) { events(type: $t) { totalCount } }","variables":{"t":${deep(10_000)}}}`,
        headers,
      );
      expectRefused(res, /^Variable "\$t" is refused at "t\.a\.a/);
      const elsewhere = await postRaw(`{"query":"{ __typename }","extensions":{"x":${deep(10_000)}}}`, headers);
      expect(elsewhere.status).toBeLessThan(500);
    }
    await expectStillServing();
  });

  it('a deep literal is refused in validation, and one deep enough to overflow the parser before it parses', async () => {
    const literal = (levels: number) => `${'{ a: '.repeat(levels)}1${' }'.repeat(levels)}`;
    const mutation = (levels: number) =>
      JSON.stringify({
        query: `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-x" }, metadata: ${literal(levels)} }) { __typename } }`,
      });
    expectRefused(
      await postRaw(mutation(40)),
      /^Argument "input" is refused at "input\.metadata\.a\.a.*": lists and objects are nested more than 32 levels deep/,
    );
    // 1,600 levels fit in the token limit and would overflow graphql-js's recursive parser
    expectRefused(await postRaw(mutation(1_600)), /^Syntax Error: the document nests brackets more than 100 levels deep/);
    const list = `${'['.repeat(2_400)}1${']'.repeat(2_400)}`;
    for (const headers of Object.values(PATHS)) {
      expectRefused(
        await postRaw(JSON.stringify({ query: `{ events(type: ${list}) { totalCount } }` }), headers),
        /nests brackets more than 100/,
      );
    }
    await expectStillServing();
  });
});

describe('JSON values', () => {
  it('larger than the limit are refused, naming the argument', async () => {
    const res = await server.gql(
      'mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename } }',
      { input: { provider: 'openai', credentials: { api_key: 'sk-big' }, metadata: { notes: 'x'.repeat(INPUT_LIMITS.jsonBytes) } } },
      { token },
    );
    expectRefused(res, /^Variable "\$input" got an invalid value at "input\.metadata": the JSON value is larger than 64 KiB/);
  });
});

describe('a verified provider callback', () => {
  const whsec = 'whsec_inputLimitsSecret123';
  let stripeHook: string | undefined;
  /** The inbound URL of the tenant's Stripe integration (one a tenant), configured once. */
  async function inboundHook(): Promise<string> {
    if (stripeHook) return stripeHook;
    const res = await server.gql(
      'mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { ... on ConfigureIntegrationPayload { integration { inboundWebhookUrl } } } }',
      { input: { provider: 'stripe', credentials: { publishable_key: 'pk_test_n', secret_key: 'sk_test_n', webhook_secret: whsec } } },
      { token },
    );
    return (stripeHook = res.data.configureIntegration.integration.inboundWebhookUrl as string);
  }

  /** POSTs `body` to an inbound URL, signed as Stripe signs its events. */
  const postSignedByStripe = (hook: string, body: string) => {
    const t = Math.floor(Date.now() / 1000);
    const signature = `t=${t},v1=${createHmac('sha256', whsec).update(`${t}.${body}`).digest('hex')}`;
    return fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body });
  };

  it('with a NUL in its payload is refused 400 and stores nothing (PostgreSQL jsonb holds none)', async () => {
    const hook = await inboundHook();
    for (const object of [{ id: `pi_${NUL}` }, { [`k${NUL}`]: 1 }]) {
      const body = JSON.stringify({ id: 'evt_nul', object: 'event', type: 'payment_intent.succeeded', data: { object } });
      const answer = await postSignedByStripe(hook, body);
      expect(answer.status).toBe(400);
      expect(await answer.json()).toEqual({ error: 'event payload must not contain NUL (U+0000) characters' });
    }
    const events = await server.gql('{ events(type: "provider.stripe.payment_intent.succeeded") { totalCount } }', {}, { token });
    expect(events.data.events.totalCount).toBe(0);
    await expectStillServing();
  });
  it('with a lone surrogate in its payload or id is refused 400 and stores nothing (not a 500 the provider retries forever)', async () => {
    const hook = await inboundHook();
    const cases: [string, Record<string, unknown>, string][] = [
      ['evt_lone1', { id: 'pi_\udc00' }, 'event payload must not contain lone UTF-16 surrogates'],
      ['evt_lone2', { 'k\ud800': 1 }, 'event payload must not contain lone UTF-16 surrogates'],
      ['evt_\udc00', { id: 'pi_1' }, 'event id must not contain lone UTF-16 surrogates'],
    ];
    for (const [id, object, error] of cases) {
      // JSON.stringify writes a lone surrogate as a "\\udc00" escape, as a provider would
      const body = JSON.stringify({ id, object: 'event', type: 'charge.refunded', data: { object } });
      expect(body).toMatch(/\\ud[89a-f]00/);
      const answer = await postSignedByStripe(hook, body);
      expect(answer.status).toBe(400);
      expect(await answer.json()).toEqual({ error });
    }
    const events = await server.gql('{ events(type: "provider.stripe.charge.refunded") { totalCount } }', {}, { token });
    expect(events.data.events.totalCount).toBe(0);
    await expectStillServing();
  });
});
