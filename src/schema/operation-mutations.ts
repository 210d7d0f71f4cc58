/**
 * The operation mutations: one per capability, each storing an operation that the worker runs
 * through the routed integrations. Every input also takes idempotencyKey and waitSeconds.
 */
import { builder } from '../builder.ts';
import { ConflictError, NoActiveProviderError, ValidationError } from '../errors.ts';
import type { Operation } from '../generated/prisma/client.ts';
import { OPERATION_LIMITS } from '../operations/capabilities.ts';
import { requestOperation } from '../operations/service.ts';
import { OperationRef } from './operation.ts';
import { payload } from './payload.ts';

const WRITE = { 'operations:write': true } as const;

// biome-ignore lint/suspicious/noExplicitAny: Pothos's input field builder, whose generics a shared helper cannot name
type InputFieldBuilder = any;

function operationMutation(
  name: string,
  capability: string,
  description: string,
  fields: (t: InputFieldBuilder) => Record<string, unknown>,
) {
  builder.relayMutationField(
    name,
    {
      description: `What ${name} asks for.`,
      inputFields: (t) => ({
        ...fields(t),
        idempotencyKey: t.string({
          required: false,
          description: `Names this request for 24 hours: the same key with the same input returns the same operation and calls no provider again; with another input it is a CONFLICT. 1 to ${OPERATION_LIMITS.idempotencyKeyChars} visible ASCII characters.`,
        }),
        waitSeconds: t.int({
          required: false,
          description: `Hold the answer until the operation ends, or this many seconds pass (0 to ${OPERATION_LIMITS.waitSeconds}; default 0: answer as soon as it is queued).`,
        }),
      }),
    },
    {
      description: `${description} Picks the integration by the routing rules of "${capability}", fails over, and records every provider call. NoActiveProviderError when no routing candidate is ACTIVE (nothing is stored then).`,
      authScopes: WRITE,
      errors: { types: [ValidationError, NoActiveProviderError, ConflictError] },
      resolve: (_root, { input }, ctx) => {
        const { idempotencyKey, waitSeconds, ...rest } = input as Record<string, unknown>;
        return requestOperation(ctx, capability, rest, {
          idempotencyKey: idempotencyKey as string | null | undefined,
          waitSeconds: waitSeconds as number | null | undefined,
        });
      },
    },
    payload<Operation>('The operation, QUEUED (or as it ended, with waitSeconds).', {
      operation: { type: OperationRef, description: 'The stored operation.', resolve: (o) => o },
    }),
  );
}

operationMutation('sendSms', 'send_sms', 'Sends an SMS.', (t) => ({
  to: t.string({ required: true, description: 'The recipient, in E.164 (e.g. +14155550123).' }),
  body: t.string({ required: true, description: `The text, at most ${OPERATION_LIMITS.messageChars} characters.` }),
}));

operationMutation('sendWhatsapp', 'send_whatsapp', 'Sends a WhatsApp message.', (t) => ({
  to: t.string({ required: true, description: 'The recipient, in E.164 (e.g. +14155550123).' }),
  body: t.string({ required: true, description: `The text, at most ${OPERATION_LIMITS.messageChars} characters.` }),
}));

operationMutation('sendEmail', 'send_email', 'Sends an email from the integration’s sender.', (t) => ({
  to: t.stringList({ required: true, description: `Recipients (1 to ${OPERATION_LIMITS.emailRecipients} addresses).` }),
  subject: t.string({ required: true, description: `One line, at most ${OPERATION_LIMITS.subjectChars} characters.` }),
  text: t.string({ required: false, description: 'The plain-text body (at most 256 KiB); text, html or both.' }),
  html: t.string({ required: false, description: 'The HTML body (at most 512 KiB).' }),
}));

operationMutation('generateText', 'generate_text', 'Generates text from a prompt. Result: { text model finishReason usage }.', (t) => ({
  prompt: t.string({ required: true, description: `The prompt, at most ${OPERATION_LIMITS.promptChars} characters.` }),
  model: t.string({ required: false, description: 'The provider’s model name; default gpt-4o-mini on OpenAI.' }),
  maxOutputTokens: t.int({
    required: false,
    description: `At most this many tokens in the answer (1 to ${OPERATION_LIMITS.maxOutputTokens}).`,
  }),
}));

operationMutation('createEmbedding', 'create_embedding', 'Embeds a text. Result: { embedding model dimensions usage }.', (t) => ({
  input: t.string({ required: true, description: `The text, at most ${OPERATION_LIMITS.promptChars} characters.` }),
  model: t.string({ required: false, description: 'The provider’s model name; default text-embedding-3-small on OpenAI.' }),
}));

operationMutation(
  'initiatePayment',
  'initiate_payment',
  'Creates a payment (a Stripe PaymentIntent, sent with the operation’s id as its Idempotency-Key, so a retry never charges twice). Result: { paymentIntentId status clientSecret }; the client secret is for the paying customer’s browser.',
  (t) => ({
    amount: t.int({
      required: true,
      description: `In the currency’s minor unit (cents for usd), 1 to ${OPERATION_LIMITS.paymentAmount}.`,
    }),
    currency: t.string({ required: true, description: 'An ISO 4217 code, e.g. usd.' }),
    description: t.string({ required: false, description: `At most ${OPERATION_LIMITS.paymentDescriptionChars} characters.` }),
    customerEmail: t.string({ required: false, description: 'Where the provider sends the receipt.' }),
  }),
);

operationMutation('processRefund', 'process_refund', 'Refunds a payment, in full or in part. Result: { refundId status }.', (t) => ({
  paymentReference: t.string({
    required: true,
    description: 'The payment’s providerReference (a PaymentIntent id, pi_…).',
  }),
  amount: t.int({ required: false, description: 'In the minor unit; default: what is left of the payment.' }),
}));

operationMutation(
  'verifyPayment',
  'verify_payment',
  'Reads a payment’s state from the provider. Result: { status amount currency }.',
  (t) => ({
    paymentReference: t.string({ required: true, description: 'The payment’s providerReference (a PaymentIntent id, pi_…).' }),
  }),
);

const SignerInput = builder.inputType('SignatureSignerInput', {
  description: 'Someone who signs the document.',
  fields: (t) => ({
    name: t.string({ required: true, description: `At most ${OPERATION_LIMITS.signerNameChars} characters.` }),
    email: t.string({ required: true, description: 'Where the provider sends the signing invitation.' }),
  }),
});

operationMutation(
  'requestSignature',
  'request_signature',
  'Sends a document for signature (an envelope, agreement or document at the e-signature provider). Result: { envelopeId status }. Bodies of this mutation may be up to 10 MiB.',
  (t) => ({
    documentName: t.string({ required: true, description: 'The file name, e.g. contract.pdf.' }),
    documentBase64: t.string({
      required: true,
      description: `The document, standard base64 (at most ${OPERATION_LIMITS.documentBytes} bytes once decoded).`,
    }),
    signers: t.field({ type: [SignerInput], required: true, description: `1 to ${OPERATION_LIMITS.signers} signers.` }),
    message: t.string({ required: false, description: 'Shown to the signers in the invitation.' }),
  }),
);

operationMutation(
  'trackSignature',
  'track_signature',
  'Reads a signature request’s state from the provider. Result: { status signers { email status } }.',
  (t) => ({
    signatureReference: t.string({ required: true, description: 'The signature request’s providerReference (envelope or document id).' }),
  }),
);
