/**
 * One provider call of an operation and what it means (CONTRACT.md "Operations", behaviour 2):
 * 2xx succeeded; 401/403 the provider refused the credentials; a network error, a timeout, 408,
 * 429 and 5xx are transient; any other 4xx rejects the input. Error texts name the provider and
 * the status with the provider's own message, cut short, and never a credential value.
 */

import { redactValues } from '../log.ts';
import { type CallAnswer, sendCall } from '../providers/client.ts';
import type {
  Credentials,
  NextCall,
  OperationAdapter,
  OperationCallContext,
  OperationOutcome,
  ProviderAnswer,
  ProviderCall,
  ProviderDefinition,
  ProviderSession,
} from '../providers/types.ts';
import { parseRetryAfter } from '../webhooks/policy.ts';

export type AttemptOutcome = 'SUCCEEDED' | 'TRANSIENT_FAILURE' | 'AUTH_FAILURE' | 'REJECTED';

export interface CallResult {
  outcome: AttemptOutcome;
  startedAt: Date;
  durationMs: number;
  httpStatus: number | null;
  /** Set unless SUCCEEDED. */
  error: string | null;
  /** SUCCEEDED only. */
  succeeded?: OperationOutcome;
  /** A 429's Retry-After, in ms. */
  retryAfterMs?: number;
  /** What a sequence's first calls made before a later one failed (NextCall.madeReference). */
  madeReference?: string;
}

/** A provider answer larger than this is not read (an embedding of 3,072 floats is about 70 KB). */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_CHARS = 300;

function parseBody(text: string, contentType: string | null): unknown {
  if (!text) return null;
  if (contentType?.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** The provider's own error message, as Twilio, Plivo, SendGrid, OpenAI, Stripe and Clicksign write theirs. */
export function providerMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const error = b.error;
  const first = Array.isArray(b.errors) ? (b.errors[0] as unknown) : undefined;
  const errors = typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : undefined;
  const candidates = [
    typeof error === 'object' && error !== null ? (error as Record<string, unknown>).message : undefined,
    errors?.message,
    // Clicksign: { "errors": ["…"] }
    typeof first === 'string' ? first : undefined,
    b.message,
    typeof error === 'string' ? error : undefined,
  ];
  return candidates.find((c): c is string => typeof c === 'string' && c.trim() !== '');
}

/** Removes every secret, control characters, and cuts the text short. */
export function scrubbed(text: string, secrets: readonly string[]): string {
  const out = redactValues(text, secrets)
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .trim();
  return out.length > MAX_ERROR_CHARS ? `${out.slice(0, MAX_ERROR_CHARS)}…` : out;
}

/**
 * What an error text must never show: the sensitive credential values, the session's access token
 * and the Authorization header sent (a Basic header is the base64 of a secret). Account ids and
 * sender numbers stay readable.
 */
function secretsOf(provider: ProviderDefinition, credentials: Credentials, call: ProviderCall, session?: ProviderSession): string[] {
  const authorization = call.headers.authorization?.replace(/^(Basic|Bearer) /, '');
  return [...secretValues(provider, credentials), authorization, session?.accessToken].filter((v): v is string => typeof v === 'string');
}

/** The values of the provider's sensitive credential fields. */
export function secretValues(provider: ProviderDefinition, credentials: Credentials): string[] {
  return provider.credentialSchema
    .filter((f) => f.sensitive)
    .map((f) => credentials[f.key])
    .filter((v): v is string => typeof v === 'string');
}

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: string } } | undefined;
  return typeof e?.code === 'string' ? e.code : e?.cause?.code;
}

/** A reset of a reused connection, before any byte of an answer. */
function isStaleConnection(err: unknown): boolean {
  return ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'].includes(errorCode(err) ?? '');
}

function outcomeOf(status: number): AttemptOutcome {
  if (status >= 200 && status < 300) return 'SUCCEEDED';
  if (status === 401 || status === 403) return 'AUTH_FAILURE';
  if (status === 408 || status === 429 || status >= 500) return 'TRANSIENT_FAILURE';
  return 'REJECTED';
}

const WHAT: Record<Exclude<AttemptOutcome, 'SUCCEEDED'>, string> = {
  AUTH_FAILURE: 'refused the credentials during an operation',
  TRANSIENT_FAILURE: 'is unavailable',
  REJECTED: 'rejected the request',
};

/**
 * The most calls one capability takes in sequence (upload, create, notify…): Clicksign's API takes
 * 1 + 3 per signer, 61 for the 20 signers a request may name.
 */
export const MAX_STEPS = 64;

/** The answer of one call, read; or why there was none. */
type Sent = CallAnswer | { failed: string };

async function sendOnce(call: ProviderCall, deadline: AbortSignal, timeoutMs: number): Promise<Sent> {
  const send = () => sendCall(call, deadline, MAX_ANSWER_BYTES);
  const again = (err: unknown): Promise<CallAnswer> => (isStaleConnection(err) ? send() : Promise.reject(err));
  try {
    // A kept-alive connection the provider closed while idle fails before any answer: that request
    // is made again, once, on a new connection (a reset then, or once an answer began, is a failure).
    return await send().catch(again);
  } catch (err) {
    const name = (err as Error)?.name;
    return {
      failed:
        name === 'TimeoutError' || name === 'AbortError' || deadline.aborted
          ? `did not answer within ${timeoutMs} ms`
          : `is unreachable (${errorCode(err) ?? 'network error'})`,
    };
  }
}

/**
 * Sends the capability's call (and the next ones, when it takes several) and classifies the
 * answer. `timeoutMs` bounds the whole sequence. Once a call of a sequence succeeded the provider
 * has acted, so a later failure is REJECTED: no other provider is tried and the walk is not
 * repeated (which would act twice). Never throws.
 */
export async function callProvider(
  provider: ProviderDefinition,
  adapter: OperationAdapter,
  input: Readonly<Record<string, unknown>>,
  credentials: Credentials,
  ctx: OperationCallContext,
  timeoutMs: number,
): Promise<CallResult> {
  const startedAt = new Date();
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let call: ProviderCall;
  try {
    call = adapter.request(input, credentials, ctx);
  } catch (err) {
    // an input the adapter cannot send (the checks let through what this provider refuses)
    const error = `${provider.displayName} cannot take this request: ${(err as Error).message}`;
    return {
      outcome: 'REJECTED',
      startedAt,
      durationMs: elapsed(),
      httpStatus: null,
      error: scrubbed(error, secretValues(provider, credentials)),
    };
  }
  let carry: Readonly<Record<string, unknown>> = {};
  let made: string | undefined;
  const deadline = AbortSignal.timeout(timeoutMs);
  for (let step = 1; ; step++) {
    const failure = (outcome: Exclude<AttemptOutcome, 'SUCCEEDED'>, httpStatus: number | null, error: string): CallResult => ({
      outcome: step > 1 ? 'REJECTED' : outcome,
      startedAt,
      durationMs: elapsed(),
      httpStatus,
      error: scrubbed(
        step > 1 ? `${error} (call ${step} of a sequence whose first calls succeeded: not tried elsewhere)` : error,
        secretsOf(provider, credentials, call, ctx.session),
      ),
      ...(made ? { madeReference: made } : {}),
    });
    const sent = await sendOnce(call, deadline, timeoutMs);
    if ('failed' in sent) return failure('TRANSIENT_FAILURE', null, `${provider.displayName} ${sent.failed}`);
    const { text, headers } = sent;
    const status = sent.status;
    const outcome = outcomeOf(status);
    if (text === null) {
      // a 2xx too large to read may still have acted, so like an unreadable 2xx (below) it is not failed over
      const tooLarge = `${provider.displayName} answered HTTP ${status} with more than ${MAX_ANSWER_BYTES} bytes`;
      return failure(outcome === 'SUCCEEDED' ? 'REJECTED' : 'TRANSIENT_FAILURE', status, tooLarge);
    }
    const body = parseBody(text, headers.get('content-type'));
    if (outcome !== 'SUCCEEDED') {
      const said = providerMessage(body);
      const result = failure(outcome, status, `${provider.displayName} ${WHAT[outcome]} (HTTP ${status})${said ? `: ${said}` : ''}`);
      if (status === 429 && step === 1) result.retryAfterMs = parseRetryAfter(headers.get('retry-after'), new Date()) ?? undefined;
      return result;
    }
    const answer: ProviderAnswer = { status, headers, body };
    let parsed: OperationOutcome | NextCall;
    try {
      parsed = adapter.parse(answer, { step, carry, input, credentials, ctx });
    } catch (err) {
      // a 2xx the adapter cannot read: the provider may have acted, so no other provider is tried
      return failure(
        'REJECTED',
        status,
        `${provider.displayName} answered HTTP ${status} in an unexpected form: ${(err as Error).message}`,
      );
    }
    if (!('next' in parsed)) return { outcome, startedAt, durationMs: elapsed(), httpStatus: status, error: null, succeeded: parsed };
    if (step >= MAX_STEPS) return failure('REJECTED', status, `${provider.displayName} took more than ${MAX_STEPS} calls`);
    call = parsed.next;
    carry = parsed.carry ?? {};
    made = parsed.madeReference ?? made;
  }
}
