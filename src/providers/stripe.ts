/**
 * Stripe. Keys decide test or live mode (one origin). Check: `GET /v1/balance` with the secret
 * (or restricted) key as a Bearer token, the cheapest authenticated read of the API.
 *
 * Inbound (docs.stripe.com/webhooks#verify-manually; stripe-node Webhooks.js): `Stripe-Signature:
 * t=<unix>,v1=<hex>[,v1=<hex>…]`, each v1 a hex HMAC-SHA256 of `${t}.${rawBody}` keyed with the
 * `whsec_…` string as-is. Any v1 may match (Stripe sends one per active secret while one rolls);
 * v0 and unknown schemes are ignored. `t` must be within 300 s of our clock. The body is the
 * event, whose own `id` dedupes Stripe's retries.
 */
import { check } from './http.ts';
import { header, parseJsonObject, textAt } from './inbound/body.ts';
import { hmac, matchesAny } from './inbound/crypto.ts';
import { accepted, badRequest, missingSecret, secretOf, unauthorized } from './inbound/results.ts';
import { isFresh, TIMESTAMP_TOLERANCE_SECONDS } from './inbound/timestamp.ts';
import type { InboundVerifier, ProviderDefinition } from './types.ts';

/** `t=…,v1=…,v1=…` → the first `t` and every `v1`. */
function parseSignatureHeader(value: string): { timestamp?: string; signatures: string[] } {
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const item of value.split(',')) {
    const at = item.indexOf('=');
    const key = item.slice(0, at).trim();
    const val = item.slice(at + 1).trim();
    if (at < 0 || !val) continue;
    if (key === 't') timestamp ??= val;
    if (key === 'v1') signatures.push(val);
  }
  return { timestamp, signatures };
}

export const stripeInbound: InboundVerifier = {
  verify(req, credentials, now) {
    const secret = secretOf(credentials, 'webhook_secret');
    if (!secret) return missingSecret('webhook_secret');
    const signatureHeader = header(req, 'stripe-signature');
    if (!signatureHeader) return unauthorized('missing Stripe-Signature header');
    const { timestamp, signatures } = parseSignatureHeader(signatureHeader);
    if (!timestamp || signatures.length === 0) return unauthorized('Stripe-Signature has no t= or no v1= signature');
    const expected = hmac('sha256', secret, `${timestamp}.`, req.rawBody).toString('hex');
    if (!matchesAny(expected, signatures)) return unauthorized('no Stripe-Signature v1 matches the webhook_secret');
    if (!isFresh(timestamp, now)) {
      return unauthorized(`Stripe-Signature timestamp is more than ${TIMESTAMP_TOLERANCE_SECONDS} s from now`);
    }
    const body = parseJsonObject(req);
    if (!body.ok) return body;
    const id = textAt(body.value, 'id');
    const type = textAt(body.value, 'type');
    if (!id || !type) return badRequest('Stripe event has no id or type');
    return accepted([{ id, type, payload: body.value }]);
  },
};

export const stripe: ProviderDefinition = {
  name: 'stripe',
  displayName: 'Stripe',
  category: 'PAYMENT',
  capabilities: ['initiate_payment', 'process_refund', 'verify_payment'],
  credentialSchema: [
    {
      key: 'publishable_key',
      label: 'Publishable key',
      type: 'STRING',
      sensitive: false,
      required: true,
      pattern: /^pk_(test|live)_[A-Za-z0-9]+$/,
      patternHint: 'starts with pk_test_ or pk_live_',
      description: 'Used by browsers and mobile apps to tokenize payment details.',
    },
    {
      key: 'secret_key',
      label: 'Secret key',
      type: 'STRING',
      sensitive: true,
      required: true,
      pattern: /^(sk|rk)_(test|live)_[A-Za-z0-9]+$/,
      patternHint: 'starts with sk_test_, sk_live_, rk_test_ or rk_live_',
      description: 'Secret or restricted API key; authenticates server-side calls.',
    },
    {
      key: 'webhook_secret',
      label: 'Webhook signing secret',
      type: 'STRING',
      sensitive: true,
      required: false,
      pattern: /^whsec_[A-Za-z0-9+/=_-]+$/,
      patternHint: 'starts with whsec_',
      description: "The endpoint's signing secret; verifies the Stripe-Signature of inbound events.",
    },
  ],
  verify: (credentials, ctx) =>
    check('Stripe', ctx, {
      url: `${ctx.origin('https://api.stripe.com')}/v1/balance`,
      headers: { authorization: `Bearer ${credentials.secret_key}` },
    }),
  inbound: stripeInbound,
};
