/**
 * GraphiQL (GET /graphql in a browser): the document it opens with when the browser has no saved
 * tabs (the main flow as named operations; test/integration/schema.test.ts validates it against the schema),
 * its starting headers, and the settings Yoga serves it with. In development (embedded database on
 * loopback, see developmentTokenRefusal) it opens with a development token; docs/clients.md ("GraphiQL").
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { GraphiQLOptions, GraphiQLOptionsOrFactory, Plugin } from 'graphql-yoga';
import { SignJWT } from 'jose';
import type { Config } from '../config.ts';
import { CSRF_HEADER } from '../graphql-hardening/csrf.ts';
import { GRAPHIQL_TRUSTED_ONLY_NOTE } from '../graphql-hardening/persisted-operations.ts';
import { isLocalClient, isLoopbackHost } from '../http/client-address.ts';

export const GRAPHIQL_DEFAULT_QUERY = /* GraphQL */ `# Integrations control plane: the main flow, one operation at a time.
# Connect Twilio, route send_sms to it, send an SMS, and follow it until delivered.
#
# Every operation needs credentials. Get a development token with
#   npm run token -- --tenant acme
# and paste it into the Authorization header in the Headers tab below.
# Then run the operations in order: put the cursor in one and press Ctrl/Cmd+Enter
# (or pick it from the run button's menu).

# 1. What can be connected: the messaging providers, with the credentials each one takes
#    (sensitive ones are encrypted at rest and never read back).
query Providers {
  providers(category: COMMUNICATION) {
    name
    displayName
    capabilities
    isConfigured
    credentialSchema {
      key
      label
      type
      sensitive
      required
      description
    }
  }
}

# 2. Connect Twilio. The placeholders have Twilio's formats, so the integration is created
#    (PENDING_VERIFY) and checked in the background against Twilio's API, which refuses them:
#    step 3 then shows ERROR and why. Put your account's values here to see ACTIVE.
#    Running it twice answers CONFLICT: one integration per provider (deleteIntegration frees it).
mutation ConfigureTwilio {
  configureIntegration(
    input: {
      provider: "twilio"
      credentials: {
        account_sid: "AC00000000000000000000000000000000"
        auth_token: "00000000000000000000000000000000"
        from_number: "+15005550006"
      }
    }
  ) {
    __typename
    ... on ConfigureIntegrationPayload {
      integration {
        id
        status
        credentials
        inboundWebhookUrl
      }
    }
    ... on ValidationError {
      fieldErrors {
        path
        message
      }
    }
    ... on Error {
      code
      message
    }
  }
}

# 3. Where it stands: PENDING_VERIFY until the check ends, then ACTIVE, or ERROR with lastError.
query TwilioStatus {
  provider(name: "twilio") {
    integration {
      id
      status
      lastError
      verifiedAt
      enabledCapabilities
      credentialFields {
        key
        sensitive
        isSet
        value
      }
    }
  }
}

# Instead of polling, subscribe (Server-Sent Events; send Accept: text/event-stream):
#   subscription { integrationStatusChanged { id status lastError } }

# 4. Receive the tenant's events at your own endpoint (put its URL here), signed with Standard
#    Webhooks: here the integration's and the operations' (operation.succeeded, …). The URL must
#    be public (private addresses are refused); signingSecret is shown only here.
mutation CreateWebhook {
  createWebhook(
    input: { name: "ops", url: "https://example.com/hooks", eventTypes: ["integration.*", "operation.*"] }
  ) {
    __typename
    ... on CreateWebhookPayload {
      signingSecret
      webhook {
        id
        status
        eventTypes
        secretFingerprint
      }
    }
    ... on ValidationError {
      fieldErrors {
        path
        message
      }
    }
    ... on Error {
      code
      message
    }
  }
}

# 5. Route send_sms to the Twilio integration: paste its id from step 2 or 3. A rule may name a
#    fallback integration (fallbackIntegrationId, e.g. Plivo's) that is tried when Twilio fails.
mutation RouteSms {
  createRoutingRule(input: { capability: "send_sms", integrationId: "<paste the Twilio integration id>" }) {
    __typename
    ... on CreateRoutingRulePayload {
      routingRule {
        id
        capability
        integration {
          id
          status
        }
      }
    }
    ... on Error {
      code
      message
    }
  }
}

# 6. Send an SMS. The service picks the integration by the rules, calls Twilio with the stored
#    credentials and records every attempt; waitSeconds holds the answer until it ends (at most
#    30 s). No ACTIVE integration routed: NoActiveProviderError, and nothing is stored. The same
#    idempotencyKey with the same input returns the same operation, sending nothing again.
mutation SendSms {
  sendSms(input: { to: "+14155550123", body: "Hello from the control plane", waitSeconds: 10 }) {
    __typename
    ... on SendSmsPayload {
      operation {
        id
        status
        providerReference
        error {
          code
          message
        }
      }
    }
    ... on ValidationError {
      fieldErrors {
        path
        message
      }
    }
    ... on Error {
      code
      message
    }
  }
}

# 7. The latest SMS: who served it, each provider call, and deliveryStatus, which Twilio's status
#    callbacks to the integration's inboundWebhookUrl move on (queued, sent, delivered…).
#    To follow it live instead (SSE):
#      subscription { operationUpdated(id: "<its id>") { status deliveryStatus deliveryUpdatedAt } }
query LatestSms {
  operations(first: 1, capability: "send_sms") {
    edges {
      node {
        id
        status
        usedFallback
        providerReference
        deliveryStatus
        deliveryUpdatedAt
        integration {
          provider {
            name
          }
        }
        attempts {
          attemptNumber
          outcome
          httpStatus
          durationMs
          error
        }
        error {
          code
          message
        }
      }
    }
  }
}

# 8. Payments run the same way: connect Stripe as in step 2 (provider "stripe", credentials
#    secret_key and publishable_key), route "initiate_payment" to it as in step 5, then take one.
#    Stripe gets the operation's id as Idempotency-Key, so a retry never charges twice; give
#    result.clientSecret to the paying customer's browser (Stripe.js). processRefund and
#    verifyPayment take its providerReference and go to the same Stripe integration.
mutation TakePayment {
  initiatePayment(input: { amount: 1999, currency: "usd", description: "Order 1042", waitSeconds: 10 }) {
    __typename
    ... on InitiatePaymentPayload {
      operation {
        id
        status
        providerReference
        result
        error {
          code
          message
        }
      }
    }
    ... on Error {
      code
      message
    }
  }
}

# 9. So do signatures: connect DocuSign, Acrobat Sign, Clicksign, D4Sign or Certisign, route
#    "request_signature" (and "track_signature") to it, then send a document (base64, up to 7 MiB).
#    Its status comes back through the provider's callbacks as deliveryStatus (sent, completed,
#    declined…), or ask now: trackSignature(input: { signatureReference: "<its providerReference>" }).
mutation RequestSignature {
  requestSignature(
    input: {
      documentName: "contract.pdf"
      documentBase64: "JVBERi0xLjQKJcfsj6IKJSVFT0YK"
      signers: [{ name: "Ana Lima", email: "ana@example.com" }]
      message: "Please sign by Friday"
      waitSeconds: 20
    }
  ) {
    __typename
    ... on RequestSignaturePayload {
      operation {
        id
        status
        providerReference
        result
        integration {
          provider {
            name
          }
        }
      }
    }
    ... on Error {
      code
      message
    }
  }
}

# 10. What happened, newest first: what the webhook receives. Page on with after: <endCursor>.
query Events {
  events(first: 10) {
    totalCount
    edges {
      node {
        id
        type
        occurredAt
        payload
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
`;

/** The headers editor's starting content: where the bearer token comes from. */
export const GRAPHIQL_HEADERS = JSON.stringify({ Authorization: 'Bearer <paste the output of: npm run token -- --tenant acme>' }, null, 2);

/**
 * The development token GraphiQL opens with: the tenant `npm run token -- --tenant acme` and the
 * README use, every scope but admin (API keys, audit log), for 12 hours (a reload mints a new one).
 */
export const DEVELOPMENT_TOKEN = {
  tenant: 'acme',
  sub: 'graphiql',
  scope: 'integrations:write webhooks:write operations:write',
  ttlSeconds: 12 * 60 * 60,
} as const;

const PASTE_TOKEN_NOTE = `# Every operation needs credentials. Get a development token with
#   npm run token -- --tenant acme
# and paste it into the Authorization header in the Headers tab below.`;
const SIGNED_IN_NOTE = `# GraphiQL opened signed in: the Headers tab below holds a development token of tenant
# "${DEVELOPMENT_TOKEN.tenant}" (every scope but admin, valid 12 h; reload the page for a new one).`;

/**
 * Why this setup must not hand out a development token, or undefined when it may: only the
 * embedded database (no DATABASE_URL) bound to loopback, verifying with the local HS256 secret
 * (no AUTH_JWKS_URL), with no proxy in front (TRUST_PROXY_HOPS 0, PUBLIC_URL unset or loopback).
 */
export function developmentTokenRefusal(config: Config): string | undefined {
  if (config.databaseUrl) return 'DATABASE_URL is set';
  if (!isLoopbackHost(config.host)) return 'HOST is not a loopback address';
  if (config.auth.jwksUrl) return 'AUTH_JWKS_URL is set';
  if (config.trustProxyHops > 0) return 'TRUST_PROXY_HOPS is set';
  if (config.publicUrl && !isLoopbackHost(new URL(config.publicUrl).hostname)) return 'PUBLIC_URL is not a loopback origin';
  if (config.trustedDocuments?.only) return 'only trusted documents run';
  return undefined;
}

const loopbackName = (value: string | undefined, parse: (v: string) => string) => {
  try {
    return value !== undefined && isLoopbackHost(parse(value));
  } catch {
    return false;
  }
};

/**
 * Whether this page request may receive the token: a browser opening the page itself from this
 * machine. Not through a proxy (peer and forwarding headers), not under another name (a DNS
 * rebinding page has its own Host), not read by another site's script (Yoga's CORS reflects any
 * Origin, so a fetch or frame is refused; a navigation sends no Origin).
 */
function mayReceiveToken(request: Request, req: IncomingMessage | undefined): boolean {
  const header = (name: string) => request.headers.get(name) ?? undefined;
  const origin = header('origin');
  return (
    req !== undefined &&
    isLocalClient(req) &&
    loopbackName(header('host'), (host) => new URL(`http://${host}`).hostname) &&
    (origin === undefined || loopbackName(origin, (o) => new URL(o).hostname)) &&
    [undefined, 'navigate'].includes(header('sec-fetch-mode')) &&
    [undefined, 'document'].includes(header('sec-fetch-dest'))
  );
}

async function mintDevelopmentToken(secret: string): Promise<string> {
  return new SignJWT({ tenant_id: DEVELOPMENT_TOKEN.tenant, scope: DEVELOPMENT_TOKEN.scope })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(DEVELOPMENT_TOKEN.sub)
    .setIssuedAt()
    .setExpirationTime(`${DEVELOPMENT_TOKEN.ttlSeconds}s`)
    .sign(new TextEncoder().encode(secret));
}

/**
 * GraphiQL's page is never stored by a browser or a proxy: in development it carries a token
 * (below), and it is cheap to render again.
 */
export function graphiqlNeverStored(): Plugin {
  return {
    onResponse({ response }) {
      if (response.headers.get('content-type')?.startsWith('text/html')) response.headers.set('cache-control', 'no-store');
    },
  };
}

/** What GraphiQL opens with on this server: the same page for everyone, but in development. */
export function graphiqlOptions(config: Config): GraphiQLOptionsOrFactory<{ req: IncomingMessage }> {
  const options: GraphiQLOptions = {
    title: 'Integrations control plane',
    // only trusted documents run: GraphiQL can send none, and says so
    defaultQuery: config.trustedDocuments?.only ? GRAPHIQL_TRUSTED_ONLY_NOTE : GRAPHIQL_DEFAULT_QUERY,
    // Yoga makes these GraphiQL's default headers: every tab starts with the placeholder.
    headers: GRAPHIQL_HEADERS,
    // Yoga's default is true; a bearer token is not kept in the browser's storage.
    shouldPersistHeaders: false,
    // sent with every request GraphiQL makes, whatever the Headers tab holds, so a GET
    // (GraphiQL's SSE subscriptions can use one) passes the CSRF check too
    additionalHeaders: { [CSRF_HEADER]: '1' },
  };
  if (developmentTokenRefusal(config)) return options;
  // the secret the server verifies with: AUTH_JWT_SECRET, or the one the embedded default
  // generated in DATA_DIR before GraphQL was set up (src/app.ts)
  let secret: Promise<string> | undefined;
  return async (request, serverContext) => {
    if (!mayReceiveToken(request, serverContext?.req)) return options;
    secret ??= config.auth.jwtSecret
      ? Promise.resolve(config.auth.jwtSecret)
      : readFile(path.join(config.dataDir, 'jwt-secret'), 'utf8').then((text) => text.trim());
    let token: string;
    try {
      token = await mintDevelopmentToken(await secret);
    } catch {
      secret = undefined; // unreadable for now: the page as everywhere else, and try again next time
      return options;
    }
    return {
      ...options,
      defaultQuery: GRAPHIQL_DEFAULT_QUERY.replace(PASTE_TOKEN_NOTE, SIGNED_IN_NOTE),
      headers: JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2),
    };
  };
}
