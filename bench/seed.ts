/**
 * What `bench/requests.ts` measures against: a realistic tenant made through the public
 * GraphQL API only (so it survives changes to the data path): every provider of the catalog
 * configured and verified against a loopback fake of the providers' APIs, webhooks with a
 * delivery history (real signed deliveries to a loopback receiver), and routing rules with
 * fallbacks for every capability. Plus the GraphQL client, tokens and credentials it needs.
 */
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { PROVIDERS } from '../src/providers/catalog.ts';

export const BENCH_JWT_SECRET = 'bench-secret-that-is-long-enough-for-hs256-0123456789';
export const BENCH_ENCRYPTION_KEY = Buffer.alloc(32, 3).toString('base64');

export function token(tenantId: string, sub = 'bench-user'): Promise<string> {
  return new SignJWT({ tenant_id: tenantId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(BENCH_JWT_SECRET));
}

/** A typed error of a mutation's result union, or GraphQL errors: the seed cannot go on. */
export class GraphQLFailure extends Error {}

/** POSTs one operation; throws on a non-200, on `errors` and on a typed error (a `code` in the data). */
export async function gql<T = any>(url: string, bearer: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query, variables }),
  });
  const raw = await res.text();
  if (res.status !== 200) throw new GraphQLFailure(`HTTP ${res.status}: ${raw.slice(0, 500)}`);
  const body = JSON.parse(raw) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || /"code":"[A-Z_]+"/.test(raw)) throw new GraphQLFailure(`${query.slice(0, 80)}…: ${raw.slice(0, 500)}`);
  return body.data as T;
}

let pem: string | undefined;
/** Credentials each provider's schema accepts and the fake API verifies. */
export function credentialsFor(provider: string): Record<string, unknown> {
  pem ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const sid = 'AC0123456789abcdef0123456789abcdef';
  const all: Record<string, Record<string, unknown>> = {
    stripe: { publishable_key: 'pk_test_bench', secret_key: 'sk_test_bench', webhook_secret: 'whsec_bench' },
    twilio: { account_sid: sid, auth_token: '0123456789abcdef0123456789abcdef', from_number: '+14155550123' },
    plivo: { auth_id: 'MAXXXXXXXXXXXXXXXXXX', auth_token: 'plivo-bench-token', from_number: '+5511999990000' },
    whatsapp_twilio: { account_sid: sid, auth_token: '0123456789abcdef0123456789abcdef', from_number: 'whatsapp:+14155238886' },
    sendgrid: { api_key: 'SG.bench.key', from_email: 'noreply@example.com', from_name: 'Bench' },
    openai: { api_key: 'sk-proj-bench', organization_id: 'org-bench', project_id: 'proj_bench' },
    docusign: {
      integration_key: '6f1b2c3d-0000-4000-8000-000000000001',
      user_id: '6f1b2c3d-0000-4000-8000-000000000002',
      private_key: pem,
    },
    clicksign: { access_token: 'cs-bench-0000-1111', environment: 'stage' },
    d4sign: { token_api: 'live_bench_token', crypt_key: 'live_bench_crypt', environment: 'stage' },
    certisign: { api_token: 'certisign-bench-key', environment: 'stage' },
    adobe_sign: { access_token: '3AAABLbench', client_id: 'CBJCHBCAAB', api_user_email: 'ops@example.com' },
  };
  const credentials = all[provider];
  if (!credentials) throw new Error(`no bench credentials for provider ${provider}: add them to bench/seed.ts`);
  return credentials;
}

/**
 * Answers every provider's credential check: 200 with what DocuSign's token and userinfo calls and
 * Acrobat Sign's baseUris read (the API hosts they name are under the providers' own domains, as
 * their sessions require; nothing calls them in the bench).
 */
export const fakeProviderRoute = () => ({
  status: 200,
  body: {
    access_token: 'fake-access-token',
    token_type: 'Bearer',
    expires_in: 3600,
    accounts: [{ account_id: 'bench-account', is_default: true, base_uri: 'https://demo.docusign.net' }],
    apiAccessPoint: 'https://api.na1.adobesign.com/',
    webAccessPoint: 'https://secure.na1.adobesign.com/',
  },
});

/** The integrations page the benches read (bench/requests.ts, bench/page-cpu.ts). */
export const INTEGRATIONS_PAGE = `query Integrations($first: Int) {
    integrations(first: $first) { totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { id status version enabledCapabilities metadata createdAt updatedAt verifiedAt lastError
        provider { name displayName category capabilities }
        credentialFields { key isSet sensitive value } credentials } } }
  }`;

/**
 * The webhooks page the benches read: three deliveries each (the cost limit refuses 100 webhooks
 * with five deliveries, events and attempts).
 */
export const WEBHOOKS_PAGE = `query Webhooks($first: Int) {
    webhooks(first: $first) { totalCount pageInfo { hasNextPage endCursor }
      edges { node { id name url status eventTypes consecutiveFailures lastDeliveryAt lastDeliveryStatus
        retryPolicy { maxAttempts timeoutMs }
        deliveries(first: 3) { totalCount edges { node { id status attemptCount createdAt
          event { id type occurredAt } attempts { attemptNumber responseStatus durationMs startedAt } } } } } } }
  }`;

export const CONFIGURE = `mutation Configure($input: ConfigureIntegrationInput!) {
  configureIntegration(input: $input) {
    __typename
    ... on ConfigureIntegrationPayload { integration { id status version } }
    ... on Error { code message }
  }
}`;

export const DELETE = `mutation Delete($input: DeleteIntegrationInput!) {
  deleteIntegration(input: $input) {
    __typename
    ... on DeleteIntegrationPayload { deletedId }
    ... on Error { code message }
  }
}`;

const STATUSES = `query Statuses { integrations(first: 100) { edges { node { id status version provider { name } } } } }`;

interface IntegrationRow {
  id: string;
  status: string;
  version: number;
  provider: { name: string };
}

/** Waits until every integration of the tenant is out of PENDING_VERIFY (ACTIVE expected). */
export async function waitForVerified(url: string, bearer: string, timeoutMs = 60_000): Promise<IntegrationRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const data = await gql<{ integrations: { edges: { node: IntegrationRow }[] } }>(url, bearer, STATUSES);
    const rows = data.integrations.edges.map((e) => e.node);
    if (rows.every((r) => r.status !== 'PENDING_VERIFY')) {
      const failed = rows.filter((r) => r.status !== 'ACTIVE');
      if (failed.length)
        throw new Error(`verification did not make these ACTIVE: ${failed.map((r) => `${r.provider.name} ${r.status}`).join(', ')}`);
      return rows;
    }
    if (Date.now() > deadline) throw new Error('integrations still PENDING_VERIFY after a minute');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `fn` over `items`, a few at a time (seeding through the API in order would take a while). */
export async function inParallel<T, R>(items: T[], fn: (item: T) => Promise<R>, concurrency = 8): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!);
      }
    }),
  );
  return results;
}

export interface SeededTenant {
  tenantId: string;
  token: string;
  integrations: Map<string, string>;
  webhookIds: string[];
  rules: number;
  /** Deliveries the seed caused (each received by the receiver once). */
  deliveries: number;
}

/** [primary, fallback?, priority?, isDefault?] per capability; every provider serves in at least one. */
const RULES: [capability: string, primary: string, fallback: string | null, priority: number, isDefault: boolean][] = [
  ['send_sms', 'twilio', 'plivo', 100, true],
  ['send_sms', 'plivo', null, 200, false],
  ['send_whatsapp', 'whatsapp_twilio', 'twilio', 100, true],
  ['send_email', 'sendgrid', null, 100, true],
  ['initiate_payment', 'stripe', null, 100, true],
  ['process_refund', 'stripe', null, 100, true],
  ['verify_payment', 'stripe', null, 100, true],
  ['generate_text', 'openai', null, 100, true],
  ['create_embedding', 'openai', null, 100, true],
  ['request_signature', 'docusign', 'clicksign', 100, true],
  ['request_signature', 'd4sign', 'certisign', 110, false],
  ['request_signature', 'adobe_sign', null, 120, false],
  ['track_signature', 'docusign', 'adobe_sign', 100, true],
  ['track_signature', 'clicksign', null, 110, false],
];

/**
 * Webhooks first (so the integration events of the seed fan out to them and leave a history),
 * then every provider, then the rules, then one test event per webhook. Returns once every
 * delivery the seed caused has reached the receiver.
 */
export async function seedTenant(
  url: string,
  tenantId: string,
  options: { webhooks: number; receiverUrl: string; received: () => number },
): Promise<SeededTenant> {
  const bearer = await token(tenantId);
  const receivedBefore = options.received();
  // a few subscribers of everything, some of integration status changes, the rest of test events
  const eventTypes = (i: number) => (i < 2 ? ['*'] : i < 10 ? ['integration.status_changed'] : ['webhook.test']);
  const webhookIds = await inParallel(
    Array.from({ length: options.webhooks }, (_, i) => i),
    async (i) => {
      const data = await gql(
        url,
        bearer,
        `mutation($input: CreateWebhookInput!) {
      createWebhook(input: $input) { __typename ... on CreateWebhookPayload { webhook { id } } ... on Error { code message } }
    }`,
        { input: { name: `bench ${i}`, url: `${options.receiverUrl}/${i}`, eventTypes: eventTypes(i), headers: { 'x-bench': String(i) } } },
      );
      return data.createWebhook.webhook.id as string;
    },
  );
  const integrations = new Map<string, string>();
  await inParallel([...PROVIDERS], async (p) => {
    const data = await gql(url, bearer, CONFIGURE, {
      input: { provider: p.name, credentials: credentialsFor(p.name), metadata: { team: 'bench', costCenter: `cc-${p.name}` } },
    });
    integrations.set(p.name, data.configureIntegration.integration.id);
  });
  await waitForVerified(url, bearer);
  for (const [capability, primary, fallback, priority, isDefault] of RULES) {
    await gql(
      url,
      bearer,
      `mutation($input: CreateRoutingRuleInput!) {
      createRoutingRule(input: $input) { __typename ... on Error { code message } }
    }`,
      {
        input: {
          capability,
          integrationId: integrations.get(primary),
          fallbackIntegrationId: fallback ? integrations.get(fallback) : null,
          priority,
          isDefault,
        },
      },
    );
  }
  await inParallel(webhookIds, (id) =>
    gql(
      url,
      bearer,
      `mutation($input: SendTestEventInput!) { sendTestEvent(input: $input) { __typename ... on Error { code message } } }`,
      {
        input: { webhookId: id },
      },
    ),
  );
  // each event once per subscriber: 2 of everything, 8 of status changes, every webhook its test event
  const everything = Math.min(2, options.webhooks);
  const statusOnly = Math.max(0, Math.min(10, options.webhooks) - 2);
  const expected = everything * (2 * PROVIDERS.length + RULES.length) + statusOnly * PROVIDERS.length + options.webhooks;
  const deadline = Date.now() + 180_000;
  while (options.received() - receivedBefore < expected) {
    if (Date.now() > deadline)
      throw new Error(`only ${options.received() - receivedBefore} of ${expected} seed deliveries arrived in 3 minutes`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { tenantId, token: bearer, integrations, webhookIds, rules: RULES.length, deliveries: expected };
}
