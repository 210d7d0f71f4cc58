/**
 * What a browser on another site, or a client probing the schema, cannot do: make a "simple"
 * cross-site request run anything (CSRF), run a mutation over GET, read field names out of
 * "Did you mean …?" hints, or introspect with GRAPHQL_INTROSPECTION=false. And what keeps
 * working: JSON POSTs without any extra header, GET queries with the CSRF header, GraphiQL.
 */
import { Client, fetchExchange } from '@urql/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSRF_HEADER } from '../../src/graphql-hardening/csrf.ts';
import { withoutSuggestions } from '../../src/graphql-hardening/suggestions.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.token({ tenant_id: 'hardening' });
});
afterAll(() => server?.close());

const CONFIGURE = `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-csrf" } }) { __typename } }`;

async function integrationCount(): Promise<number> {
  const res = await server.gql('{ integrations { totalCount } }', {}, { token });
  return res.data.integrations.totalCount;
}

function get(query: string, headers: Record<string, string> = {}, params: Record<string, string> = {}) {
  const url = new URL(`${server.url}/graphql`);
  url.searchParams.set('query', query);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return fetch(url, { headers: { authorization: `Bearer ${token}`, ...headers } });
}

async function expectCsrfRefusal(res: Response) {
  expect(res.status).toBe(403);
  const body = (await res.json()) as { data?: unknown; errors: { message: string; extensions: { code: string } }[] };
  expect(body.data ?? null).toBeNull();
  expect(body.errors[0]!.extensions.code).toBe('CSRF_HEADER_REQUIRED');
  expect(body.errors[0]!.message).toMatch(/Content-Type: application\/json.*x-graphql-yoga-csrf/);
}

describe('CSRF prevention', () => {
  it('refuses what a form or a simple fetch from another site can send, and runs none of it', async () => {
    const before = await integrationCount();
    const post = (contentType: string, body: string | FormData) =>
      fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, ...(contentType ? { 'content-type': contentType } : {}) },
        body,
      });
    await expectCsrfRefusal(await post('text/plain', JSON.stringify({ query: CONFIGURE })));
    await expectCsrfRefusal(await post('text/plain;charset=UTF-8', JSON.stringify({ query: CONFIGURE })));
    await expectCsrfRefusal(await post('application/x-www-form-urlencoded', new URLSearchParams({ query: CONFIGURE }).toString()));
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: CONFIGURE }));
    await expectCsrfRefusal(await post('', form)); // multipart/form-data; boundary=…
    expect(await integrationCount()).toBe(before);
  });

  it('runs a GET query that carries credentials (urql sending queries as GET), without the CSRF header', async () => {
    // urql 4's default, and the usual setting with urql 5: queries as GET within the URL limit
    const client = new Client({
      url: `${server.url}/graphql`,
      preferGetMethod: 'within-url-limit',
      exchanges: [fetchExchange],
      fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
    });
    let method: string | undefined;
    const result = await client
      .query(
        '{ viewer { tenantId } }',
        {},
        {
          fetch: (url: RequestInfo | URL, init?: RequestInit) => {
            method = init?.method;
            return fetch(url, init);
          },
        },
      )
      .toPromise();
    expect(method).toBe('GET');
    expect(result.error).toBeUndefined();
    expect(result.data).toEqual({ viewer: { tenantId: 'hardening' } });
    // an API key too; without either, the header is still needed
    const withKey = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { 'x-api-key': 'icp_made_up' },
    });
    expect(withKey.status).not.toBe(403);
    await expectCsrfRefusal(await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ __typename }')}`));
  });

  it('refuses a GET without credentials or the header; with it (or Apollo’s), a GET query runs', async () => {
    await expectCsrfRefusal(await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ viewer { tenantId } }')}`));
    for (const header of [CSRF_HEADER, 'apollo-require-preflight']) {
      const res = await get('{ viewer { tenantId } }', { [header]: '1' });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ data: { viewer: { tenantId: 'hardening' } } });
    }
  });

  it('lets a JSON POST through without any extra header', async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ viewer { tenantId } }' }),
    });
    expect(await res.json()).toEqual({ data: { viewer: { tenantId: 'hardening' } } });
  });

  it('GraphiQL sends the header with every request it makes', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`"additionalHeaders":{"${CSRF_HEADER}":"1"}`);
  });

  it('GraphiQL’s page is never stored (in development it carries a token)', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    await res.text();
  });
});

describe('mutations over GET', () => {
  it('are refused with 405 and Allow: POST, even with the CSRF header, and do not run', async () => {
    const before = await integrationCount();
    const res = await get(CONFIGURE, { [CSRF_HEADER]: '1' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(((await res.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/mutation operation from a POST/);
    const named = await get(
      `query Read { viewer { tenantId } } mutation Write ${CONFIGURE.slice('mutation '.length)}`,
      { [CSRF_HEADER]: '1' },
      { operationName: 'Write' },
    );
    expect(named.status).toBe(405);
    // a GET that carries its credential needs no CSRF header to be read, and is still no way to write
    const credentialOnly = await get(CONFIGURE);
    expect(credentialOnly.status).toBe(405);
    expect(credentialOnly.headers.get('allow')).toBe('POST');
    expect(await integrationCount()).toBe(before);
  });
});

describe('field suggestions', () => {
  it('never appear, whatever the mistake: field, argument, type, enum value, input field, fragment', async () => {
    const cases: [string, Record<string, unknown> | undefined, RegExp][] = [
      ['{ viewr { tenantId } }', undefined, /^Cannot query field "viewr" on type "Query"\.$/],
      ['{ events(frist: 1) { totalCount } }', undefined, /^Unknown argument "frist" on field "Query\.events"\.$/],
      ['query($c: ProviderCategry) { providers(category: $c) { name } }', undefined, /^Unknown type "ProviderCategry"\.$/],
      // the value itself is not repeated either (test/integration/error-values.test.ts)
      ['{ providers(category: PAYMNT) { name } }', undefined, /^Argument "category" has an invalid value: expected ProviderCategory$/],
      [
        'query($c: ProviderCategory) { providers(category: $c) { name } }',
        { c: 'PAYMNT' },
        /^Variable "\$c" got an invalid value: expected ProviderCategory$/,
      ],
      [
        'mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename } }',
        { input: { provider: 'stripe', credentials: {}, metadta: {} } },
        /Field "metadta" is not defined by type "ConfigureIntegrationInput"\.$/,
      ],
      ['{ node(id: "x") { status } }', undefined, /^Cannot query field "status" on type "Node"\.$/],
    ];
    for (const [query, variables, message] of cases) {
      const res = await server.gql(query, variables, { token });
      expect(res.raw).not.toMatch(/Did you mean/);
      expect(res.errors?.[0]?.message).toMatch(message);
    }
  });

  it('every form graphql-js words them in is cut', () => {
    expect(withoutSuggestions('Cannot query field "viewr" on type "Query". Did you mean "viewer"?')).toBe(
      'Cannot query field "viewr" on type "Query".',
    );
    expect(withoutSuggestions('Unknown type "A". Did you mean "B", "C", or "D"?')).toBe('Unknown type "A".');
    expect(withoutSuggestions('Value "X" does not exist in "E" enum. Did you mean the enum value "Y"?')).toBe(
      'Value "X" does not exist in "E" enum.',
    );
    expect(withoutSuggestions('Cannot query field "s" on type "Node". Did you mean to use an inline fragment on "A" or "B"?')).toBe(
      'Cannot query field "s" on type "Node".',
    );
  });
});

describe('GRAPHQL_INTROSPECTION=false', () => {
  let closed: TestServer;
  beforeAll(async () => {
    closed = await startTestServer({ GRAPHQL_INTROSPECTION: 'false' });
  });
  afterAll(() => closed?.close());

  it('refuses __schema and __type before anything runs; __typename and ordinary queries still work', async () => {
    const closedToken = await closed.token();
    for (const query of ['{ __schema { queryType { name } } }', '{ __type(name: "Integration") { fields { name } } }']) {
      const res = await closed.gql(query, {}, { token: closedToken });
      expect(res.data ?? null).toBeNull();
      expect(res.errors?.[0]?.message).toMatch(/introspection has been disabled/);
    }
    const ordinary = await closed.gql('{ __typename viewer { tenantId } }', {}, { token: closedToken });
    expect(ordinary.data).toEqual({ __typename: 'Query', viewer: { tenantId: 'tenant-a' } });
  });

  it('is on by default', async () => {
    const res = await server.gql('{ __schema { queryType { name } } }', {}, { token });
    expect(res.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });
});
