/**
 * initiatePayment, processRefund and verifyPayment through Stripe, against a loopback fake of the
 * Stripe API that refuses what Stripe refuses (wrong method, path, key, content type, an unknown or
 * missing parameter, an Idempotency-Key reused with other parameters) and replays the first answer
 * to a key as Stripe does; then Stripe's errors, and events signed here (Stripe-Signature) that
 * move an operation's deliveryStatus.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, type Reply, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import { addRule, configureActive, type Gql, gqlAs } from '../helpers/integrations.ts';

const SECRET_KEY = 'sk_test_51StripeOpsKey0123456789abcdef';
const WEBHOOK_SECRET = 'whsec_stripeOpsSigningSecret0123456789';
const CREDENTIALS = { publishable_key: 'pk_test_51StripeOpsKey0123456789', secret_key: SECRET_KEY, webhook_secret: WEBHOOK_SECRET };

const mediaType = (req: Seen) =>
  String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();

const stripeError = (status: number, type: string, message: string, code?: string): Reply => ({
  status,
  body: { error: { type, message, ...(code ? { code } : {}) } },
});

/** Every parameter the fake takes per create, required or not (Stripe answers parameter_unknown for any other). */
const PAYMENT_INTENT_PARAMS = {
  required: ['amount', 'currency'],
  optional: ['automatic_payment_methods[enabled]', 'metadata[operation_id]', 'description', 'receipt_email'],
};
const REFUND_PARAMS = { required: ['payment_intent'], optional: ['amount', 'metadata[operation_id]'] };

interface Intent {
  id: string;
  object: 'payment_intent';
  amount: number;
  currency: string;
  status: string;
  client_secret: string;
  description: string | null;
  receipt_email: string | null;
  metadata: Record<string, string>;
}

let api: FakeApi;
const intents = new Map<string, Intent>();
const refunded = new Map<string, number>();
/** Idempotency-Key → the request it came with and the answer Stripe saved for it. */
const saved = new Map<string, { request: string; reply: Reply }>();
let created = 0;
/** Replaces the answer to a well-formed PaymentIntent create, per test. */
let intentCreate: ((form: URLSearchParams) => Reply) | undefined;

function formProblem(form: URLSearchParams, params: { required: string[]; optional: string[] }): Reply | null {
  const keys = [...form.keys()];
  const unknown = keys.find((k) => !params.required.includes(k) && !params.optional.includes(k));
  if (unknown) return stripeError(400, 'invalid_request_error', `Received unknown parameter: ${unknown}`, 'parameter_unknown');
  if (new Set(keys).size !== keys.length)
    return stripeError(400, 'invalid_request_error', 'A parameter was given twice', 'parameter_invalid');
  const missing = params.required.find((k) => !form.get(k));
  if (missing) return stripeError(400, 'invalid_request_error', `Missing required param: ${missing}.`, 'parameter_missing');
  for (const k of ['amount']) {
    if (form.has(k) && !/^[1-9]\d{0,7}$/.test(form.get(k)!))
      return stripeError(400, 'invalid_request_error', `Invalid integer: ${form.get(k)}`);
  }
  return null;
}

function createIntent(form: URLSearchParams): Reply {
  const problem = formProblem(form, PAYMENT_INTENT_PARAMS);
  if (problem) return problem;
  if (!/^[a-z]{3}$/.test(form.get('currency')!)) return stripeError(400, 'invalid_request_error', 'Invalid currency', 'parameter_invalid');
  if (form.has('automatic_payment_methods[enabled]') && form.get('automatic_payment_methods[enabled]') !== 'true') {
    return stripeError(400, 'invalid_request_error', 'Invalid boolean', 'parameter_invalid');
  }
  if (form.has('receipt_email') && !/^[^\s@]+@[^\s@]+$/.test(form.get('receipt_email')!)) {
    return stripeError(400, 'invalid_request_error', 'Invalid email address', 'email_invalid');
  }
  if (intentCreate) return intentCreate(form);
  const id = `pi_3Ops${String(++created).padStart(4, '0')}StripeFake`;
  const intent: Intent = {
    id,
    object: 'payment_intent',
    amount: Number(form.get('amount')),
    currency: form.get('currency')!,
    status: 'requires_payment_method',
    client_secret: `${id}_secret_Fake${created}`,
    description: form.get('description'),
    receipt_email: form.get('receipt_email'),
    metadata: form.has('metadata[operation_id]') ? { operation_id: form.get('metadata[operation_id]')! } : {},
  };
  intents.set(id, intent);
  return { status: 200, body: intent };
}

function createRefund(form: URLSearchParams): Reply {
  const problem = formProblem(form, REFUND_PARAMS);
  if (problem) return problem;
  const intent = intents.get(form.get('payment_intent')!);
  if (!intent)
    return stripeError(400, 'invalid_request_error', `No such payment_intent: '${form.get('payment_intent')}'`, 'resource_missing');
  const left = intent.amount - (refunded.get(intent.id) ?? 0);
  const amount = form.has('amount') ? Number(form.get('amount')) : left;
  if (amount > left) {
    return stripeError(
      400,
      'invalid_request_error',
      `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`,
      'amount_too_large',
    );
  }
  refunded.set(intent.id, (refunded.get(intent.id) ?? 0) + amount);
  const id = `re_3Ops${String(refunded.size).padStart(4, '0')}${amount}Fake`;
  return {
    status: 200,
    body: { id, object: 'refund', amount, currency: intent.currency, payment_intent: intent.id, status: 'succeeded', metadata: {} },
  };
}

/** A POST that creates, with Stripe's idempotency: the first answer to a key is replayed; other parameters under it are an error. */
function idempotent(req: Seen, create: (form: URLSearchParams) => Reply): Reply {
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string' || !key)
    return stripeError(400, 'invalid_request_error', 'this fake wants an Idempotency-Key on every create');
  const request = `${req.path}?${req.body}`;
  const before = saved.get(key);
  if (before && before.request !== request) {
    return stripeError(
      400,
      'idempotency_error',
      `Keys for idempotent requests can only be used with the same parameters they were first used with.`,
    );
  }
  if (before) return { ...before.reply, headers: { 'idempotent-replayed': 'true' } };
  const reply = create(new URLSearchParams(req.body));
  // validation errors are not saved (docs.stripe.com/idempotency)
  if (reply.status !== 400) saved.set(key, { request, reply });
  return reply;
}

function stripeFake(req: Seen): Reply {
  if (req.headers.authorization !== `Bearer ${SECRET_KEY}`) {
    return stripeError(401, 'invalid_request_error', 'Invalid API Key provided: sk_test_****cdef');
  }
  if (req.method === 'GET' && req.path === '/v1/balance') return { status: 200, body: { object: 'balance', available: [] } };
  if (req.method === 'POST' && (req.path === '/v1/payment_intents' || req.path === '/v1/refunds')) {
    if (mediaType(req) !== 'application/x-www-form-urlencoded')
      return stripeError(400, 'invalid_request_error', 'Invalid request: form bodies only');
    return idempotent(req, req.path === '/v1/refunds' ? createRefund : createIntent);
  }
  const retrieve = /^\/v1\/payment_intents\/([^/]+)$/.exec(req.path);
  if (req.method === 'GET' && retrieve) {
    if (req.body !== '' || req.headers['content-type']) return stripeError(400, 'invalid_request_error', 'a GET takes no body');
    const id = decodeURIComponent(retrieve[1]!);
    const intent = intents.get(id);
    return intent
      ? { status: 200, body: intent }
      : stripeError(404, 'invalid_request_error', `No such payment_intent: '${id}'`, 'resource_missing');
  }
  return stripeError(404, 'invalid_request_error', `Unrecognized request URL (${req.method}: ${req.path}).`);
}

const OPERATION = `id capability status usedFallback providerReference result input deliveryStatus
  integration { id } error { code message } attempts { outcome httpStatus error }`;

let server: TestServer;
let gql: Gql;
let stripe: { id: string; inboundWebhookUrl: string };

async function operate(mutation: string, input: Record<string, unknown>) {
  const type = mutation[0]!.toUpperCase() + mutation.slice(1);
  const data = await gql(
    `mutation($input: ${type}Input!) { ${mutation}(input: $input) { __typename
      ... on ${type}Payload { operation { ${OPERATION} } } ... on Error { code message } } }`,
    { input: { ...input, waitSeconds: 20 } },
  );
  const result = data[mutation];
  expect(result.__typename, result.message).toBe(`${type}Payload`);
  expect(['SUCCEEDED', 'FAILED']).toContain(result.operation.status);
  return result.operation;
}

const last = (method: string, path: string | RegExp) =>
  api.seen.filter((s) => s.method === method && (typeof path === 'string' ? s.path === path : path.test(s.path))).at(-1)!;
const formOf = (req: Seen) => [...new URLSearchParams(req.body).entries()];

beforeAll(async () => {
  api = await startFakeApi(stripeFake);
  server = await startTestServer({ STRIPE_API_BASE_URL: api.url });
  gql = gqlAs(server, { token: await server.token({ tenant_id: 'stripe-ops' }) });
  stripe = (await configureActive(gql, 'stripe', CREDENTIALS)) as typeof stripe;
  for (const capability of ['initiate_payment', 'process_refund', 'verify_payment'])
    await addRule(gql, { capability, integrationId: stripe.id });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await api?.close();
});

beforeEach(() => {
  intentCreate = undefined;
});

describe('initiatePayment', () => {
  it('creates a PaymentIntent with the documented form, the secret key, and the operation id as Idempotency-Key', async () => {
    const input = { amount: 2599, currency: 'eur', description: 'Order #1001', customerEmail: 'ana@example.com' };
    const op = await operate('initiatePayment', input);
    expect(op).toMatchObject({
      capability: 'initiate_payment',
      status: 'SUCCEEDED',
      usedFallback: false,
      integration: { id: stripe.id },
      input,
    });
    const intent = intents.get(op.providerReference)!;
    expect(op.result).toEqual({ paymentIntentId: intent.id, status: 'requires_payment_method', clientSecret: intent.client_secret });
    expect(op.attempts).toEqual([{ outcome: 'SUCCEEDED', httpStatus: 200, error: null }]);

    const sent = last('POST', '/v1/payment_intents');
    expect(sent.headers.authorization).toBe(`Bearer ${SECRET_KEY}`);
    expect(mediaType(sent)).toBe('application/x-www-form-urlencoded');
    expect(sent.headers['idempotency-key']).toBe(op.id);
    expect(formOf(sent)).toEqual([
      ['amount', '2599'],
      ['currency', 'eur'],
      ['automatic_payment_methods[enabled]', 'true'],
      ['metadata[operation_id]', op.id],
      ['description', 'Order #1001'],
      ['receipt_email', 'ana@example.com'],
    ]);
  });

  it('sends no description or receipt_email when none is given; the currency in lower case', async () => {
    const op = await operate('initiatePayment', { amount: 500, currency: 'USD' });
    expect(op.status).toBe('SUCCEEDED');
    expect(formOf(last('POST', '/v1/payment_intents'))).toEqual([
      ['amount', '500'],
      ['currency', 'usd'],
      ['automatic_payment_methods[enabled]', 'true'],
      ['metadata[operation_id]', op.id],
    ]);
    expect(intents.get(op.providerReference)).toMatchObject({ amount: 500, currency: 'usd', description: null, receipt_email: null });
  });

  it('a card_error (402) fails PROVIDER_REJECTED with Stripe’s message, at once, the integration staying ACTIVE', async () => {
    const before = api.seen.length;
    intentCreate = () => stripeError(402, 'card_error', 'Your card was declined.', 'card_declined');
    const op = await operate('initiatePayment', { amount: 1000, currency: 'usd' });
    const said = 'Stripe rejected the request (HTTP 402): Your card was declined.';
    expect(op).toMatchObject({
      status: 'FAILED',
      error: { code: 'PROVIDER_REJECTED', message: said },
      providerReference: null,
      result: null,
    });
    expect(op.attempts).toEqual([{ outcome: 'REJECTED', httpStatus: 402, error: said }]);
    expect(api.seen.length).toBe(before + 1);
    const now = await gql(`query($id: ID!) { integration(id: $id) { status } }`, { id: stripe.id });
    expect(now.integration.status).toBe('ACTIVE');
  });

  it('never shows the secret key Stripe echoes in an invalid_request_error', async () => {
    intentCreate = () =>
      stripeError(400, 'invalid_request_error', `Amount must be at least 50 cents (key ${SECRET_KEY})`, 'amount_too_small');
    const op = await operate('initiatePayment', { amount: 1, currency: 'usd' });
    const said = 'Stripe rejected the request (HTTP 400): Amount must be at least 50 cents (key [redacted])';
    expect(op.error).toEqual({ code: 'PROVIDER_REJECTED', message: said });
    expect(op.attempts[0].error).toBe(said);
    expect(JSON.stringify(op)).not.toContain(SECRET_KEY);
  });

  it('a 200 that is not a PaymentIntent with a client_secret fails PROVIDER_REJECTED without trying elsewhere', async () => {
    intentCreate = () => ({ status: 200, body: { id: 'pi_3NoSecret', object: 'payment_intent', status: 'requires_payment_method' } });
    const op = await operate('initiatePayment', { amount: 700, currency: 'usd' });
    expect(op.error).toEqual({
      code: 'PROVIDER_REJECTED',
      message: 'Stripe answered HTTP 200 in an unexpected form: Stripe answered a PaymentIntent without a client_secret',
    });
  });
});

describe('processRefund', () => {
  it('refunds the whole PaymentIntent: payment_intent and the operation id, keyed by the operation', async () => {
    const payment = await operate('initiatePayment', { amount: 1500, currency: 'usd' });
    const op = await operate('processRefund', { paymentReference: payment.providerReference });
    expect(op).toMatchObject({ capability: 'process_refund', status: 'SUCCEEDED', integration: { id: stripe.id } });
    expect(op.providerReference).toMatch(/^re_3Ops\d{4}1500Fake$/);
    expect(op.result).toEqual({ refundId: op.providerReference, status: 'succeeded' });
    const sent = last('POST', '/v1/refunds');
    expect(sent.headers.authorization).toBe(`Bearer ${SECRET_KEY}`);
    expect(mediaType(sent)).toBe('application/x-www-form-urlencoded');
    expect(sent.headers['idempotency-key']).toBe(op.id);
    expect(formOf(sent)).toEqual([
      ['payment_intent', payment.providerReference],
      ['metadata[operation_id]', op.id],
    ]);
  });

  it('refunds part of it with amount; more than is left is rejected with Stripe’s message', async () => {
    const payment = await operate('initiatePayment', { amount: 1000, currency: 'usd' });
    const part = await operate('processRefund', { paymentReference: payment.providerReference, amount: 400 });
    expect(part.status).toBe('SUCCEEDED');
    expect(formOf(last('POST', '/v1/refunds'))).toEqual([
      ['payment_intent', payment.providerReference],
      ['metadata[operation_id]', part.id],
      ['amount', '400'],
    ]);
    const tooMuch = await operate('processRefund', { paymentReference: payment.providerReference, amount: 700 });
    expect(tooMuch.error).toEqual({
      code: 'PROVIDER_REJECTED',
      message: 'Stripe rejected the request (HTTP 400): Refund amount (700) is greater than unrefunded amount on charge (600)',
    });
  });

  it('a payment Stripe does not know is rejected with Stripe’s message', async () => {
    const op = await operate('processRefund', { paymentReference: 'pi_3Unknown' });
    expect(op.error).toEqual({
      code: 'PROVIDER_REJECTED',
      message: "Stripe rejected the request (HTTP 400): No such payment_intent: 'pi_3Unknown'",
    });
  });
});

describe('verifyPayment', () => {
  it('reads the PaymentIntent with a GET that carries no body and no Idempotency-Key', async () => {
    const payment = await operate('initiatePayment', { amount: 4200, currency: 'gbp' });
    intents.get(payment.providerReference)!.status = 'succeeded';
    const op = await operate('verifyPayment', { paymentReference: payment.providerReference });
    expect(op).toMatchObject({ capability: 'verify_payment', status: 'SUCCEEDED', providerReference: payment.providerReference });
    expect(op.result).toEqual({ status: 'succeeded', amount: 4200, currency: 'gbp' });
    const sent = last('GET', /^\/v1\/payment_intents\//);
    expect(sent.path).toBe(`/v1/payment_intents/${payment.providerReference}`);
    expect(sent.headers.authorization).toBe(`Bearer ${SECRET_KEY}`);
    expect(sent.headers['idempotency-key']).toBeUndefined();
    expect(sent.headers['content-type']).toBeUndefined();
    expect(sent.body).toBe('');
  });

  it('a PaymentIntent Stripe does not know (404) fails PROVIDER_REJECTED with Stripe’s message', async () => {
    const op = await operate('verifyPayment', { paymentReference: 'pi_3Missing' });
    expect(op.error).toEqual({
      code: 'PROVIDER_REJECTED',
      message: "Stripe rejected the request (HTTP 404): No such payment_intent: 'pi_3Missing'",
    });
    expect(op.attempts).toEqual([{ outcome: 'REJECTED', httpStatus: 404, error: op.error.message }]);
  });

  it('refuses a reference that is not one path segment as it stands (.., ., dots), before any call', async () => {
    const seen = api.seen.length;
    for (const paymentReference of ['..', '.', 'pi_1.x']) {
      const data = await gql(
        `mutation($input: VerifyPaymentInput!) { verifyPayment(input: $input) { __typename ... on ValidationError { fieldErrors { path } } } }`,
        { input: { paymentReference } },
      );
      expect(data.verifyPayment, paymentReference).toEqual({
        __typename: 'ValidationError',
        fieldErrors: [{ path: ['paymentReference'] }],
      });
    }
    expect(api.seen.length).toBe(seen);
  });
});

describe('Stripe events', () => {
  let eventCount = 0;

  /** Posts an event to the integration's inbound URL, signed as Stripe signs: hex HMAC-SHA256 of `t.body`. */
  async function deliver(type: string, object: Record<string, unknown>, secret = WEBHOOK_SECRET): Promise<number> {
    const body = JSON.stringify({
      id: `evt_3Ops${++eventCount}`,
      object: 'event',
      type,
      api_version: '2024-06-20',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: { object },
    });
    const t = Math.floor(Date.now() / 1000);
    const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    const res = await fetch(stripe.inboundWebhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${v1}` },
      body,
    });
    return res.status;
  }

  async function delivery(id: string) {
    return (await gql(`query($id: ID!) { operation(id: $id) { deliveryStatus } }`, { id })).operation.deliveryStatus as string | null;
  }

  async function deliveryEvents(id: string) {
    const data = await gql(`{ events(type: "operation.delivery_updated", first: 100) { edges { node { payload } } } }`);
    return data.events.edges
      .map((e: { node: { payload: Record<string, unknown> } }) => e.node.payload)
      .filter((p: { id: string }) => p.id === id)
      .reverse()
      .map((p: Record<string, unknown>) => p.deliveryStatus);
  }

  it('payment_intent.* events set the status of the operation that created the intent, named by its metadata', async () => {
    const payment = await operate('initiatePayment', { amount: 990, currency: 'usd' });
    // a later read of the same intent has the same providerReference: the metadata still names the payment
    const read = await operate('verifyPayment', { paymentReference: payment.providerReference });
    const intent = intents.get(payment.providerReference)!;
    for (const status of ['processing', 'succeeded']) {
      expect(await deliver(`payment_intent.${status}`, { ...intent, status })).toBe(200);
      expect(await delivery(payment.id)).toBe(status);
    }
    // Stripe does not promise the order of events: a late processing does not undo succeeded
    expect(await deliver('payment_intent.processing', { ...intent, status: 'processing' })).toBe(200);
    expect(await delivery(payment.id)).toBe('succeeded');
    expect(await deliveryEvents(payment.id)).toEqual(['processing', 'succeeded']);
    expect(await delivery(read.id)).toBeNull();
  });

  it('an intent event without our metadata matches the operation with its id as providerReference', async () => {
    const payment = await operate('initiatePayment', { amount: 991, currency: 'usd' });
    const intent = intents.get(payment.providerReference)!;
    expect(await deliver('payment_intent.canceled', { ...intent, metadata: {}, status: 'canceled' })).toBe(200);
    expect(await delivery(payment.id)).toBe('canceled');
  });

  it('refund events set the refund operation’s status; charge.refunded (a Charge) matches nothing', async () => {
    const payment = await operate('initiatePayment', { amount: 1200, currency: 'usd' });
    const refund = await operate('processRefund', { paymentReference: payment.providerReference });
    const object = {
      id: refund.providerReference,
      object: 'refund',
      amount: 1200,
      payment_intent: payment.providerReference,
      metadata: {},
    };
    expect(await deliver('charge.refunded', { id: 'ch_3Ops1', object: 'charge', status: 'succeeded', refunded: true })).toBe(200);
    expect(await delivery(refund.id)).toBeNull();
    expect(await deliver('refund.updated', { ...object, status: 'pending' })).toBe(200);
    expect(await delivery(refund.id)).toBe('pending');
    expect(await deliver('charge.refund.updated', { ...object, status: 'failed' })).toBe(200);
    expect(await delivery(refund.id)).toBe('failed');
    expect(await delivery(payment.id)).toBeNull();
  });

  it('changes nothing for an event signed with another secret (401)', async () => {
    const payment = await operate('initiatePayment', { amount: 992, currency: 'usd' });
    const intent = intents.get(payment.providerReference)!;
    expect(await deliver('payment_intent.succeeded', { ...intent, status: 'succeeded' }, 'whsec_someoneElse')).toBe(401);
    expect(await delivery(payment.id)).toBeNull();
  });
});
