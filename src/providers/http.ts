/**
 * The one way provider adapters call out: a fetch bounded by the verification timeout whose
 * outcome is classified into a VerifyResult. Reasons name the provider and the HTTP status,
 * never a credential or the response body (which may echo one).
 */
import { USER_AGENT } from './client.ts';
import type { VerifyContext, VerifyResult } from './types.ts';

export interface ProviderRequest {
  method?: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * Policy: 2xx accepted; 401/403 the credentials are refused; other 4xx (wrong account id,
 * unknown resource) are permanent too; 408, 429 and 5xx are transient and retried.
 */
export function classifyStatus(displayName: string, status: number): VerifyResult {
  if (status >= 200 && status < 300) return { ok: true };
  if (status === 401 || status === 403) {
    return { ok: false, permanent: true, reason: `${displayName} rejected the credentials (HTTP ${status})` };
  }
  if (status === 408 || status === 429 || status >= 500) {
    return { ok: false, permanent: false, reason: `${displayName} API unavailable (HTTP ${status})` };
  }
  return { ok: false, permanent: true, reason: `${displayName} refused the check (HTTP ${status})` };
}

export async function send(ctx: VerifyContext, request: ProviderRequest): Promise<Response> {
  return fetch(request.url, {
    method: request.method ?? 'GET',
    headers: { 'user-agent': USER_AGENT, ...request.headers },
    body: request.body,
    signal: ctx.signal,
    redirect: 'manual',
  });
}

/** Sends the request and classifies the response; network errors and timeouts are transient. */
export async function check(displayName: string, ctx: VerifyContext, request: ProviderRequest): Promise<VerifyResult> {
  try {
    const response = await send(ctx, request);
    await response.body?.cancel();
    return classifyStatus(displayName, response.status);
  } catch (err) {
    return networkFailure(displayName, err);
  }
}

export function networkFailure(displayName: string, err: unknown): VerifyResult {
  const name = (err as Error)?.name;
  const reason =
    name === 'TimeoutError' || name === 'AbortError'
      ? `${displayName} API did not answer in time`
      : `${displayName} API unreachable (${(err as { cause?: { code?: string } })?.cause?.code ?? 'network error'})`;
  return { ok: false, permanent: false, reason };
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** Form bodies (application/x-www-form-urlencoded), as Twilio and Stripe take them. */
export const form = {
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  encode: (fields: Record<string, string>) => new URLSearchParams(fields).toString(),
};

/** JSON bodies, and reading the JSON a provider answered. */
export const json = {
  headers: { 'content-type': 'application/json' },
  encode: (value: unknown) => JSON.stringify(value),
  /** The value as an object; anything else reads as an empty one. */
  object: (value: unknown): Record<string, unknown> =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {},
};

/** A non-empty string, or undefined. */
export function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Token and discovery answers are a few hundred bytes; anything past this is not one. */
export const MAX_SESSION_ANSWER_BYTES = 1 << 20;

/** The answer's body as text, up to `maxBytes`: past that the rest is dropped and null is the answer. */
export async function readTextBounded(response: Response, maxBytes: number): Promise<string | null> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The answer's JSON, read up to `maxBytes`: null when it is larger, unreadable or not JSON. */
export async function readJsonBounded(response: Response, maxBytes = MAX_SESSION_ANSWER_BYTES): Promise<unknown> {
  try {
    const text = await readTextBounded(response, maxBytes);
    return text === null ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * Why `url` may not receive a provider's tokens: not https, credentials in it, or a host that is
 * neither one of `domains` nor under one. Null when it may. The reason names the host only (a
 * path or query could carry anything).
 */
export function foreignHostReason(url: string, domains: readonly string[]): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  const host = parsed.hostname;
  if (parsed.protocol !== 'https:') return `${host || 'its host'} is not served over https`;
  if (parsed.username || parsed.password) return `${host} is given with credentials in the URL`;
  if (!domains.some((domain) => host === domain || host.endsWith(`.${domain}`))) {
    return `${host} is not under ${domains.join(', ')}`;
  }
  return null;
}
