/**
 * The access log: one JSON line per GraphQL request with request id, tenant, operation, status
 * and duration; and no credential in any log line, whatever a client sends (canaries).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.ts';

let server: TestServer;
const CANARY = `CANARY${Date.now()}x`;

beforeAll(async () => {
  server = await startTestServer({ LOG_LEVEL: 'debug', STRIPE_API_BASE_URL: 'http://127.0.0.1:9' });
});
afterAll(() => server?.close());

function accessLines() {
  return server.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'graphql request');
}

it('logs each request with its id, tenant, operation, status and duration, and echoes the id', async () => {
  const token = await server.token({ tenant_id: 'observed' });
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': 'req-123' },
    body: JSON.stringify({ query: 'query Catalog { providers { name } }' }),
  });
  expect(res.headers.get('x-request-id')).toBe('req-123');
  await res.text();
  await new Promise((r) => setTimeout(r, 50));
  const line = accessLines().find((l) => l.requestId === 'req-123');
  expect(line).toMatchObject({ tenantId: 'observed', operationName: 'Catalog', status: 200, method: 'POST' });
  expect(typeof line.durationMs).toBe('number');

  const anonymous = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"query":"{ __typename }"}',
  });
  const generated = anonymous.headers.get('x-request-id');
  expect(generated).toMatch(/^[0-9a-f-]{36}$/);
  await anonymous.text();
  await new Promise((r) => setTimeout(r, 50));
  expect(accessLines().find((l) => l.requestId === generated)).toMatchObject({ status: 401 });
});

it('writes no credential to any log line: headers, variables, secrets in inputs and errors', async () => {
  await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${CANARY}` },
    body: '{"query":"{ __typename }"}',
  });
  await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': `icp_${CANARY}` },
    body: '{"query":"{ __typename }"}',
  });
  const token = await server.token({ tenant_id: 'observed' });
  await server.gql(
    `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename } }`,
    {
      input: {
        provider: 'stripe',
        credentials: { publishable_key: 'pk_test_x', secret_key: `sk_test_${CANARY}`, webhook_secret: `whsec_${CANARY}` },
      },
    },
    { token },
  );
  await server.gql(
    `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) { __typename } }`,
    { input: { provider: 'twilio', credentials: { account_sid: CANARY, auth_token: CANARY } } },
    { token },
  );
  await new Promise((r) => setTimeout(r, 2500)); // verification of the stripe integration fails and is logged
  expect(server.logs.join('')).toMatch(/integration verified/);
  for (const line of server.logs) expect(line).not.toContain(CANARY);
});
