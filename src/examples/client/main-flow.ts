/**
 * The main flow of the API as a typed client runs it: list the providers, configure one, wait
 * over SSE until its credentials are verified (ACTIVE), create a webhook pointing at a receiver,
 * then change the integration and watch the resulting `integration.updated` event be delivered,
 * signed, to the receiver. Every operation is a generated TypedDocumentNode (./gql/), so a change
 * of schema.graphql that breaks the flow breaks `npm run typecheck`.
 *
 * test/integration/codegen-client.test.ts runs it against the real server. From a shell:
 *
 *   ICP_URL=http://127.0.0.1:4000/graphql ICP_TOKEN=$(npm run -s token -- --tenant acme) \
 *   ICP_CREDENTIALS='{"publishable_key":"pk_test_…","secret_key":"sk_test_…"}' \
 *   ICP_RECEIVER_URL=https://example.com/hooks npx tsx src/examples/client/main-flow.ts
 *
 * (ICP_API_KEY instead of ICP_TOKEN; ICP_PROVIDER, default stripe.) The receiver must be a public
 * URL, or listed in the server's WEBHOOK_ALLOW_HOSTS.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Api, createApi, expectPayload } from './api.ts';
import {
  ConfigureIntegrationDocument,
  CreateWebhookDocument,
  type DeliverySummaryFragment,
  IntegrationStatusChangedDocument,
  IntegrationStatusDocument,
  type IntegrationSummaryFragment,
  ProvidersDocument,
  UpdateIntegrationMetadataDocument,
  ViewerDocument,
  WebhookDeliveryUpdatedDocument,
  type WebhookSummaryFragment,
} from './gql/graphql.ts';

/** The event the flow causes once the webhook exists. */
export const TRIGGERED_EVENT = 'integration.updated';

export type Step =
  | 'viewer'
  | 'providers'
  | 'configured'
  | 'watching-status'
  | 'active'
  | 'webhook-created'
  | 'watching-deliveries'
  | 'triggered'
  | 'delivered';

export interface MainFlowOptions {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  /** The credential's headers: `authorization: Bearer <JWT>` or `x-api-key`. */
  headers: Record<string, string>;
  /** The provider to configure, e.g. "stripe". */
  provider: string;
  /** Values for the provider's credentialSchema. */
  credentials: Record<string, unknown>;
  /** Where the webhook sends events. */
  receiverUrl: string;
  /** How long each wait (verification, delivery) may take; default 60 s. */
  timeoutMs?: number;
  /** Called as each step completes, e.g. to print progress. */
  onStep?: (step: Step, detail: string) => void;
}

export interface MainFlowResult {
  tenantId: string;
  /** The catalog's provider names. */
  providers: string[];
  /** The integration once ACTIVE. */
  integration: IntegrationSummaryFragment;
  /** What integrationStatusChanged streamed while the flow waited. */
  statusChanges: IntegrationSummaryFragment[];
  webhook: WebhookSummaryFragment;
  /** Shown once by createWebhook: the key to verify deliveries with. */
  signingSecret: string;
  /** The delivery of the triggered event, SUCCEEDED; its id is the webhook-id header. */
  delivery: DeliverySummaryFragment;
}

/**
 * Streams the integration's transitions until ACTIVE, collecting them in `changes`; ERROR ends
 * the wait with its lastError.
 */
async function waitUntilActive(
  api: Api,
  id: string,
  timeoutMs: number,
  changes: IntegrationSummaryFragment[],
  onStep: MainFlowOptions['onStep'],
) {
  let read: unknown;
  const data = await api.watch(
    IntegrationStatusChangedDocument,
    { id },
    {
      // Read once the stream is open: a transition before it shows in this answer, any later one
      // arrives on the stream.
      start: async () => {
        onStep?.('watching-status', id);
        const { integration } = await api.request(IntegrationStatusDocument, { id });
        return integration ? (read = { integrationStatusChanged: integration }) : undefined;
      },
      until: (result) => {
        const integration = result.integrationStatusChanged;
        if (result !== read) changes.push(integration);
        if (integration.status === 'ERROR') throw new Error(`verification failed: ${integration.lastError ?? 'no reason given'}`);
        return integration.status === 'ACTIVE';
      },
      timeoutMs,
    },
  );
  return data.integrationStatusChanged;
}

/** Changes the integration's metadata and waits for the resulting event's delivery to succeed. */
async function triggerAndWatchDelivery(
  api: Api,
  webhookId: string,
  integrationId: string,
  timeoutMs: number,
  onStep: MainFlowOptions['onStep'],
) {
  const data = await api.watch(
    WebhookDeliveryUpdatedDocument,
    { webhookId },
    {
      start: async () => {
        onStep?.('watching-deliveries', webhookId);
        const result = await api.request(UpdateIntegrationMetadataDocument, {
          id: integrationId,
          metadata: { example: 'typed-client', touchedAt: new Date().toISOString() },
        });
        expectPayload(result.updateIntegration, 'UpdateIntegrationPayload');
        onStep?.('triggered', TRIGGERED_EVENT);
        return undefined;
      },
      until: ({ webhookDeliveryUpdated: delivery }) => {
        if (delivery.event.type !== TRIGGERED_EVENT) return false;
        if (delivery.status === 'FAILED') throw new Error(`delivery ${delivery.id} failed: ${JSON.stringify(delivery.attempts)}`);
        return delivery.status === 'SUCCEEDED';
      },
      timeoutMs,
    },
  );
  return data.webhookDeliveryUpdated;
}

export async function runMainFlow(options: MainFlowOptions): Promise<MainFlowResult> {
  const { provider: name, credentials, receiverUrl, timeoutMs = 60_000, onStep } = options;
  const api = createApi({ url: options.url, headers: options.headers });
  try {
    const { viewer } = await api.request(ViewerDocument, {});
    onStep?.('viewer', `tenant ${viewer.tenantId} via ${viewer.authenticatedBy}`);

    const { providers } = await api.request(ProvidersDocument, {});
    const provider = providers.find((p) => p.name === name);
    if (!provider) throw new Error(`no provider ${name}; the catalog has ${providers.map((p) => p.name).join(', ')}`);
    if (provider.isConfigured)
      throw new Error(`${name} is already configured for tenant ${viewer.tenantId}: delete that integration first`);
    const missing = provider.credentialSchema.filter((f) => f.required && credentials[f.key] === undefined).map((f) => f.key);
    if (missing.length) throw new Error(`credentials for ${name} lack ${missing.join(', ')}`);
    onStep?.('providers', `${providers.length} providers; ${name} takes ${provider.credentialSchema.map((f) => f.key).join(', ')}`);

    const configured = await api.request(ConfigureIntegrationDocument, { input: { provider: name, credentials } });
    const { integration: pending } = expectPayload(configured.configureIntegration, 'ConfigureIntegrationPayload');
    onStep?.('configured', `${pending.id} ${pending.status}`);

    const statusChanges: IntegrationSummaryFragment[] = [];
    const active = await waitUntilActive(api, pending.id, timeoutMs, statusChanges, onStep);
    onStep?.('active', `${active.id} verified at ${active.verifiedAt}`);

    const created = await api.request(CreateWebhookDocument, {
      input: { name: 'typed client example', url: receiverUrl, eventTypes: ['integration.*'] },
    });
    const { webhook, signingSecret } = expectPayload(created.createWebhook, 'CreateWebhookPayload');
    onStep?.('webhook-created', `${webhook.id} → ${webhook.url}`);

    const delivery = await triggerAndWatchDelivery(api, webhook.id, active.id, timeoutMs, onStep);
    onStep?.('delivered', `${delivery.event.type} as ${delivery.id} after ${delivery.attemptCount} attempt(s)`);

    return {
      tenantId: viewer.tenantId,
      providers: providers.map((p) => p.name),
      integration: active,
      statusChanges,
      webhook,
      signingSecret,
      delivery,
    };
  } finally {
    api.close();
  }
}

/** The CLI: configuration from the environment, progress to stdout, the outcome as JSON. */
async function main() {
  const env = process.env;
  const headers: Record<string, string> = env.ICP_API_KEY
    ? { 'x-api-key': env.ICP_API_KEY }
    : { authorization: `Bearer ${env.ICP_TOKEN ?? ''}` };
  if (!env.ICP_TOKEN && !env.ICP_API_KEY) throw new Error('set ICP_TOKEN (npm run token -- --tenant <id>) or ICP_API_KEY');
  if (!env.ICP_CREDENTIALS || !env.ICP_RECEIVER_URL) throw new Error('set ICP_CREDENTIALS (a JSON object) and ICP_RECEIVER_URL');
  const result = await runMainFlow({
    url: env.ICP_URL ?? 'http://127.0.0.1:4000/graphql',
    headers,
    provider: env.ICP_PROVIDER ?? 'stripe',
    credentials: JSON.parse(env.ICP_CREDENTIALS) as Record<string, unknown>,
    receiverUrl: env.ICP_RECEIVER_URL,
    onStep: (step, detail) => console.log(`${step}: ${detail}`),
  });
  console.log(JSON.stringify({ integration: result.integration, webhook: result.webhook, delivery: result.delivery }, null, 2));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
