/**
 * The client recipes of docs/clients.md, run as shown: each file in src/examples/recipes/ must
 * appear in the doc verbatim (from its first import on), then runs against the real server with
 * a real token or API key: a query, a mutation answering a typed error and its payload, and a
 * subscription seeing the integration go ACTIVE (verified against a loopback fake of OpenAI).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as apollo from '../../src/examples/recipes/apollo.ts';
import * as graphqlRequest from '../../src/examples/recipes/graphql-request.ts';
import * as graphqlSse from '../../src/examples/recipes/graphql-sse.ts';
import * as graphqlWs from '../../src/examples/recipes/graphql-ws.ts';
import * as urql from '../../src/examples/recipes/urql.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, startFakeApi } from '../helpers/fake-api.ts';
import { configureIntegration, type Gql, gqlAs } from '../helpers/integrations.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RECIPES = path.join(ROOT, 'src/examples/recipes');
const GOOD = { provider: 'openai', credentials: { api_key: 'sk-recipe-key' } };
// a SendGrid key pasted as OpenAI's: a key of the wrong kind, refused before anything is stored
const BAD = { provider: 'openai', credentials: { api_key: 'SG.not-an-openai-key' } };

let server: TestServer;
let openai: FakeApi;
let url: string;

beforeAll(async () => {
  // OpenAI's verification read, accepting the one key the recipes configure
  openai = await startFakeApi((req) =>
    req.method === 'GET' && req.path === '/v1/models' && req.headers.authorization === `Bearer ${GOOD.credentials.api_key}`
      ? { status: 200, body: { object: 'list', data: [] } }
      : { status: 401, body: { error: { message: 'Incorrect API key provided' } } },
  );
  server = await startTestServer({ OPENAI_API_BASE_URL: openai.url });
  url = `${server.url}/graphql`;
});

afterAll(async () => {
  await server?.close();
  await openai?.close();
});

/** A token of a tenant of its own per recipe: one integration per provider and tenant. */
async function tenant(name: string): Promise<{ token: string; gql: Gql }> {
  const token = await server.token({ tenant_id: `recipe-${name}`, sub: 'recipes' });
  return { token, gql: gqlAs(server, { token }) };
}

/** What every recipe's example() must answer: the AI providers, then the typed error, then the payload. */
async function checkExample(example: (input: typeof GOOD) => Promise<{ providers?: unknown; error?: any; integration?: any }>) {
  const refused = await example(BAD);
  expect(refused.providers).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'openai' })]));
  expect(refused.error).toMatchObject({
    __typename: 'ValidationError',
    code: 'VALIDATION',
    message: expect.stringContaining('credentials.api_key'),
    fieldErrors: [{ path: ['credentials', 'api_key'], message: expect.any(String) }],
  });
  const accepted = await example(GOOD);
  expect(accepted.error).toBeUndefined();
  expect(accepted.integration).toMatchObject({ id: expect.any(String), status: 'PENDING_VERIFY' });
  return accepted.integration.id as string;
}

/**
 * Waits until the recipe's subscription saw the integration ACTIVE. Until its stream is open it
 * may miss the transition, so each round asks for verification again (PENDING_VERIFY, ACTIVE).
 */
async function seenActive(gql: Gql, id: string, seen: { id: string; status: string }[]) {
  await eventually(
    async () => {
      if (seen.some((i) => i.id === id && i.status === 'ACTIVE')) return true;
      await gql('mutation($id: ID!) { verifyIntegration(input: { id: $id }) { __typename } }', { id });
      return undefined;
    },
    20_000,
    'the subscription to report ACTIVE',
    500,
  );
}

describe('docs/clients.md', () => {
  it('shows each recipe file verbatim, from its first import on', async () => {
    const doc = await readFile(path.join(ROOT, 'docs/clients.md'), 'utf8');
    const files = (await readdir(RECIPES)).filter((f) => f.endsWith('.ts')).sort();
    expect(files).toEqual(['apollo.ts', 'graphql-request.ts', 'graphql-sse.ts', 'graphql-ws.ts', 'urql.ts']);
    for (const file of files) {
      const text = await readFile(path.join(RECIPES, file), 'utf8');
      const code = text.slice(text.indexOf('\nimport ') + 1);
      expect(
        doc.includes(`\`\`\`ts\n// src/examples/recipes/${file}\n${code}\`\`\``),
        `docs/clients.md shows src/examples/recipes/${file} as it is`,
      ).toBe(true);
    }
  });
});

describe('client recipes against the running server', () => {
  it('urql: GET queries, a typed error and a payload, a subscription over SSE', async () => {
    const { token, gql } = await tenant('urql');
    const client = urql.createUrql(url, token);
    const seen: { id: string; status: string }[] = [];
    const unsubscribe = urql.watchStatus(client, (i) => seen.push(i));
    try {
      const id = await checkExample((input) => urql.example(client, input));
      await seenActive(gql, id, seen);
    } finally {
      unsubscribe();
    }
    // as urql sends them by default: the query as a GET (no CSRF header needed), mutations as POSTs
    const requests = server.logs
      .map((line) => JSON.parse(line))
      .filter((l) => l.msg === 'graphql request' && l.tenantId === 'recipe-urql')
      .map((l) => `${l.method} ${l.operationName} ${l.status}`);
    expect(requests).toEqual(expect.arrayContaining(['GET Providers 200', 'POST Configure 200']));
    expect(requests.filter((r) => r.startsWith('GET Configure'))).toEqual([]);
  });

  it('Apollo Client: the generated possibleTypes keep `... on Error` fields; a subscription over SSE', async () => {
    const { token, gql } = await tenant('apollo');
    const client = apollo.createApollo(url, token);
    const seen: { id: string; status: string }[] = [];
    const unsubscribe = apollo.watchStatus(client, (i) => seen.push(i));
    try {
      const id = await checkExample((input) => apollo.example(client, input));
      await seenActive(gql, id, seen);
    } finally {
      unsubscribe();
      client.stop();
    }

    // the reason they ship: the same mutation through a cache without them loses code and message
    const bare = new ApolloClient({
      link: new HttpLink({ uri: url, headers: { authorization: `Bearer ${token}` } }),
      cache: new InMemoryCache(),
    });
    const result = (await bare.mutate({ mutation: apollo.CONFIGURE, variables: { input: BAD } })).data?.configureIntegration;
    expect(result).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['credentials', 'api_key'] }] });
    expect(result).not.toHaveProperty('code');
    expect(result).not.toHaveProperty('message');
  });

  it('graphql-request with an API key: a query, a payload, then NotFoundError', async () => {
    const { gql } = await tenant('graphql-request');
    const created = (await gql('mutation { createApiKey(input: { name: "recipe" }) { __typename ... on CreateApiKeyPayload { secret } } }'))
      .createApiKey;
    expect(created.__typename).toBe('CreateApiKeyPayload');
    const { id } = await configureIntegration(gql, GOOD.provider, GOOD.credentials);
    const client = graphqlRequest.createGraphQLRequest(url, created.secret);

    const deleted = await graphqlRequest.example(client, id);
    expect(deleted.providers).toEqual(expect.arrayContaining([{ name: 'openai', isConfigured: true }]));
    expect(deleted).toMatchObject({ deletedId: id });
    const again = await graphqlRequest.example(client, id);
    expect(again.providers).toEqual(expect.arrayContaining([{ name: 'openai', isConfigured: false }]));
    expect(again.error).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND', message: expect.any(String) });
  });

  it('graphql-sse: every operation over SSE, subscription included', async () => {
    const { token, gql } = await tenant('graphql-sse');
    const client = graphqlSse.createSse(url, token);
    const seen: { id: string; status: string }[] = [];
    const unsubscribe = graphqlSse.watchStatus(client, (i) => seen.push(i));
    try {
      const id = await checkExample((input) => graphqlSse.example(client, input));
      await seenActive(gql, id, seen);
    } finally {
      unsubscribe();
      client.dispose();
    }
  });

  it('graphql-ws: every operation over one WebSocket, credentials in connectionParams', async () => {
    const { token, gql } = await tenant('graphql-ws');
    const client = graphqlWs.createWs(url, token);
    const seen: { id: string; status: string }[] = [];
    const unsubscribe = graphqlWs.watchStatus(client, (i) => seen.push(i));
    try {
      const id = await checkExample((input) => graphqlWs.example(client, input));
      await seenActive(gql, id, seen);
    } finally {
      unsubscribe();
      await client.dispose();
    }
  }, 30_000);
});
