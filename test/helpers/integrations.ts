/**
 * Setting up what operation and routing tests stand on, over the GraphQL API as a client would:
 * an integration configured and verified ACTIVE against a loopback fake, and the routing rule that
 * sends a capability to it. Each helper takes a `Gql`, so a TestServer and a service started some
 * other way (a process, a restarted App) are set up alike.
 */
import { SignJWT } from 'jose';
import { expect } from 'vitest';
import type { App } from '../../src/app.ts';
import { type Credential, eventually, TEST_JWT_SECRET, type TestServer } from './app.ts';

/** Sends one GraphQL request as some caller and answers its `data`, failing the test on any error. */
export type Gql = (query: string, variables?: Record<string, unknown>) => Promise<any>;

/** The Gql of `server` as the caller `credential` names. */
export function gqlAs(server: TestServer, credential: Credential): Gql {
  return async (query, variables = {}) => {
    const res = await server.gql(query, variables, credential);
    expect(res.errors).toBeUndefined();
    return res.data;
  };
}

/**
 * The Gql of a service started without startTestServer (a process, or an App restarted on a kept
 * database) at `url`, with a bearer token of `claims` signed by TEST_JWT_SECRET for each request.
 */
export function gqlAt(url: string, claims: Record<string, unknown>, subject = 'tester'): Gql {
  return async (query, variables = {}) => {
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(subject)
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: any; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    return body.data;
  };
}

/** Where an App started with `listen()` answers. */
export function urlOf(app: App): string {
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

/** The Authorization header of HTTP Basic auth, as Twilio and Plivo expect it. */
export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export interface ConfiguredIntegration {
  id: string;
  /** Where the provider's callbacks go; null for a caller without integrations:write. */
  inboundWebhookUrl: string | null;
}

const CONFIGURE = `mutation($input: ConfigureIntegrationInput!) { configureIntegration(input: $input) {
  __typename ... on ConfigureIntegrationPayload { integration { id inboundWebhookUrl } } ... on Error { code message } } }`;

/** Configures an integration, which must be accepted; it is not verified yet (PENDING_VERIFY). */
export async function configureIntegration(
  gql: Gql,
  provider: string,
  credentials: Record<string, unknown>,
): Promise<ConfiguredIntegration> {
  const result = (await gql(CONFIGURE, { input: { provider, credentials } })).configureIntegration;
  expect(result.__typename, `configureIntegration(${provider}): ${result.message}`).toBe('ConfigureIntegrationPayload');
  return result.integration;
}

/** Waits until verification made the integration ACTIVE (the fakes answer at once; the queue may lag). */
export async function waitForActive(gql: Gql, id: string, timeoutMs = 20_000): Promise<void> {
  await eventually(
    async () =>
      (await gql(`query($id: ID!) { integration(id: $id) { status } }`, { id })).integration?.status === 'ACTIVE' ? true : undefined,
    timeoutMs,
    `integration ${id} ACTIVE`,
  );
}

/** Configures an integration and waits until it is ACTIVE, the only state routing chooses. */
export async function configureActive(
  gql: Gql,
  provider: string,
  credentials: Record<string, unknown>,
  timeoutMs?: number,
): Promise<ConfiguredIntegration> {
  const integration = await configureIntegration(gql, provider, credentials);
  await waitForActive(gql, integration.id, timeoutMs);
  return integration;
}

/** The fields of a RoutingRule the routing tests compare. */
export const ROUTING_RULE_FIELDS = 'id capability priority isDefault version integration { id } fallbackIntegration { id }';

export const CREATE_ROUTING_RULE = `mutation($input: CreateRoutingRuleInput!) { createRoutingRule(input: $input) {
  __typename ... on CreateRoutingRulePayload { routingRule { ${ROUTING_RULE_FIELDS} } }
  ... on Error { __typename code message } ... on ValidationError { fieldErrors { path message } } } }`;

/** createRoutingRule's answer as it is: the payload, or the typed error a test may expect. */
export async function createRule(gql: Gql, input: Record<string, unknown>) {
  return (await gql(CREATE_ROUTING_RULE, { input })).createRoutingRule;
}

/** Creates a routing rule that must be accepted; answers its id. */
export async function addRule(gql: Gql, input: Record<string, unknown>): Promise<string> {
  const result = await createRule(gql, input);
  expect(result.__typename, `createRoutingRule: ${result.message}`).toBe('CreateRoutingRulePayload');
  return result.routingRule.id;
}

/**
 * Columns of every kind a raw write of an integration sends (text arrays, nested JSON with quotes,
 * bytea of several lengths), for tests comparing its row with Prisma's.
 */
export function everyKindOfColumn() {
  const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
  return {
    metadata: { team: 'types', nested: { list: [1, 'two', null], quote: `it's "quoted"` } },
    secretKeys: ['api_key'],
    secretKeyId: 'key-id',
    secretDataKey: bytes(40, 1),
    secretIv: bytes(12, 2),
    secretTag: bytes(16, 3),
    secretCiphertext: bytes(7, 4),
    inboundToken: `token-${Date.now()}-${Math.random()}`,
  };
}
