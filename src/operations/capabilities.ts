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

function text(value: unknown, path: string, max: number, errors: FieldError[], unit: 'characters' | 'bytes' = 'characters'): string {
  const s = String(value ?? '');
  const size = unit === 'bytes' ? Buffer.byteLength(s) : [...s].length;
  if (size === 0) errors.push({ path: [path], message: 'must not be empty' });
  else if (size > max) errors.push({ path: [path], message: `must be at most ${max} ${unit} (got ${size})` });
  else if (CONTROL_IN_TEXT.test(s)) errors.push({ path: [path], message: 'must not contain control characters' });
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

/** Capability → its input check. */
export const CAPABILITY_INPUTS: Readonly<Record<string, Check>> = {
  send_sms: message,
  send_whatsapp: message,
  send_email: email,
  generate_text: generateText,
  create_embedding: createEmbedding,
};

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
