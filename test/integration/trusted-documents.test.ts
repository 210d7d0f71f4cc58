/**
 * Trusted documents (TRUSTED_DOCUMENTS, TRUSTED_DOCUMENTS_ONLY): the manifest is checked at
 * start-up; a request naming a document by its hash runs it, in every form clients send the hash;
 * an unknown hash is a typed error; with only trusted documents, a document's text is refused and
 * GraphiQL still loads, saying why it can run nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { CSRF_HEADER } from '../../src/graphql-hardening/csrf.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';

const VIEWER = 'query TrustedViewer { viewer { tenantId } }';
const CONFIGURE =
  'mutation TrustedConfigure { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-t" } }) { __typename } }';
const EXAMPLE_MANIFEST = path.resolve(import.meta.dirname, '../../src/examples/client/gql/persisted-documents.json');

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let dir: string;
/** As graphql-codegen's client preset writes it: `sha256:<hex>` ids. */
let manifest: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'trusted-'));
  manifest = path.join(dir, 'persisted-documents.json');
  await writeFile(manifest, JSON.stringify({ [`sha256:${sha256(VIEWER)}`]: VIEWER, [`sha256:${sha256(CONFIGURE)}`]: CONFIGURE }));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the manifest', () => {
  async function problem(content: string | undefined, only?: string): Promise<string> {
    const file = path.join(dir, `m${Math.random()}.json`);
    if (content !== undefined) await writeFile(file, content);
    try {
      loadConfig({ TRUSTED_DOCUMENTS: file, ...(only ? { TRUSTED_DOCUMENTS_ONLY: only } : {}) });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('loadConfig accepted it');
  }

  it('is read at start-up, keyed by hash with or without the sha256: prefix', () => {
    const config = loadConfig({ TRUSTED_DOCUMENTS: manifest, TRUSTED_DOCUMENTS_ONLY: 'true' });
    expect(config.trustedDocuments).toMatchObject({ file: manifest, only: true });
    expect(config.trustedDocuments?.documents.get(sha256(VIEWER))).toBe(VIEWER);
    expect(loadConfig({ TRUSTED_DOCUMENTS: manifest }).trustedDocuments?.only).toBe(false);
    expect(loadConfig({}).trustedDocuments).toBeUndefined();
  });

  it('stops the start, saying what is wrong, when it is missing or not a manifest', async () => {
    expect(await problem(undefined)).toMatch(/TRUSTED_DOCUMENTS: cannot read .*m[\d.]+\.json \(ENOENT\)/);
    expect(await problem('{ "a": ')).toMatch(/TRUSTED_DOCUMENTS: .* is not JSON/);
    expect(await problem('["query { viewer { tenantId } }"]')).toMatch(/expected a JSON object mapping each document's hash to its text/);
    expect(await problem('{}')).toMatch(/holds no documents/);
    expect(await problem('{ "x": 1 }')).toMatch(/"x": expected the document's text, got number/);
    expect(await problem('{ "x": "query {" }')).toMatch(/"x": Syntax Error/);
    expect(await problem('{ "x": "type Query { a: Int }" }')).toMatch(/only operations and fragments/);
    expect(await problem(JSON.stringify({ [`sha256:${sha256('other')}`]: VIEWER }))).toMatch(/not the sha256 of its document/);
  });

  it('TRUSTED_DOCUMENTS_ONLY needs a manifest', () => {
    expect(() => loadConfig({ TRUSTED_DOCUMENTS_ONLY: 'true' })).toThrow(/TRUSTED_DOCUMENTS_ONLY: needs TRUSTED_DOCUMENTS/);
    expect(() => loadConfig({ TRUSTED_DOCUMENTS: manifest, TRUSTED_DOCUMENTS_ONLY: 'sometimes' })).toThrow(
      /TRUSTED_DOCUMENTS_ONLY: expected true or false/,
    );
  });

  it.skipIf(!existsSync(EXAMPLE_MANIFEST))('the one the example client’s codegen writes is accepted as it is', () => {
    expect(loadConfig({ TRUSTED_DOCUMENTS: EXAMPLE_MANIFEST }).trustedDocuments?.documents.size).toBeGreaterThan(0);
  });
});

interface Result {
  status: number;
  body: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
}

async function post(server: TestServer, token: string, body: unknown): Promise<Result> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Result['body'] };
}

const byHash = (sha256Hash: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash } } });

describe('alongside arbitrary documents', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer({ TRUSTED_DOCUMENTS: manifest });
    token = await server.token({ tenant_id: 'trusted' });
  });
  afterAll(() => server?.close());

  it('runs a trusted document named by its hash, however the client sends it', async () => {
    const viewer = { data: { viewer: { tenantId: 'trusted' } } };
    // graphql-codegen's documented request: the prefixed hash from the document's __meta__
    expect((await post(server, token, byHash(`sha256:${sha256(VIEWER)}`))).body).toEqual(viewer);
    // Apollo's persisted queries link: the bare hex
    expect((await post(server, token, byHash(sha256(VIEWER)))).body).toEqual(viewer);
    // GraphQL over HTTP's persisted documents appendix
    expect((await post(server, token, { documentId: `sha256:${sha256(VIEWER)}` })).body).toEqual(viewer);
    const url = new URL(`${server.url}/graphql`);
    url.searchParams.set('extensions', JSON.stringify(byHash(sha256(VIEWER)).extensions));
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, [CSRF_HEADER]: '1' } });
    expect(await res.json()).toEqual(viewer);
  });

  it('answers an unknown hash with PERSISTED_QUERY_NOT_FOUND, and a request with neither with PERSISTED_QUERY_ID_REQUIRED', async () => {
    const unknown = await post(server, token, byHash(sha256('query Other { viewer { scopes } }')));
    expect(unknown.status).toBe(404);
    expect(unknown.body.errors?.[0]).toMatchObject({ extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } });
    expect(unknown.body.errors?.[0]?.message).toMatch(/^PersistedQueryNotFound: no trusted document has the id [0-9a-f]{64}$/);
    const neither = await post(server, token, {});
    expect(neither.status).toBe(400);
    expect(neither.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_ID_REQUIRED');
  });

  it('still runs documents sent as text', async () => {
    expect((await post(server, token, { query: '{ viewer { scopes } }' })).body.data.viewer.scopes).toContain('ADMIN');
  });
});

describe('TRUSTED_DOCUMENTS_ONLY=true', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer({ TRUSTED_DOCUMENTS: manifest, TRUSTED_DOCUMENTS_ONLY: 'true' });
    token = await server.token({ tenant_id: 'trusted-only' });
  });
  afterAll(() => server?.close());

  it('runs trusted documents, mutations included', async () => {
    expect((await post(server, token, byHash(sha256(VIEWER)))).body).toEqual({ data: { viewer: { tenantId: 'trusted-only' } } });
    const configured = await post(server, token, byHash(sha256(CONFIGURE)));
    expect(configured.body).toEqual({ data: { configureIntegration: { __typename: 'ConfigureIntegrationPayload' } } });
  });

  it('refuses any document sent as text, the trusted ones and introspection included, before it runs', async () => {
    for (const query of [
      '{ viewer { tenantId } }',
      VIEWER,
      '{ __schema { queryType { name } } }',
      CONFIGURE.replace('openai', 'sendgrid'),
    ]) {
      const refused = await post(server, token, { query });
      expect(refused.status).toBe(400);
      expect(refused.body.data ?? null).toBeNull();
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_ID_REQUIRED');
      expect(refused.body.errors?.[0]?.message).toMatch(/Only trusted documents run here/);
    }
  });

  it('a trusted mutation over GET is still refused with 405', async () => {
    const url = new URL(`${server.url}/graphql`);
    url.searchParams.set('extensions', JSON.stringify(byHash(sha256(CONFIGURE)).extensions));
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, [CSRF_HEADER]: '1' } });
    expect(res.status).toBe(405);
  });

  it('GraphiQL still loads, opening on a note that it can run nothing here', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/graphiql/i);
    expect(html).toContain('This server runs only trusted documents (TRUSTED_DOCUMENTS_ONLY=true)');
  });
});
