/**
 * Clicksign (Brazil), API v3 "Envelope". Sandbox and production are separate hosts with separate
 * tokens. Check: `GET /api/v3/envelopes?page[size]=1`, the docs' own authentication test, with
 * the raw token in `Authorization` (v3 takes no Bearer prefix) and the JSON:API media type; a
 * missing or invalid token answers 401. Inbound webhooks carry `Content-Hmac: sha256=<hex>`,
 * an HMAC-SHA256 of the body keyed with the webhook's secret (`hmac_secret`).
 */
import { check } from './http.ts';
import { E_SIGNATURE_COMMON_FIELDS, environmentOrigin } from './types.ts';
import type { ProviderDefinition } from './types.ts';

const ORIGINS = { stage: 'https://sandbox.clicksign.com', production: 'https://app.clicksign.com' };

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
};
