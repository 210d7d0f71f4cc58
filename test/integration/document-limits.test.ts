/**
 * Each limit on what a request may ask, with a payload just under the bound (it runs) and one
 * just over (refused before anything runs): depth, aliases, tokens and cost (page sizes given
 * literally, in variables, or left to the default), and the 1 MiB body. Each payload is first
 * measured with the server's own rules, so the test cannot drift from what it claims to send.
 */
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENT_LIMITS } from '../../src/graphql/yoga.ts';
import { operationCost } from '../../src/graphql-hardening/cost.ts';
import { MAX_BODY_BYTES } from '../../src/http/body.ts';
import { LARGE_BODY_BYTES } from '../../src/http/large-bodies.ts';
import { schema } from '../../src/schema/index.ts';
import { DEFAULT_PAGE_SIZE } from '../../src/schema/paging.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { measure } from '../helpers/documented-operations.ts';

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.token({ tenant_id: 'limits' });
});
afterAll(() => server?.close());

/** A query exactly `depth` levels deep: webhooks → edges → node → deliveries → … → a scalar. */
function queryOfDepth(depth: number): string {
  const cycle = ['deliveries(first: 1)', 'edges', 'node', 'webhook'];
  const objects = ['webhooks(first: 1)', 'edges', 'node'];
  while (objects.length < depth - 1) objects.push(cycle[(objects.length - 3) % cycle.length]!);
  const last = objects[depth - 2]!.replace(/\(.*/, '');
  const leaf = { webhooks: 'totalCount', deliveries: 'totalCount', edges: 'cursor', node: 'id', webhook: 'id' }[last];
  const path = [...objects.slice(0, depth - 1), leaf];
  return `{ ${path.join(' { ')}${' }'.repeat(depth - 1)} }`;
}

function queryWithAliases(count: number): string {
  return `{ ${Array.from({ length: count }, (_, i) => `a${i}: viewer { tenantId }`).join(' ')} }`;
}

/**
 * A query of exactly `count` tokens: `{`, aliased `__typename`s (3 tokens each, not counted as
 * aliases, all different so graphql-js compares none of them), one or two bare `__typename`, `}`.
 */
function queryOfTokens(count: number): string {
  const aliased = Math.floor((count - 2) / 3);
  const bare = count - 2 - 3 * aliased;
  const fields = [...Array.from({ length: aliased }, (_, i) => `t${i}: __typename`), ...Array(bare).fill('__typename')];
  return `{ ${fields.join(' ')} }`;
}

/** webhooks(first: n), each with a page of 100 deliveries: cost grows by the same step per webhook. */
const WIDE = (first: string) => `{ webhooks(first: ${first}) { edges { node { deliveries(first: 100) { edges { node { id } } } } } } }`;
const WIDE_WITH_VARIABLES = `query Wide($webhooks: Int, $deliveries: Int) {
  webhooks(first: $webhooks) { edges { node { deliveries(first: $deliveries) { edges { node { id } } } } } }
}`;

/** The largest number of webhooks whose WIDE query is within the cost limit. */
function widestWithinCost(): number {
  let n = 1;
  while (operationCost(schema, parse(WIDE(String(n + 1)))) <= DOCUMENT_LIMITS.cost) n++;
  return n;
}

/** Refused before anything ran: 400 to a GraphQL-over-HTTP client, no data, the limit named. */
async function refused(query: string, pattern: RegExp, variables?: Record<string, unknown>) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  expect(res.status).toBe(400);
  expect(body.data ?? null).toBeNull();
  expect(body.errors?.[0]?.message).toMatch(pattern);
  return body;
}

async function runs(query: string, variables?: Record<string, unknown>) {
  const res = await server.gql(query, variables, { token });
  expect(res.errors).toBeUndefined();
  expect(res.status).toBe(200);
  return res;
}

describe('depth', () => {
  it(`runs ${DOCUMENT_LIMITS.depth} levels and refuses ${DOCUMENT_LIMITS.depth + 1}`, async () => {
    const under = queryOfDepth(DOCUMENT_LIMITS.depth);
    const over = queryOfDepth(DOCUMENT_LIMITS.depth + 1);
    expect(measure(schema, under).depth).toBe(DOCUMENT_LIMITS.depth);
    expect(measure(schema, over).depth).toBe(DOCUMENT_LIMITS.depth + 1);
    await runs(under);
    const body = await refused(over, /^Query depth limit of 12 exceeded, found 13/);
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('aliases', () => {
  it(`runs ${DOCUMENT_LIMITS.aliases} aliases and refuses ${DOCUMENT_LIMITS.aliases + 1}`, async () => {
    expect(measure(schema, queryWithAliases(DOCUMENT_LIMITS.aliases)).aliases).toBe(DOCUMENT_LIMITS.aliases);
    const res = await runs(queryWithAliases(DOCUMENT_LIMITS.aliases));
    expect(Object.keys(res.data)).toHaveLength(DOCUMENT_LIMITS.aliases);
    const body = await refused(queryWithAliases(DOCUMENT_LIMITS.aliases + 1), /^Aliases limit of 30 exceeded, found 31/);
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('tokens', () => {
  it(`runs ${DOCUMENT_LIMITS.tokens} tokens and refuses ${DOCUMENT_LIMITS.tokens + 1}`, async () => {
    expect(measure(schema, queryOfTokens(DOCUMENT_LIMITS.tokens)).tokens).toBe(DOCUMENT_LIMITS.tokens);
    await runs(queryOfTokens(DOCUMENT_LIMITS.tokens));
    const body = await refused(queryOfTokens(DOCUMENT_LIMITS.tokens + 1), /Token limit of 5000 exceeded/);
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });
});

describe('cost', () => {
  const n = widestWithinCost();

  it('runs the costliest query within the limit and refuses the next one', async () => {
    expect(operationCost(schema, parse(WIDE(String(n))))).toBeLessThanOrEqual(DOCUMENT_LIMITS.cost);
    expect(operationCost(schema, parse(WIDE(String(n + 1))))).toBeGreaterThan(DOCUMENT_LIMITS.cost);
    await runs(WIDE(String(n)));
    const body = await refused(WIDE(String(n + 1)), /Query cost limit of 100000 exceeded, found \d+/);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', maxCost: DOCUMENT_LIMITS.cost });
  });

  it('counts page sizes given in variables, or their defaults, as if written in the document', async () => {
    await runs(WIDE_WITH_VARIABLES, { webhooks: n, deliveries: 100 });
    await refused(WIDE_WITH_VARIABLES, /Query cost limit/, { webhooks: n + 1, deliveries: 100 });
    const withDefaults = WIDE_WITH_VARIABLES.replace('$deliveries: Int', '$deliveries: Int = 100');
    await refused(withDefaults, /Query cost limit/, { webhooks: n + 1 });
  });

  it('counts a page size left out as the default page size', () => {
    const implicit = parse(`{ webhooks { edges { node { deliveries { edges { node { id } } } } } } }`);
    const explicit = parse(
      `{ webhooks(first: ${DEFAULT_PAGE_SIZE}) { edges { node { deliveries(first: ${DEFAULT_PAGE_SIZE}) { edges { node { id } } } } } } }`,
    );
    expect(operationCost(schema, implicit)).toBe(operationCost(schema, explicit));
    expect(operationCost(schema, parse(`{ webhooks(last: 100) { totalCount } }`))).toBe(
      operationCost(schema, parse(`{ webhooks(first: 100) { totalCount } }`)),
    );
  });

  it('is far below abuse: nested pages of 100', () => {
    const twoDeep = `{ webhooks(first: 100) { edges { node { deliveries(first: 100) { edges { node { id } } } } } } }`;
    const threeDeep = `{ webhooks(first: 100) { edges { node { deliveries(first: 100) { edges { node { webhook { deliveries(first: 100) { edges { node { id } } } } } } } } } } }`;
    expect(operationCost(schema, parse(twoDeep))).toBeGreaterThan(4 * DOCUMENT_LIMITS.cost);
    expect(operationCost(schema, parse(threeDeep))).toBeGreaterThan(1000 * DOCUMENT_LIMITS.cost);
  });

  it('checks the operation that runs, and subscriptions too', async () => {
    const cheapAndCostly = `query Cheap { viewer { tenantId } } query Costly ${WIDE(String(n + 1))}`;
    const run = (operationName: string) =>
      fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: cheapAndCostly, operationName }),
      }).then((res) => res.json() as Promise<{ data?: unknown; errors?: { message: string }[] }>);
    expect((await run('Cheap')).data).toEqual({ viewer: { tenantId: 'limits' } });
    expect((await run('Costly')).errors?.[0]?.message).toMatch(/Query cost limit/);
    const subscription = `subscription($id: ID!) { webhookDeliveryUpdated(webhookId: $id) { webhook {
      deliveries(first: 100) { edges { node { webhook { deliveries(first: 100) { edges { node { id } } } } } } } } } }`;
    const sse = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: subscription, variables: { id: 'V2ViaG9vazpub25l' } }),
    });
    expect(await sse.text()).toMatch(/Query cost limit of 100000 exceeded/);
  });
});

describe('request body', () => {
  /** A JSON request of exactly `bytes` bytes. */
  function bodyOf(bytes: number): string {
    const empty = JSON.stringify({ query: '{ __typename }', variables: { pad: '' } });
    return JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(bytes - empty.length) } });
  }

  it(`takes ${MAX_BODY_BYTES} bytes and refuses one more with 413`, async () => {
    const post = (body: string) =>
      fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body,
      });
    expect(bodyOf(MAX_BODY_BYTES)).toHaveLength(MAX_BODY_BYTES);
    const under = await post(bodyOf(MAX_BODY_BYTES));
    expect(under.status).toBe(200);
    expect(await under.json()).toEqual({ data: { __typename: 'Query' } });
    const over = await post(bodyOf(MAX_BODY_BYTES + 1));
    expect(over.status).toBe(413);
    expect(((await over.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  describe(`requestSignature and trackSignature take up to ${LARGE_BODY_BYTES} bytes`, () => {
    const REQUEST = `mutation Sign($input: RequestSignatureInput!) { requestSignature(input: $input) {
      __typename ... on Error { code message } ... on ValidationError { fieldErrors { path message } } } }`;
    /** A requestSignature of `bytes` bytes in all (its document padded to the size), or with another query. */
    function signatureBody(bytes: number, query = REQUEST): string {
      const input = (documentBase64: string) => ({
        documentName: 'contract.pdf',
        documentBase64,
        signers: [{ name: 'Ana', email: 'ana@example.com' }],
      });
      const empty = JSON.stringify({ query, variables: { input: input('') } });
      const document = 'A'.repeat(Math.floor((bytes - empty.length) / 4) * 4);
      return JSON.stringify({ query, variables: { input: input(document) } }) + ' '.repeat(bytes - empty.length - document.length);
    }
    const post = (body: string, headers: Record<string, string> = { authorization: `Bearer ${token}` }) =>
      fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const code = async (res: Response) => ((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code;

    it('admits a document of 5 MiB to requestSignature (it runs: no e-signature integration is routed)', async () => {
      const body = signatureBody(5 * 1024 * 1024);
      expect(body.length).toBe(5 * 1024 * 1024);
      const res = await post(body);
      expect(res.status).toBe(200);
      const data = ((await res.json()) as { data: { requestSignature: { __typename: string } } }).data;
      expect(data.requestSignature.__typename).toBe('NoActiveProviderError');
    });

    it('checks the document: over its decoded limit it is a ValidationError at documentBase64', async () => {
      const res = await post(signatureBody(LARGE_BODY_BYTES));
      expect(res.status).toBe(200);
      const data = ((await res.json()) as { data: { requestSignature: { __typename: string; fieldErrors: { path: string[] }[] } } }).data;
      expect(data.requestSignature.__typename).toBe('ValidationError');
      expect(data.requestSignature.fieldErrors.map((e) => e.path.join('.'))).toEqual(['documentBase64']);
    });

    it(`refuses one byte over ${LARGE_BODY_BYTES}, the same size without credentials, and any other operation over ${MAX_BODY_BYTES}`, async () => {
      const over = await post(signatureBody(LARGE_BODY_BYTES + 1));
      expect(over.status).toBe(413);
      expect(await code(over)).toBe('PAYLOAD_TOO_LARGE');
      // the credentials are checked before the body is read on: none, a made-up one, or one that may not request operations
      const readOnly = await server.token({ tenant_id: 'limits', scope: 'integrations:read' });
      for (const headers of [
        {} as Record<string, string>,
        { authorization: 'Bearer x' },
        { 'x-api-key': 'icp_made_up' },
        { authorization: `Bearer ${readOnly}` },
      ]) {
        const res = await post(signatureBody(2 * 1024 * 1024), headers);
        expect(res.status, JSON.stringify(headers)).toBe(413);
      }
      // a large body of another operation, or mixing another field in, or a batch
      const sms = `mutation Sign($input: RequestSignatureInput!) { sendSms(input: { to: "+14155550123", body: "x" }) { __typename }
        requestSignature(input: $input) { __typename } }`;
      for (const body of [
        signatureBody(2 * 1024 * 1024, sms),
        signatureBody(2 * 1024 * 1024, 'query Sign($input: RequestSignatureInput) { __typename }'),
        // one document, one operation: the same field twice under aliases is refused
        signatureBody(
          2 * 1024 * 1024,
          'mutation Sign($input: RequestSignatureInput!) { a: requestSignature(input: $input) { __typename } b: requestSignature(input: $input) { __typename } }',
        ),
        signatureBody(
          2 * 1024 * 1024,
          'mutation Sign($input: RequestSignatureInput!) { a: requestSignature(input: $input) { __typename } }',
        ),
        `[${signatureBody(2 * 1024 * 1024)}]`,
      ]) {
        const res = await post(body);
        expect(res.status).toBe(413);
        expect(await code(res)).toBe('PAYLOAD_TOO_LARGE');
      }
    });
  });
});
