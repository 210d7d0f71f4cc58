/**
 * The capabilities operations run, each with its input checks. A checked input is the object
 * stored (sealed) with the operation and handed to the provider's adapter: only the fields
 * given, in a fixed shape, so the same request always stores the same input (idempotency compares
 * them). Limits are in docs/using-the-api.md "Operations".
 */
import type { FieldError } from '../errors.ts';

export type OperationInput = Record<string, unknown>;

export const OPERATION_LIMITS = {
  /** Twilio's and Plivo's limit on one message (longer ones are split into segments by them). */
  messageChars: 1600,
  emailRecipients: 50,
  emailAddressChars: 254,
  subjectChars: 998,
  emailTextBytes: 256 * 1024,
  emailHtmlBytes: 512 * 1024,
  promptChars: 100_000,
  maxOutputTokens: 128_000,
  modelChars: 100,
  idempotencyKeyChars: 255,
  waitSeconds: 30,
  /** Stripe's largest amount (eight digits in the minor unit). */
  paymentAmount: 99_999_999,
  paymentDescriptionChars: 1000,
  referenceChars: 255,
  documentNameChars: 255,
  /** The decoded document; its base64 fits the 10 MiB body of requestSignature (src/http/body.ts). */
  documentBytes: 7 * 1024 * 1024,
  signers: 20,
  signerNameChars: 255,
  signatureMessageChars: 10_000,
} as const;

/** E.164: a plus, a country code that does not start with 0, at most 15 digits in all. */
const E164 = /^\+[1-9]\d{6,14}$/;
/** A pragmatic address check (what providers accept): one @, no spaces or brackets, a dotted domain. */
const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:".]+$/;
const MODEL = /^[A-Za-z0-9._:/-]+$/;
/** Control characters other than tab, line feed and carriage return. */
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]+$/;

type Check = (input: Record<string, unknown>, errors: FieldError[]) => OperationInput;

function phone(value: unknown, path: string, errors: FieldError[]): string {
  const text = String(value ?? '');
  if (!E164.test(text)) errors.push({ path: [path], message: 'must be an E.164 phone number, e.g. +14155550123' });
  return text;
}

function text(
  value: unknown,
  path: string | string[],
  max: number,
  errors: FieldError[],
  unit: 'characters' | 'bytes' = 'characters',
): string {
  const s = String(value ?? '');
  const where = typeof path === 'string' ? [path] : path;
  const size = unit === 'bytes' ? Buffer.byteLength(s) : [...s].length;
  if (size === 0) errors.push({ path: where, message: 'must not be empty' });
  else if (size > max) errors.push({ path: where, message: `must be at most ${max} ${unit} (got ${size})` });
  else if (CONTROL_IN_TEXT.test(s)) errors.push({ path: where, message: 'must not contain control characters' });
  return s;
}

function model(value: unknown, errors: FieldError[]): string | undefined {
  if (value == null) return undefined;
  const s = String(value);
  if (s.length === 0 || s.length > OPERATION_LIMITS.modelChars || !MODEL.test(s)) {
    errors.push({
      path: ['model'],
      message: `must be a model name of at most ${OPERATION_LIMITS.modelChars} letters, digits and . _ : / -`,
    });
  }
  return s;
}

const message: Check = (input, errors) => ({
  to: phone(input.to, 'to', errors),
  body: text(input.body, 'body', OPERATION_LIMITS.messageChars, errors),
});

const email: Check = (input, errors) => {
  const to = Array.isArray(input.to) ? input.to.map(String) : [];
  if (to.length === 0) errors.push({ path: ['to'], message: 'must name at least one recipient' });
  if (to.length > OPERATION_LIMITS.emailRecipients) {
    errors.push({ path: ['to'], message: `must name at most ${OPERATION_LIMITS.emailRecipients} recipients (got ${to.length})` });
  }
  const seen = new Set<string>();
  to.slice(0, OPERATION_LIMITS.emailRecipients).forEach((address, i) => {
    if (address.length > OPERATION_LIMITS.emailAddressChars || !EMAIL.test(address)) {
      errors.push({ path: ['to', String(i)], message: 'must be an email address such as ana@example.com' });
    } else if (seen.has(address.toLowerCase())) {
      errors.push({ path: ['to', String(i)], message: 'names a recipient already listed' });
    }
    seen.add(address.toLowerCase());
  });
  const subject = text(input.subject, 'subject', OPERATION_LIMITS.subjectChars, errors);
  if (/[\r\n]/.test(subject)) errors.push({ path: ['subject'], message: 'must be one line' });
  const out: OperationInput = { to, subject };
  if (input.text != null) out.text = text(input.text, 'text', OPERATION_LIMITS.emailTextBytes, errors, 'bytes');
  if (input.html != null) out.html = text(input.html, 'html', OPERATION_LIMITS.emailHtmlBytes, errors, 'bytes');
  if (input.text == null && input.html == null) errors.push({ path: ['text'], message: 'give text, html or both' });
  return out;
};

const generateText: Check = (input, errors) => {
  const out: OperationInput = { prompt: text(input.prompt, 'prompt', OPERATION_LIMITS.promptChars, errors) };
  const m = model(input.model, errors);
  if (m !== undefined) out.model = m;
  if (input.maxOutputTokens != null) {
    const n = Number(input.maxOutputTokens);
    if (!Number.isInteger(n) || n < 1 || n > OPERATION_LIMITS.maxOutputTokens) {
      errors.push({ path: ['maxOutputTokens'], message: `must be a whole number from 1 to ${OPERATION_LIMITS.maxOutputTokens}` });
    }
    out.maxOutputTokens = n;
  }
  return out;
};

const createEmbedding: Check = (input, errors) => {
  const out: OperationInput = { input: text(input.input, 'input', OPERATION_LIMITS.promptChars, errors) };
  const m = model(input.model, errors);
  if (m !== undefined) out.model = m;
  return out;
};

/** ISO 4217 codes, as Intl knows them. */
const CURRENCIES = new Set(Intl.supportedValuesOf('currency').map((c) => c.toLowerCase()));
/** A provider's id of something it made (pi_…, re_…, an envelope GUID, a document key): one path segment as it stands. */
const REFERENCE = /^[A-Za-z0-9_-]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function email1(value: unknown, path: (string | number)[], errors: FieldError[]): string {
  const address = String(value ?? '');
  if (address.length > OPERATION_LIMITS.emailAddressChars || !EMAIL.test(address)) {
    errors.push({ path: path.map(String), message: 'must be an email address such as ana@example.com' });
  }
  return address;
}

function reference(value: unknown, path: string, errors: FieldError[]): string {
  const s = String(value ?? '');
  if (s.length === 0 || s.length > OPERATION_LIMITS.referenceChars || !REFERENCE.test(s)) {
    errors.push({
      path: [path],
      message: `must be the provider's id as it gave it: 1 to ${OPERATION_LIMITS.referenceChars} letters, digits, _ and -`,
    });
  }
  return s;
}

function amount(value: unknown, path: string, errors: FieldError[]): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > OPERATION_LIMITS.paymentAmount) {
    errors.push({
      path: [path],
      message: `must be a whole number of the currency's minor unit (cents), from 1 to ${OPERATION_LIMITS.paymentAmount}`,
    });
  }
  return n;
}

const initiatePayment: Check = (input, errors) => {
  const out: OperationInput = { amount: amount(input.amount, 'amount', errors) };
  const currency = String(input.currency ?? '').toLowerCase();
  if (!/^[a-z]{3}$/.test(currency) || !CURRENCIES.has(currency)) {
    errors.push({ path: ['currency'], message: 'must be an ISO 4217 currency code, e.g. usd or EUR' });
  }
  out.currency = currency;
  if (input.description != null) out.description = text(input.description, 'description', OPERATION_LIMITS.paymentDescriptionChars, errors);
  if (input.customerEmail != null) out.customerEmail = email1(input.customerEmail, ['customerEmail'], errors);
  return out;
};

const processRefund: Check = (input, errors) => {
  const out: OperationInput = { paymentReference: reference(input.paymentReference, 'paymentReference', errors) };
  if (input.amount != null) out.amount = amount(input.amount, 'amount', errors);
  return out;
};

const verifyPayment: Check = (input, errors) => ({ paymentReference: reference(input.paymentReference, 'paymentReference', errors) });

const requestSignature: Check = (input, errors) => {
  const documentName = text(input.documentName, 'documentName', OPERATION_LIMITS.documentNameChars, errors);
  if (/[\r\n/\\]/.test(documentName)) errors.push({ path: ['documentName'], message: 'must be a file name: one line, no / or \\' });
  const documentBase64 = String(input.documentBase64 ?? '');
  const bytes = Math.floor((documentBase64.length * 3) / 4) - (documentBase64.match(/=+$/)?.[0].length ?? 0);
  if (documentBase64.length === 0) errors.push({ path: ['documentBase64'], message: 'must not be empty' });
  else if (documentBase64.length % 4 !== 0 || !BASE64.test(documentBase64)) {
    errors.push({ path: ['documentBase64'], message: 'must be standard base64 (A–Z a–z 0–9 + /, padded with =, no line breaks)' });
  } else if (bytes > OPERATION_LIMITS.documentBytes) {
    errors.push({ path: ['documentBase64'], message: `must decode to at most ${OPERATION_LIMITS.documentBytes} bytes (got ${bytes})` });
  }
  const given = Array.isArray(input.signers) ? (input.signers as Record<string, unknown>[]) : [];
  if (given.length === 0) errors.push({ path: ['signers'], message: 'must name at least one signer' });
  if (given.length > OPERATION_LIMITS.signers) {
    errors.push({ path: ['signers'], message: `must name at most ${OPERATION_LIMITS.signers} signers (got ${given.length})` });
  }
  const seen = new Set<string>();
  const signers = given.slice(0, OPERATION_LIMITS.signers).map((signer, i) => {
    const name = text(signer?.name, ['signers', String(i), 'name'], OPERATION_LIMITS.signerNameChars, errors);
    const address = email1(signer?.email, ['signers', i, 'email'], errors);
    if (seen.has(address.toLowerCase())) errors.push({ path: ['signers', String(i), 'email'], message: 'names a signer already listed' });
    seen.add(address.toLowerCase());
    return { name, email: address };
  });
  const out: OperationInput = { documentName, documentBase64, signers };
  if (input.message != null) out.message = text(input.message, 'message', OPERATION_LIMITS.signatureMessageChars, errors);
  return out;
};

const trackSignature: Check = (input, errors) => ({
  signatureReference: reference(input.signatureReference, 'signatureReference', errors),
});

/** Capability → its input check. */
export const CAPABILITY_INPUTS: Readonly<Record<string, Check>> = {
  send_sms: message,
  send_whatsapp: message,
  send_email: email,
  generate_text: generateText,
  create_embedding: createEmbedding,
  initiate_payment: initiatePayment,
  process_refund: processRefund,
  verify_payment: verifyPayment,
  request_signature: requestSignature,
  track_signature: trackSignature,
};

/**
 * Capabilities that act on what another one made (a refund of a payment, the status of a signature
 * request): when an operation of the tenant made the reference, they go to the integration that
 * made it, and to no other (another provider does not know the reference).
 */
export const FOLLOW_UPS: Readonly<Record<string, { after: readonly string[]; reference: string; reads: boolean }>> = {
  // a refund is an object of its own, with its own id and callbacks
  process_refund: { after: ['initiate_payment'], reference: 'paymentReference', reads: false },
  verify_payment: { after: ['initiate_payment'], reference: 'paymentReference', reads: true },
  track_signature: { after: ['request_signature'], reference: 'signatureReference', reads: true },
};

/**
 * Capabilities whose providerReference is the reference they read, not something they made: the
 * provider's callbacks about it belong to the operation that made it (tracking.ts).
 */
export const REFERENCE_READS: readonly string[] = Object.keys(FOLLOW_UPS).filter((c) => FOLLOW_UPS[c]!.reads);

/** The stored form of a request's input, with every problem found (empty when it is valid). */
export function checkOperationInput(capability: string, input: Record<string, unknown>): { input: OperationInput; errors: FieldError[] } {
  const check = CAPABILITY_INPUTS[capability];
  if (!check) return { input: {}, errors: [{ path: ['capability'], message: `"${capability}" is not a capability operations run` }] };
  const errors: FieldError[] = [];
  return { input: check(input, errors), errors };
}

/** Checks the options every operation input takes. */
export function checkOperationOptions(options: { idempotencyKey?: string | null; waitSeconds?: number | null }): FieldError[] {
  const errors: FieldError[] = [];
  const key = options.idempotencyKey;
  if (key != null && (key.length === 0 || key.length > OPERATION_LIMITS.idempotencyKeyChars || !IDEMPOTENCY_KEY.test(key))) {
    errors.push({
      path: ['idempotencyKey'],
      message: `must be 1 to ${OPERATION_LIMITS.idempotencyKeyChars} visible ASCII characters (no spaces), e.g. a UUID`,
    });
  }
  const wait = options.waitSeconds;
  if (wait != null && (!Number.isInteger(wait) || wait < 0 || wait > OPERATION_LIMITS.waitSeconds)) {
    errors.push({ path: ['waitSeconds'], message: `must be a whole number from 0 to ${OPERATION_LIMITS.waitSeconds}` });
  }
  return errors;
}
