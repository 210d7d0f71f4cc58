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
import { check, form, json, textOf } from './http.ts';
import { header, parseJsonObject, textAt } from './inbound/body.ts';
import { hmac, matchesAny } from './inbound/crypto.ts';
import { accepted, badRequest, missingSecret, secretOf, unauthorized } from './inbound/results.ts';
import { isFresh, TIMESTAMP_TOLERANCE_SECONDS } from './inbound/timestamp.ts';
import type {
  Credentials,
  DeliveryUpdate,
  InboundEvent,
  InboundVerifier,
  OperationAdapter,
  OperationCallContext,
  ProviderAnswer,
  ProviderCall,
  ProviderDefinition,
} from './types.ts';
import { NO_WHITESPACE } from './types.ts';

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

/**
 * Operations (docs.stripe.com/api: payment_intents/create, refunds/create, payment_intents/retrieve;
 * /idempotency; /api/errors). Assumptions:
 * - Bodies are form-encoded with bracketed keys (`metadata[operation_id]`); answers are JSON objects
 *   with `object`, `id` and `status`. No `Stripe-Version` is sent: the account's default version
 *   answers, and the fields read here (id, status, client_secret, amount, currency) are in all.
 * - `automatic_payment_methods[enabled]=true` is sent although versions since 2023-08-16 default to
 *   it, so that on older account versions too the intent can be confirmed by the Payment Element
 *   with the `client_secret` and the payment methods enabled in the Dashboard.
 * - POSTs carry `Idempotency-Key: <operation id>`: Stripe saves the first answer to a key (for at
 *   least 24 h, per account) and replays it to a retry with the same parameters, so a walk run again
 *   after a crash gets the same PaymentIntent or Refund; the bodies are built from the stored input
 *   alone, so a retry's parameters are always the same. A 500 is saved too: a walk retried after one
 *   gets it again (PROVIDER_UNAVAILABLE in the end) rather than risk a second object. GETs take no key.
 * - Errors are `{ error: { type, code, message } }`: card_error (402) and invalid_request_error
 *   (400, 404 resource_missing) reject the input; call.ts reads `error.message`.
 * - Events (`payment_intent.*`, `refund.*`, `charge.refund.updated`) carry the object in
 *   `data.object`; its `status` becomes the operation's deliveryStatus, matched by our
 *   `metadata.operation_id` when Stripe echoes it, else by the object's id. `charge.refunded`
 *   carries the Charge, not the Refund: it matches nothing.
 */
const STRIPE_ORIGIN = 'https://api.stripe.com';

/**
 * Stripe's key kinds (pk_, sk_/rk_, whsec_) are told apart to refuse one pasted in another's
 * field; a value of no known kind (an example payload's placeholder) is left to verification.
 */
const WEBHOOK_SECRET = /^whsec_/;

/** Stripe ids: a lowercase prefix, `_`, letters and digits (pi_3MtwBw…, re_1Nisp…). */
const STRIPE_ID = /^[a-z]+_[A-Za-z0-9]+$/;

function stripeHeaders(credentials: Credentials): Record<string, string> {
  return { authorization: `Bearer ${credentials.secret_key}` };
}

/** A POST that creates something, keyed by the operation so it is made at most once. */
function stripePost(path: string, fields: Record<string, string>, credentials: Credentials, ctx: OperationCallContext): ProviderCall {
  return {
    method: 'POST',
    url: `${ctx.origin(STRIPE_ORIGIN)}${path}`,
    headers: { ...stripeHeaders(credentials), ...form.headers, 'idempotency-key': ctx.operationId },
    body: form.encode(fields),
  };
}

/**
 * The path segment of a reference. One not shaped like a Stripe id names nothing Stripe made: it
 * is sent encoded so that Stripe answers 404 for it (the input check allows letters, digits, `_`
 * and `-` only, so no `.` or `..` reaches here to be resolved into another path).
 */
function stripeIdSegment(reference: string): string {
  return STRIPE_ID.test(reference) ? reference : encodeURIComponent(reference);
}

/** The answer as the Stripe object `kind`, with its id; throws when it is not one. */
function stripeObject(answer: ProviderAnswer, kind: string): { body: Record<string, unknown>; id: string } {
  const body = json.object(answer.body);
  const id = textOf(body.id);
  if (body.object !== kind || !id) throw new Error(`Stripe answered without a ${kind} object`);
  return { body, id };
}

/** `POST /v1/payment_intents`: amount (minor unit), currency, the optional description and receipt email. */
export const stripeInitiatePayment: OperationAdapter = {
  request(input, credentials, ctx) {
    const fields: Record<string, string> = {
      amount: String(input.amount),
      currency: String(input.currency),
      'automatic_payment_methods[enabled]': 'true',
      'metadata[operation_id]': ctx.operationId,
    };
    if (typeof input.description === 'string') fields.description = input.description;
    if (typeof input.customerEmail === 'string') fields.receipt_email = input.customerEmail;
    return stripePost('/v1/payment_intents', fields, credentials, ctx);
  },
  parse(answer) {
    const { body, id } = stripeObject(answer, 'payment_intent');
    const clientSecret = textOf(body.client_secret);
    if (!clientSecret) throw new Error('Stripe answered a PaymentIntent without a client_secret');
    return { providerReference: id, result: { paymentIntentId: id, status: textOf(body.status) ?? null, clientSecret } };
  },
};

/** `POST /v1/refunds`: the whole PaymentIntent, or `amount` of it. */
export const stripeProcessRefund: OperationAdapter = {
  request(input, credentials, ctx) {
    const fields: Record<string, string> = { payment_intent: String(input.paymentReference), 'metadata[operation_id]': ctx.operationId };
    if (typeof input.amount === 'number') fields.amount = String(input.amount);
    return stripePost('/v1/refunds', fields, credentials, ctx);
  },
  parse(answer) {
    const { body, id } = stripeObject(answer, 'refund');
    return { providerReference: id, result: { refundId: id, status: textOf(body.status) ?? null } };
  },
};

/** `GET /v1/payment_intents/{id}`: its status, amount and currency as Stripe has them now. */
export const stripeVerifyPayment: OperationAdapter = {
  request(input, credentials, ctx) {
    return {
      method: 'GET',
      url: `${ctx.origin(STRIPE_ORIGIN)}/v1/payment_intents/${stripeIdSegment(String(input.paymentReference))}`,
      headers: stripeHeaders(credentials),
    };
  },
  parse(answer, { input }) {
    const { body, id } = stripeObject(answer, 'payment_intent');
    if (id !== input.paymentReference) throw new Error('Stripe answered with another PaymentIntent than the one asked for');
    return {
      providerReference: id,
      result: { status: textOf(body.status) ?? null, amount: body.amount ?? null, currency: textOf(body.currency) ?? null },
    };
  },
};

/** A PaymentIntent or Refund event: the object's status, for the operation that made or read it. */
export function stripeDeliveryUpdate(event: InboundEvent): DeliveryUpdate | null {
  const object = json.object(json.object(event.payload.data).object);
  const kind = event.type.startsWith('payment_intent.')
    ? 'payment_intent'
    : /^(refund|charge\.refund)\./.test(event.type)
      ? 'refund'
      : null;
  const id = textOf(object.id);
  // a failed attempt leaves the intent at requires_payment_method, a status of an earlier stage
  // than processing (src/operations/tracking.ts): the event says what happened
  const status = event.type === 'payment_intent.payment_failed' ? 'payment_failed' : textOf(object.status);
  if (!kind || object.object !== kind || !id || !status) return null;
  return { providerReference: id, operationId: textOf(json.object(object.metadata).operation_id), status };
}

export const stripe: ProviderDefinition = {
  name: 'stripe',
  displayName: 'Stripe',
  description: 'Online payments: payment intents, refunds and their status, with signed webhook events.',
  docsUrl: 'https://docs.stripe.com/keys',
  badge: { monogram: 'S', color: '#635BFF' },
  category: 'PAYMENT',
  capabilities: ['initiate_payment', 'process_refund', 'verify_payment'],
  credentialSchema: [
    {
      key: 'publishable_key',
      label: 'Publishable key',
      type: 'STRING',
      sensitive: false,
      required: true,
      // neither the balance check nor the operations send it: it is for the tenant's browsers
      authenticates: false,
      mistakes: [
        NO_WHITESPACE,
        {
          // it would be stored in clear and returned: refused before anything is stored
          pattern: /^(sk|rk)_/,
          hint: 'this is a secret or restricted key (sk_…, rk_…); it goes in secret_key, never here, where it would be shown',
        },
        {
          pattern: WEBHOOK_SECRET,
          hint: 'this is a webhook signing secret (whsec_…); it goes in webhook_secret, never here, where it would be shown',
        },
      ],
      // every publishable key is pk_test_… or pk_live_…, and a wrong value here is shown to everyone
      pattern: /^pk_(test|live)_/,
      patternHint: 'starts with pk_test_ or pk_live_, e.g. pk_test_51Habc',
      description: 'Used by browsers and mobile apps to tokenize payment details.',
    },
    {
      key: 'secret_key',
      label: 'Secret key',
      type: 'STRING',
      sensitive: true,
      required: true,
      mistakes: [
        NO_WHITESPACE,
        { pattern: /^pk_/, hint: 'this is a publishable key (pk_…); it goes in publishable_key, and a secret key looks like sk_… or rk_…' },
        {
          pattern: WEBHOOK_SECRET,
          hint: 'this is a webhook signing secret (whsec_…); it goes in webhook_secret, and a secret key looks like sk_… or rk_…',
        },
      ],
      description: 'Secret or restricted API key; authenticates server-side calls.',
    },
    {
      key: 'webhook_secret',
      label: 'Webhook signing secret',
      type: 'STRING',
      sensitive: true,
      required: false,
      // checks Stripe's callbacks to us, not our calls to Stripe
      authenticates: false,
      mistakes: [
        NO_WHITESPACE,
        { pattern: /^(pk|sk|rk)_/, hint: "this is an API key (pk_…, sk_…, rk_…), not the endpoint's signing secret (whsec_…)" },
      ],
      description: "The endpoint's signing secret; verifies the Stripe-Signature of inbound events.",
    },
  ],
  verify: (credentials, ctx) =>
    check('Stripe', ctx, {
      url: `${ctx.origin(STRIPE_ORIGIN)}/v1/balance`,
      headers: stripeHeaders(credentials),
    }),
  inbound: stripeInbound,
  operations: { initiate_payment: stripeInitiatePayment, process_refund: stripeProcessRefund, verify_payment: stripeVerifyPayment },
  deliveryUpdate: stripeDeliveryUpdate,
};
