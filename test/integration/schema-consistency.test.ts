/**
 * Schema consistency (#19), over HTTP against the real server: closed string sets are enums (and
 * the fields CONTRACT.md pins as String stay String), id arguments follow one naming rule, a
 * malformed id answers like a missing one on node(id) and every xxx(id:) query, and FORBIDDEN
 * names the scope that would do. Policies: docs/using-the-api.md ("Conventions").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { type Receiver, startReceiver } from '../helpers/receiver.ts';

let server: TestServer;
let receiver: Receiver;
let admin: string;

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startTestServer({ WEBHOOK_ALLOW_HOSTS: receiver.hostPort });
  admin = await server.token({ tenant_id: 'consistency', sub: 'root' });
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

type TypeRef = { kind: string; name: string | null; ofType: TypeRef | null };
const TYPE_REF = 'kind name ofType { kind name ofType { kind name ofType { kind name } } }';

async function introspect() {
  const res = await server.gql(
    `{ __schema { types { kind name enumValues { name } possibleTypes { name } interfaces { name }
        fields { name type { ${TYPE_REF} } args { name type { ${TYPE_REF} } } }
        inputFields { name type { ${TYPE_REF} } } } } }`,
    {},
    { token: admin },
  );
  expect(res.errors).toBeUndefined();
  return res.data.__schema.types as {
    kind: string;
    name: string;
    enumValues: { name: string }[] | null;
    possibleTypes: { name: string }[] | null;
    interfaces: { name: string }[] | null;
    fields: { name: string; type: TypeRef; args: { name: string; type: TypeRef }[] }[] | null;
    inputFields: { name: string; type: TypeRef }[] | null;
  }[];
}

/** `[Scope!]!` for a list of non-null Scope. */
function printType(t: TypeRef): string {
  if (t.kind === 'NON_NULL') return `${printType(t.ofType!)}!`;
  if (t.kind === 'LIST') return `[${printType(t.ofType!)}]`;
  return t.name!;
}

describe('closed sets are enums', () => {
  it('types each field with its enum, one AuthMethod for Viewer and AuditEntry, and keeps the contract’s String fields', async () => {
    const types = await introspect();
    const byName = new Map(types.map((t) => [t.name, t]));
    const fieldType = (type: string, field: string) => printType(byName.get(type)!.fields!.find((f) => f.name === field)!.type);
    const inputType = (type: string, field: string) => printType(byName.get(type)!.inputFields!.find((f) => f.name === field)!.type);
    const values = (name: string) =>
      byName
        .get(name)!
        .enumValues!.map((v) => v.name)
        .sort();

    expect(fieldType('Viewer', 'authenticatedBy')).toBe('AuthMethod!');
    expect(fieldType('AuditEntry', 'via')).toBe('AuthMethod!');
    expect(values('AuthMethod')).toEqual(['API_KEY', 'CONNECT_SESSION', 'JWT']);
    expect(fieldType('Viewer', 'scopes')).toBe('[Scope!]!');
    expect(fieldType('ApiKey', 'scopes')).toBe('[Scope!]!');
    expect(values('Scope')).toEqual([
      'ADMIN',
      'CONNECT',
      'INTEGRATIONS_READ',
      'INTEGRATIONS_WRITE',
      'OPERATIONS_READ',
      'OPERATIONS_WRITE',
      'WEBHOOKS_READ',
      'WEBHOOKS_WRITE',
    ]);
    expect(fieldType('AuditEntry', 'outcome')).toBe('AuditOutcome!');
    // one outcome per typed error the schema can return, so no audit entry reads as an unknown value
    const errorTypes = byName.get('Error')!.possibleTypes!.map((t) => t.name.replace(/(?<=[a-z])(?=[A-Z])/g, '_').toUpperCase());
    expect(values('AuditOutcome')).toEqual(['ERROR', 'OK', ...errorTypes].sort());

    // CONTRACT.md fixes these as strings: the contract wins (docs/using-the-api.md, "Conventions")
    expect(fieldType('RetryPolicy', 'backoff')).toBe('String!');
    expect(fieldType('Webhook', 'lastDeliveryStatus')).toBe('String');
    // … each beside its typed reading: the closed set as an enum, the numbers as numbers
    expect(fieldType('Webhook', 'lastDeliveryResult')).toBe('DeliveryResult');
    expect(values('DeliveryResult')).toEqual(['HTTP_ERROR', 'NO_RESPONSE', 'SUCCEEDED']);
    expect(fieldType('Webhook', 'lastDeliveryHttpStatus')).toBe('Int');
    expect(fieldType('RetryPolicy', 'delaysMs')).toBe('[Int!]!');
    expect(fieldType('OperationAttempt', 'outcome')).toBe('String!');
    expect(fieldType('OperationError', 'code')).toBe('String!');
    expect(inputType('CreateApiKeyInput', 'scopes')).toBe('[String!]');
  });

  it('answers enum values, and createApiKey takes a scope in either spelling', async () => {
    const viewer = await server.gql(
      '{ viewer { authenticatedBy scopes } }',
      {},
      { token: await server.token({ scope: 'webhooks:write' }) },
    );
    expect(viewer.data.viewer).toEqual({ authenticatedBy: 'JWT', scopes: ['WEBHOOKS_READ', 'WEBHOOKS_WRITE'] });

    const created = await server.gql(
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
        __typename ... on CreateApiKeyPayload { secret apiKey { scopes } } ... on ValidationError { fieldErrors { path message } } } }`,
      { input: { name: 'both spellings', scopes: ['INTEGRATIONS_READ', 'webhooks:read'] } },
      { token: admin },
    );
    expect(created.data.createApiKey.apiKey.scopes).toEqual(['INTEGRATIONS_READ', 'WEBHOOKS_READ']);
    const byKey = await server.gql('{ viewer { authenticatedBy scopes } }', {}, { apiKey: created.data.createApiKey.secret });
    expect(byKey.data.viewer).toEqual({ authenticatedBy: 'API_KEY', scopes: ['INTEGRATIONS_READ', 'WEBHOOKS_READ'] });

    const unknown = await server.gql(
      `mutation { createApiKey(input: { name: "x", scopes: ["INTEGRATIONS_READ", "integrations_read"] }) {
        __typename ... on ValidationError { fieldErrors { path } } } }`,
      {},
      { token: admin },
    );
    expect(unknown.data.createApiKey).toEqual({ __typename: 'ValidationError', fieldErrors: [{ path: ['scopes', '1'] }] });

    const log = await server.gql('{ auditLog(operation: "createApiKey") { edges { node { outcome via } } } }', {}, { token: admin });
    expect(log.data.auditLog.edges.map((e: { node: unknown }) => e.node)).toEqual([
      { outcome: 'VALIDATION_ERROR', via: 'JWT' },
      { outcome: 'OK', via: 'JWT' },
    ]);
  });
});

describe('ids', () => {
  it('are named id for the object a field returns or changes, and <type>Id for another object', async () => {
    const types = await introspect();
    const nodeTypes = new Set(types.filter((t) => t.interfaces?.some((i) => i.name === 'Node')).map((t) => t.name));
    const idNamed: string[] = [];
    const named = (where: string, name: string, type: TypeRef) => {
      if (printType(type).replace(/[[\]!]/g, '') !== 'ID') return;
      idNamed.push(`${where}.${name}`);
      if (name === 'id') return;
      const referenced = /([A-Z]?[a-z]+)Id$/.exec(name)?.[1];
      expect(referenced && nodeTypes.has(referenced[0]!.toUpperCase() + referenced.slice(1)), `${where}.${name}`).toBe(true);
    };
    for (const type of types) {
      if (type.name.startsWith('__')) continue;
      for (const field of type.fields ?? []) for (const arg of field.args) named(`${type.name}.${field.name}`, arg.name, arg.type);
      for (const field of type.inputFields ?? []) named(type.name, field.name, field.type);
    }
    // the names CONTRACT.md fixes are among them
    expect(idNamed).toEqual(
      expect.arrayContaining(['SendTestEventInput.webhookId', 'Subscription.webhookDeliveryUpdated.webhookId', 'Query.integration.id']),
    );
  });

  it('sendTestEvent’s webhookId names the webhook, and a malformed one is NOT_FOUND like a malformed id', async () => {
    const created = await server.gql(
      `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { ... on CreateWebhookPayload { webhook { id } } } }`,
      { input: { name: 'consistency', url: receiver.url, eventTypes: ['webhook.test'] } },
      { token: admin },
    );
    const webhookId = created.data.createWebhook.webhook.id;
    const SEND = `mutation($id: ID!) { sendTestEvent(input: { webhookId: $id }) {
      __typename ... on SendTestEventPayload { delivery { webhook { id } } } ... on Error { code message } } }`;
    const sent = await server.gql(SEND, { id: webhookId }, { token: admin });
    expect(sent.data.sendTestEvent).toEqual({ __typename: 'SendTestEventPayload', delivery: { webhook: { id: webhookId } } });

    const viaWebhookId = await server.gql(SEND, { id: 'not-an-id' }, { token: admin });
    const viaId = await server.gql(
      'mutation($id: ID!) { pauseWebhook(input: { id: $id }) { __typename ... on Error { code message } } }',
      { id: 'not-an-id' },
      { token: admin },
    );
    expect(viaWebhookId.data.sendTestEvent).toEqual(viaId.data.pauseWebhook);
    expect(viaId.data.pauseWebhook).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
  });

  it('that are malformed, of an unknown type or of another type answer null, the same on node(id) and every xxx(id:) query', async () => {
    const gid = (raw: string) => Buffer.from(raw).toString('base64');
    const configured = await server.gql(
      `mutation { configureIntegration(input: { provider: "openai", credentials: { api_key: "sk-consistency" } }) {
        ... on ConfigureIntegrationPayload { integration { id } } } }`,
      {},
      { token: admin },
    );
    const integrationId = configured.data.configureIntegration.integration.id;
    const ids = [
      'garbage',
      '',
      '!!!',
      gid('Nope:1'), // no such type
      gid('Viewer:1'), // a type that is not a node
      gid('Integration:not-a-uuid'),
      gid('Integration:01900000-0000-7000-8000-000000000000'), // well-formed, missing
      gid('Webhook:01900000-0000-7000-8000-000000000000'), // another type's
    ];
    for (const id of ids) {
      const res = await server.gql(
        `query($id: ID!) { node(id: $id) { id } integration(id: $id) { id } webhook(id: $id) { id } operation(id: $id) { id } }`,
        { id },
        { token: admin },
      );
      expect(res.errors, id).toBeUndefined();
      expect(res.data, id).toEqual({ node: null, integration: null, webhook: null, operation: null });
    }
    const found = await server.gql(
      'query($id: ID!) { node(id: $id) { id } integration(id: $id) { id } }',
      { id: integrationId },
      { token: admin },
    );
    expect(found.data).toEqual({ node: { id: integrationId }, integration: { id: integrationId } });
  });
});

describe('FORBIDDEN', () => {
  it('names the scope that would do, in the message and extensions.requiredScopes', async () => {
    const none = await server.token({ tenant_id: 'consistency', scope: '' });
    const cases: [string, string, string[]][] = [
      ['{ integrations { totalCount } }', 'Query.integrations', ['integrations:read']],
      ['{ webhooks { totalCount } }', 'Query.webhooks', ['webhooks:read']],
      ['{ operations { totalCount } }', 'Query.operations', ['operations:read']],
      ['{ auditLog { totalCount } }', 'Query.auditLog', ['admin']],
      ['{ apiKeys { totalCount } }', 'Query.apiKeys', ['admin']],
      ['{ events { totalCount } }', 'Query.events', ['integrations:read', 'webhooks:read']],
      ['mutation { deleteWebhook(input: { id: "x" }) { __typename } }', 'Mutation.deleteWebhook', ['webhooks:write']],
      ['mutation { sendSms(input: { to: "+14155550123", body: "x" }) { __typename } }', 'Mutation.sendSms', ['operations:write']],
    ];
    for (const [query, field, scopes] of cases) {
      const res = await server.gql(query, {}, { token: none });
      expect(res.errors?.[0]?.extensions, query).toMatchObject({ code: 'FORBIDDEN', requiredScopes: scopes });
      expect(res.errors?.[0]?.message, query).toBe(
        scopes.length === 1 ? `${field} needs the ${scopes[0]} scope` : `${field} needs one of the scopes ${scopes.join(', ')}`,
      );
    }
  });

  it('names it on a type’s own scopes (reached through node) and on a refused subscription', async () => {
    const configured = await server.gql('{ integrations(first: 1) { edges { node { id } } } }', {}, { token: admin });
    const id = configured.data.integrations.edges[0].node.id;
    const webhooksOnly = await server.token({ tenant_id: 'consistency', scope: 'webhooks:read' });
    const byNode = await server.gql('query($id: ID!) { node(id: $id) { id } }', { id }, { token: webhooksOnly });
    expect(byNode.errors?.[0]).toMatchObject({
      message: 'Query.node needs the integrations:read scope',
      extensions: { code: 'FORBIDDEN', requiredScopes: ['integrations:read'] },
    });

    const integrationsOnly = await server.token({ tenant_id: 'consistency', scope: 'integrations:read' });
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${integrationsOnly}` },
      body: JSON.stringify({ query: 'subscription { webhookDeliveryUpdated(webhookId: "x") { id } }' }),
    });
    expect(response.status).toBe(403);
    const body = (await response.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors[0]).toMatchObject({
      message: 'Subscription.webhookDeliveryUpdated needs the webhooks:read scope',
      extensions: { code: 'FORBIDDEN', requiredScopes: ['webhooks:read'] },
    });
  });
});
