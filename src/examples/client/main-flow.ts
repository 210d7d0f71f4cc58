/**
 * The main flow as a typed client runs it: list providers, configure one that sends SMS (Twilio,
 * say), wait over SSE until it is ACTIVE, create a webhook to a receiver, route send_sms to the
 * integration, send an SMS and see its `operation.succeeded` event delivered, signed, then read
 * the operation back (attempts, deliveryStatus). Operations are generated TypedDocumentNodes
 * (./gql/), so a schema change that breaks the flow breaks `npm run typecheck`;
 * codegen-client.test.ts runs it. To run it against a server of your own (ICP_URL, ICP_TOKEN…):
 * docs/using-the-api.md ("Typed client (codegen)").
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Api, createApi, expectPayload } from './api.ts';
import {
  ConfigureIntegrationDocument,
  CreateRoutingRuleDocument,
  CreateWebhookDocument,
  type DeliverySummaryFragment,
  IntegrationStatusChangedDocument,
  IntegrationStatusDocument,
  type IntegrationSummaryFragment,
  OperationDocument,
  type OperationQuery,
  type OperationSummaryFragment,
  ProvidersDocument,
  SendSmsDocument,
  ViewerDocument,
  WebhookDeliveryUpdatedDocument,
  type WebhookSummaryFragment,
} from './gql/graphql.ts';

/** The event the flow waits for at the webhook: the SMS was sent. */
export const TRIGGERED_EVENT = 'operation.succeeded';
/** The capability the flow routes and runs. */
export const CAPABILITY = 'send_sms';
/** How long sendSms may hold its answer until the operation ends (the API allows up to 30). */
const WAIT_SECONDS = 10;

export type Step =
  | 'viewer'
  | 'providers'
  | 'configured'
  | 'watching-status'
  | 'active'
  | 'webhook-created'
  | 'routed'
  | 'watching-deliveries'
  | 'sent'
  | 'delivered'
  | 'read';

export interface MainFlowOptions {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  /** The credential's headers: `authorization: Bearer <JWT>` or `x-api-key`. */
  headers: Record<string, string>;
  /** The provider to configure, one that serves send_sms: "twilio" or "plivo". */
  provider: string;
  /** Values for the provider's credentialSchema. */
  credentials: Record<string, unknown>;
  /** Where the webhook sends events. */
  receiverUrl: string;
  /** The SMS to send: the recipient in E.164 and the text. */
  sms: { to: string; body: string };
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
  /** The id of the rule that routes send_sms to the integration. */
  routingRuleId: string;
  /** The idempotency key the SMS was sent with: sending again with it sends nothing twice. */
  idempotencyKey: string;
  /** The operation as sendSms answered it (ended, unless it took longer than waitSeconds). */
  sent: OperationSummaryFragment;
  /** The delivery of the operation's event, SUCCEEDED; its id is the webhook-id header. */
  delivery: DeliverySummaryFragment;
  /** The operation read back at the end, with its result. */
  operation: NonNullable<OperationQuery['operation']>;
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
      // arrives on the stream. The step is reported once both are done.
      start: async () => {
        const { integration } = await api.request(IntegrationStatusDocument, { id });
        onStep?.('watching-status', id);
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

/**
 * Sends the SMS once the webhook's delivery stream is open, and waits until the operation's end
 * reaches the webhook: `operation.succeeded` delivered, or an error saying why it failed. Events
 * are matched by the idempotency key their payload carries, known before the send: the delivery
 * may arrive before sendSms answers.
 */
async function sendAndWatchDelivery(
  api: Api,
  webhookId: string,
  sms: MainFlowOptions['sms'],
  idempotencyKey: string,
  timeoutMs: number,
  onStep: MainFlowOptions['onStep'],
) {
  const send = async () => {
    const result = await api.request(SendSmsDocument, { input: { ...sms, idempotencyKey, waitSeconds: WAIT_SECONDS } });
    const { operation } = expectPayload(result.sendSms, 'SendSmsPayload');
    onStep?.('sent', `${operation.id} ${operation.status}${operation.providerReference ? ` as ${operation.providerReference}` : ''}`);
    return operation;
  };
  let sending: Promise<OperationSummaryFragment> | undefined;
  const data = await api.watch(
    WebhookDeliveryUpdatedDocument,
    { webhookId },
    {
      start: async () => {
        onStep?.('watching-deliveries', webhookId);
        sending = send();
        await sending;
        return undefined;
      },
      until: ({ webhookDeliveryUpdated: delivery }) => {
        const { type, payload } = delivery.event;
        if (payload.idempotencyKey !== idempotencyKey) return false;
        if (type === 'operation.failed') throw new Error(`the SMS failed: ${JSON.stringify(payload.error)}`);
        if (type !== TRIGGERED_EVENT) return false;
        if (delivery.status === 'FAILED') throw new Error(`delivery ${delivery.id} failed: ${JSON.stringify(delivery.attempts)}`);
        return delivery.status === 'SUCCEEDED';
      },
      timeoutMs,
    },
  );
  // start ran before any delivery could exist: the send it began is what caused this one
  return { sent: await sending!, delivery: data.webhookDeliveryUpdated };
}

export async function runMainFlow(options: MainFlowOptions): Promise<MainFlowResult> {
  const { provider: name, credentials, receiverUrl, sms, timeoutMs = 60_000, onStep } = options;
  const api = createApi({ url: options.url, headers: options.headers });
  try {
    const { viewer } = await api.request(ViewerDocument, {});
    onStep?.('viewer', `tenant ${viewer.tenantId} via ${viewer.authenticatedBy}`);

    const { providers } = await api.request(ProvidersDocument, {});
    const provider = providers.find((p) => p.name === name);
    if (!provider) throw new Error(`no provider ${name}; the catalog has ${providers.map((p) => p.name).join(', ')}`);
    if (!provider.capabilities.includes(CAPABILITY)) throw new Error(`${name} does not serve ${CAPABILITY}`);
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
      input: { name: 'typed client example', url: receiverUrl, eventTypes: ['operation.*'] },
    });
    const { webhook, signingSecret } = expectPayload(created.createWebhook, 'CreateWebhookPayload');
    onStep?.('webhook-created', `${webhook.id} → ${webhook.url}`);

    const routed = await api.request(CreateRoutingRuleDocument, { input: { capability: CAPABILITY, integrationId: active.id } });
    const { routingRule } = expectPayload(routed.createRoutingRule, 'CreateRoutingRulePayload');
    onStep?.('routed', `${CAPABILITY} → ${routingRule.integration.id} (rule ${routingRule.id})`);

    // One key per message the caller means to send: a retry of this request after a lost answer
    // returns the same operation instead of sending a second SMS.
    const idempotencyKey = randomUUID();
    const { sent, delivery } = await sendAndWatchDelivery(api, webhook.id, sms, idempotencyKey, timeoutMs, onStep);
    onStep?.('delivered', `${delivery.event.type} as ${delivery.id} after ${delivery.attemptCount} attempt(s)`);

    const { operation } = await api.request(OperationDocument, { id: sent.id });
    if (!operation) throw new Error(`operation ${sent.id} is not readable`);
    onStep?.(
      'read',
      `${operation.status} after ${operation.attemptCount} provider call(s); deliveryStatus ${operation.deliveryStatus ?? 'not reported yet'}`,
    );

    return {
      tenantId: viewer.tenantId,
      providers: providers.map((p) => p.name),
      integration: active,
      statusChanges,
      webhook,
      signingSecret,
      routingRuleId: routingRule.id,
      idempotencyKey,
      sent,
      delivery,
      operation,
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
  if (!env.ICP_CREDENTIALS || !env.ICP_RECEIVER_URL || !env.ICP_TO) {
    throw new Error('set ICP_CREDENTIALS (a JSON object), ICP_RECEIVER_URL and ICP_TO (the recipient, e.g. +14155550123)');
  }
  const result = await runMainFlow({
    url: env.ICP_URL ?? 'http://127.0.0.1:4000/graphql',
    headers,
    provider: env.ICP_PROVIDER ?? 'twilio',
    credentials: JSON.parse(env.ICP_CREDENTIALS) as Record<string, unknown>,
    receiverUrl: env.ICP_RECEIVER_URL,
    sms: { to: env.ICP_TO, body: env.ICP_BODY ?? 'Hello from the typed client example' },
    onStep: (step, detail) => console.log(`${step}: ${detail}`),
  });
  console.log(JSON.stringify({ integration: result.integration, operation: result.operation, delivery: result.delivery }, null, 2));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
