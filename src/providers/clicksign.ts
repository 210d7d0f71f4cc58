/**
 * Clicksign (Brazil), API v3 "Envelope". Sandbox and production are separate hosts with separate
 * tokens. Check: `GET /api/v3/envelopes?page[size]=1`, the docs' own authentication test, with
 * the raw token in `Authorization` (v3 takes no Bearer prefix) and the JSON:API media type; a
 * missing or invalid token answers 401. Inbound webhooks carry `Content-Hmac: sha256=<hex>`,
 * an HMAC-SHA256 of the body keyed with the webhook's secret (`hmac_secret`).
 *
 * Inbound (developers.clicksign.com/v2.1/docs/seguranca-de-webhooks): the `Content-Hmac` hex
 * HMAC of the raw body as above; the `Event` header is not signed and is ignored. Nothing is
 * timestamped. Body `{ event: { name, occurred_at, … }, document: { key, … } }`: type =
 * event.name, id = `<document.key>:<event.name>:<event.occurred_at>`, else the body's sha256.
 */
import { check } from './http.ts';
import { header, parseJsonObject, textAt } from './inbound/body.ts';
import { hmac, safeEqual, sha256Hex } from './inbound/crypto.ts';
import { accepted, badRequest, missingSecret, secretOf, unauthorized } from './inbound/results.ts';
import type { InboundVerifier, ProviderDefinition } from './types.ts';
import { E_SIGNATURE_COMMON_FIELDS, environmentOrigin } from './types.ts';

const ORIGINS = { stage: 'https://sandbox.clicksign.com', production: 'https://app.clicksign.com' };

export const clicksignInbound: InboundVerifier = {
  verify(req, credentials) {
    const secret = secretOf(credentials, 'hmac_secret');
    if (!secret) return missingSecret('hmac_secret');
    const given = header(req, 'content-hmac');
    if (!given) return unauthorized('missing Content-Hmac header');
    const expected = `sha256=${hmac('sha256', secret, req.rawBody).toString('hex')}`;
    if (!safeEqual(expected, given.toLowerCase())) return unauthorized('Content-Hmac does not match the hmac_secret');
    const body = parseJsonObject(req);
    if (!body.ok) return body;
    const type = textAt(body.value, 'event', 'name');
    if (!type) return badRequest('Clicksign webhook has no event.name');
    const documentKey = textAt(body.value, 'document', 'key');
    const occurredAt = textAt(body.value, 'event', 'occurred_at');
    const id = documentKey && occurredAt ? `${documentKey}:${type}:${occurredAt}` : sha256Hex(req.rawBody);
    return accepted([{ id, type, payload: body.value }]);
  },
};

export const clicksign: ProviderDefinition = {
  name: 'clicksign',
  displayName: 'Clicksign',
  category: 'E_SIGNATURE',
  capabilities: ['request_signature', 'track_signature'],
  credentialSchema: [
    {
      key: 'access_token',
      label: 'Access token',
      type: 'STRING',
      sensitive: true,
      required: true,
      description: "The account's API access token for the chosen environment (Settings → API).",
    },
    {
      key: 'hmac_secret',
      label: 'Webhook HMAC secret',
      type: 'STRING',
      sensitive: true,
      required: false,
      description: "The webhook's HMAC SHA256 secret; verifies the Content-Hmac header of inbound events.",
    },
    ...E_SIGNATURE_COMMON_FIELDS,
  ],
  verify: (credentials, ctx) =>
    check('Clicksign', ctx, {
      // `page[size]=1` with its brackets percent-encoded, as URLSearchParams writes it.
      url: `${ctx.origin(environmentOrigin(credentials, ORIGINS))}/api/v3/envelopes?page%5Bsize%5D=1`,
      headers: { authorization: String(credentials.access_token), accept: 'application/vnd.api+json' },
    }),
  inbound: clicksignInbound,
};
