/**
 * Twilio's request signature, `X-Twilio-Signature`, for every Twilio-backed provider (twilio,
 * whatsapp_twilio). Source: twilio.com/docs/usage/security and twilio-node's
 * lib/webhooks/webhooks.ts, whose behaviour this follows where the docs are silent.
 *
 * Policy:
 * - Form POSTs: base64 HMAC-SHA1, keyed with the Auth Token, of the full URL followed by every
 *   POST parameter sorted by name, each written `name` + `value` with no delimiter (repeated
 *   names: distinct values, sorted, as twilio-node does).
 * - JSON bodies: Twilio adds `bodySHA256=<hex sha256 of the body>` to the URL and signs the URL
 *   alone; the body must then hash to that value. A URL with `bodySHA256` is checked this way
 *   whatever the Content-Type says (twilio-node decides the same way).
 * - The URL is tried as given, without its port and with the scheme's default port, because
 *   Twilio keeps the port for some products and drops it for others (twilio-node tries both).
 * - No timestamp is signed, so there is no replay window: duplicates are dropped by event id.
 */

import type { InboundRequest } from '../types.ts';
import type { Fields, Parsed } from './body.ts';
import { isForm, isJson, parseForm, parseJsonObject } from './body.ts';
import { hmac, matchesAny, safeEqual, sha256Hex } from './crypto.ts';
import { badRequest, unauthorized } from './results.ts';

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The signature Twilio sends for `url` and (form POSTs only) `params`. */
export function twilioSignature(authToken: string, url: string, params: readonly (readonly [string, string])[] = []): string {
  const values = new Map<string, Set<string>>();
  for (const [name, value] of params) values.set(name, (values.get(name) ?? new Set()).add(value));
  let data = url;
  for (const name of [...values.keys()].sort(byCodeUnit)) {
    for (const value of [...values.get(name)!].sort(byCodeUnit)) data += name + value;
  }
  return hmac('sha1', authToken, data).toString('base64');
}

/** `url` as given, without its port, and with the scheme's default port. */
export function portVariants(url: string): string[] {
  const match = /^(https?:\/\/[^/?#]*?)(:\d+)?([/?#].*)?$/i.exec(url);
  if (!match) return [url];
  const [, origin = '', port, rest = ''] = match;
  const defaultPort = origin.toLowerCase().startsWith('https:') ? ':443' : ':80';
  return [...new Set([url, origin + rest, origin + (port ?? defaultPort) + rest])];
}

function bodySha256Of(url: string): string | null {
  try {
    return new URL(url).searchParams.get('bodySHA256');
  } catch {
    return null;
  }
}

/** Verifies the request and returns its fields (form parameters or the JSON object). */
export function verifyTwilioRequest(req: InboundRequest, authToken: string): Parsed<Fields> {
  const signature = req.headers['x-twilio-signature']?.trim();
  if (!signature) return unauthorized('missing X-Twilio-Signature header');
  const signedBy = (params?: [string, string][]) =>
    matchesAny(
      signature,
      portVariants(req.url).map((url) => twilioSignature(authToken, url, params)),
    );

  const bodyHash = bodySha256Of(req.url);
  if (bodyHash !== null) {
    if (!signedBy()) return unauthorized('X-Twilio-Signature does not match the auth_token');
    if (!safeEqual(sha256Hex(req.rawBody), bodyHash.toLowerCase())) {
      return unauthorized('body does not match the bodySHA256 in the signed URL');
    }
    return parseJsonObject(req);
  }
  if (isForm(req)) {
    const params = req.method.toUpperCase() === 'POST' ? parseForm(req) : [];
    if (!signedBy(params)) return unauthorized('X-Twilio-Signature does not match the auth_token');
    return { ok: true, value: Object.fromEntries(params) };
  }
  // Without bodySHA256 in the URL, nothing signed covers a JSON body.
  if (isJson(req)) return unauthorized('JSON callback URL has no bodySHA256, so its body is not signed');
  return badRequest('expected a form or JSON body');
}
