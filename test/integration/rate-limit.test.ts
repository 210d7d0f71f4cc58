/** RATE_LIMIT_RPM: requests per minute per tenant (and per API key), 429 with Retry-After over it. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_RPM: '5' });
});
afterAll(() => server?.close());

it('answers 429 with Retry-After past the limit, per tenant', async () => {
  const token = await server.token({ tenant_id: 'limited' });
  for (let i = 0; i < 5; i++) expect((await server.gql('{ __typename }', {}, { token })).status).toBe(200);
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  const body = await res.json();
  expect(body.errors[0].extensions.code).toBe('RATE_LIMITED');

  const other = await server.token({ tenant_id: 'not-limited' });
  expect((await server.gql('{ __typename }', {}, { token: other })).status).toBe(200);
});

it('counts an API key’s requests against the key as well as its tenant', async () => {
  const admin = await server.token({ tenant_id: 'keyed' });
  const created = await server.gql(
    `mutation { createApiKey(input: { name: "k" }) { ... on CreateApiKeyPayload { secret } } }`,
    {},
    { token: admin },
  );
  const apiKey = created.data.createApiKey.secret;
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await server.gql('{ __typename }', {}, { apiKey })).status);
  expect(statuses).toEqual([200, 200, 200, 200, 429]); // the admin's request counted for the tenant
});
