/**
 * The lean path (src/http/lean-graphql.ts): which requests it answers, on a small Yoga behind a
 * real HTTP server, and, on the running service, that a request answers the same whether the
 * lean path or Yoga takes it (Yoga takes it when `Accept` lists two types), failures included.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBody } from '../../src/http/body.ts';
import { createLeanPath } from '../../src/http/lean-graphql.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';

describe('which requests the lean path answers', () => {
  const answered: (string | null)[] = [];
  const calls = { fails: 0, context: 0 };
  const lean = createLeanPath({ onAnswered: (name) => answered.push(name) });
  const yoga = createYoga<{ req: IncomingMessage }>({
    schema: createSchema({
      typeDefs:
        'type Query { hello(name: String): String! fails: String } type Mutation { poke: Boolean! } type Subscription { ticks: Int }',
      resolvers: {
        Query: {
          hello: (_: unknown, args: { name?: string }) => `hello ${args.name ?? 'you'}`,
          fails: () => {
            calls.fails++;
            throw new GraphQLError('no', { extensions: { code: 'NOPE' } });
          },
        },
        Mutation: { poke: () => true },
        Subscription: {
          ticks: {
            subscribe: async function* () {
              yield { ticks: 1 };
            },
          },
        },
      },
    }),
    context: ({ req }) => {
      lean.rethrowFailedContext(req);
      calls.context++;
      if (req.headers.authorization !== 'Bearer ok') throw new GraphQLError('who are you', { extensions: { http: { status: 401 } } });
      return {};
    },
    plugins: [lean.plugin],
    logging: false,
  });
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const body = await readBody(req);
      if (await lean.answer(yoga, req, res, body)) return;
      res.setHeader('x-answered-by', 'yoga');
      (req as IncomingMessage & { body?: Buffer }).body = body;
      return yoga.requestListener(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = async (body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ok', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return {
      status: res.status,
      by: res.headers.get('x-answered-by') ?? 'lean',
      type: res.headers.get('content-type'),
      text: await res.text(),
    };
  };

  it('a query with its variables and operation name, answered as Yoga would', async () => {
    const res = await post({ query: 'query Hi($n: String) { hello(name: $n) }', variables: { n: 'ann' }, operationName: 'Hi' });
    expect(res).toEqual({ status: 200, by: 'lean', type: 'application/json; charset=utf-8', text: '{"data":{"hello":"hello ann"}}' });
    expect(answered.at(-1)).toBe('Hi');
    const typed = await post({ query: '{ hello }' }, { accept: 'application/graphql-response+json' });
    expect([typed.by, typed.type]).toEqual(['lean', 'application/graphql-response+json; charset=utf-8']);
    expect(answered.at(-1)).toBeNull();
  });

  it('a mutation, answered as Yoga would', async () => {
    const res = await post({ query: 'mutation Poke { poke }', operationName: 'Poke' });
    expect(res).toEqual({ status: 200, by: 'lean', type: 'application/json; charset=utf-8', text: '{"data":{"poke":true}}' });
    expect(answered.at(-1)).toBe('Poke');
  });

  it('leaves to Yoga what it does not take', async () => {
    for (const [what, body, headers] of [
      ['another Accept', { query: '{ hello }' }, { accept: 'text/event-stream' }],
      ['two media types', { query: '{ hello }' }, { accept: 'application/json, */*' }],
      ['a browser (CORS)', { query: '{ hello }' }, { origin: 'http://example.test' }],
      ['another content type', { query: '{ hello }' }, { 'content-type': 'application/graphql+json' }],
      ['extensions', { query: '{ hello }', extensions: { persistedQuery: {} } }, {}],
      ['variables that are not an object', { query: '{ hello }', variables: [1] }, {}],
      ['a subscription', { query: 'subscription { ticks }' }, {}],
      ['a syntax error', { query: '{ hello' }, {}],
      ['an invalid document', { query: '{ nope }' }, {}],
      ['a body that is not JSON', '{"query":', {}],
    ] as const) {
      const res = await post(body, headers);
      expect(res.by, what).toBe('yoga');
    }
  });

  it('hands a result with errors to Yoga instead of executing again', async () => {
    const before = answered.length;
    const fails = calls.fails;
    const res = await post({ query: '{ hello fails }' });
    expect(calls.fails).toBe(fails + 1);
    expect(res.by).toBe('yoga');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({
      data: { hello: 'hello you', fails: null },
      errors: [{ message: 'no', path: ['fails'], locations: [{ line: 1, column: 9 }], extensions: { code: 'NOPE' } }],
    });
    expect(answered.length).toBe(before);
  });

  it('hands a context that failed to Yoga, which answers it without building another', async () => {
    const contexts = calls.context;
    const res = await post({ query: '{ hello }' }, { authorization: 'Bearer no' });
    expect([res.by, res.status]).toEqual(['yoga', 401]);
    expect(calls.context).toBe(contexts + 1);
    expect(JSON.parse(res.text).errors[0].message).toBe('who are you');
  });
});

describe('on the running service', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ RATE_LIMIT_RPM: '40' });
  });
  afterAll(() => server?.close());

  /** The same request taken by the lean path, then by Yoga (`Accept` with two types). */
  async function bothWays(query: string, variables: Record<string, unknown>, headers: Record<string, string>) {
    const send = async (accept?: string) => {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers, ...(accept ? { accept } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return {
        status: res.status,
        type: res.headers.get('content-type'),
        retryAfter: res.headers.get('retry-after'),
        body: await res.json(),
      };
    };
    return { lean: await send(), yoga: await send('application/json, */*') };
  }

  it('answers the same either way: data, a missing scope, bad credentials, an invalid document, mutations', async () => {
    const token = await server.token({ tenant_id: 'lean-same' });
    const narrow = await server.token({ tenant_id: 'lean-same', scope: 'webhooks:read' });
    const configured = await server.gql(
      'mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-lean" } }) { ... on ConfigureIntegrationPayload { integration { id } } } }',
      {},
      { token },
    );
    const id = configured.data.configureIntegration.integration.id as string;
    // the second of the pair changes nothing (the same metadata): both answer the row as the first
    // left it (its version and status are the verification worker's to change meanwhile)
    const update = `mutation LeanUpdate { updateIntegration(input: { id: "${id}", metadata: { team: "lean" } }) { __typename
      ... on UpdateIntegrationPayload { integration { id metadata } } ... on Error { code message } } }`;
    const missing = `mutation { updateIntegration(input: { id: "${id.slice(0, -2)}AA", metadata: {} }) { __typename ... on Error { code } } }`;
    for (const [query, headers] of [
      [update, { authorization: `Bearer ${token}` }],
      [missing, { authorization: `Bearer ${token}` }],
      [update, { authorization: `Bearer ${narrow}` }],
      [
        'query Lean($first: Int) { integrations(first: $first) { totalCount } viewer { tenantId scopes } }',
        { authorization: `Bearer ${token}` },
      ],
      ['query LeanForbidden { integrations { totalCount } }', { authorization: `Bearer ${narrow}` }],
      ['{ __typename }', { authorization: 'Bearer nonsense' }],
      ['{ __typename }', { 'x-api-key': 'icp_notakey' }],
      ['{ integrations { nope } }', { authorization: `Bearer ${token}` }],
    ] as const) {
      const { lean, yoga } = await bothWays(query, { first: 3 }, headers);
      expect(lean, query).toEqual(yoga);
    }
  });

  it('counts its answers, and what it handed to Yoga, under their operation names', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/icp_graphql_requests_total\{operation="Lean",outcome="ok"\} 2/);
    expect(text).toMatch(/icp_graphql_requests_total\{operation="LeanForbidden",outcome="graphql_error"\} 2/);
    expect(text).toMatch(/icp_graphql_requests_total\{operation="anonymous",outcome="unauthenticated"\} 4/);
  });

  it('counts a request against the rate limit once, even when Yoga answers its 429', async () => {
    const token = await server.token({ tenant_id: 'lean-limited' });
    const statuses: number[] = [];
    for (let i = 0; i < 41; i++) statuses.push((await server.gql('{ __typename }', {}, { token })).status);
    expect(statuses.slice(0, 40).every((s) => s === 200)).toBe(true);
    expect(statuses[40]).toBe(429);
    const row = await server.app.services.prisma.rateLimit.findUnique({ where: { key: 'rpm:tenant:lean-limited' } });
    expect(row?.points).toBe(41);
  });
});
