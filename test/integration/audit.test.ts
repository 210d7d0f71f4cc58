/** The audit log: every mutation field leaves who, what (outcome, ids), when and from where. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ OPENAI_API_BASE_URL: 'http://127.0.0.1:9', VERIFY_RETRY_LIMIT: '0' });
});
afterAll(() => server?.close());

const LOG = `query($op: String) { auditLog(operation: $op) { totalCount edges { node {
  operation outcome objectIds actorId via ip userAgent requestId createdAt } } } }`;

it('records each mutation with its outcome, the ids it named, the actor and where it came from, never a credential', async () => {
  const token = await server.token({ tenant_id: 'audited', sub: 'auditor' });
  const created = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'user-agent': 'audit-test/1',
      'x-request-id': 'audit-req-1',
    },
    body: JSON.stringify({
      query: `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-AUDITCANARY" } }) {
        ... on ConfigureIntegrationPayload { integration { id } } } }`,
    }),
  }).then((r) => r.json());
  const id = created.data.configureIntegration.integration.id;
  expect(created.data.configureIntegration).not.toHaveProperty('__auditOutcome');
  // a typed error, with no __typename selected by the client
  await server.gql(
    `mutation($id: ID!) { verifyIntegration(input: { id: $id }) { ... on VerifyIntegrationPayload { integration { id } } } }`,
    { id: 'bad' },
    { token },
  );
  await server.gql(`mutation($id: ID!) { disableIntegration(input: { id: $id }) { __typename } }`, { id }, { token });

  const log = await server.gql(LOG, {}, { token });
  expect(log.raw).not.toContain('AUDITCANARY');
  const entries = log.data.auditLog.edges.map((e: { node: unknown }) => e.node);
  expect(entries.map((e: { operation: string; outcome: string }) => [e.operation, e.outcome])).toEqual([
    ['disableIntegration', 'OK'],
    ['verifyIntegration', 'NOT_FOUND_ERROR'],
    ['configureIntegration', 'OK'],
  ]);
  expect(entries[0].objectIds).toEqual([id]);
  expect(entries[2]).toMatchObject({
    actorId: 'auditor',
    via: 'JWT',
    userAgent: 'audit-test/1',
    requestId: 'audit-req-1',
    ip: expect.stringMatching(/127\.0\.0\.1/),
  });

  const filtered = await server.gql(LOG, { op: 'disableIntegration' }, { token });
  expect(filtered.data.auditLog.totalCount).toBe(1);
});

it('is readable by admins only, and only their tenant’s', async () => {
  const writer = await server.token({ tenant_id: 'audited', scope: 'integrations:write' });
  expect((await server.gql(LOG, {}, { token: writer })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  const other = await server.token({ tenant_id: 'not-audited' });
  expect((await server.gql(LOG, {}, { token: other })).data.auditLog.totalCount).toBe(0);
  expect((await server.gql(LOG, {})).status).toBe(401);
});
