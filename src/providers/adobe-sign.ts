/**
 * Adobe Acrobat Sign (REST v6). Sandbox and production have separate discovery hosts. Check:
 * `GET /api/rest/v6/baseUris` with the OAuth access token (or legacy integration key) as a
 * Bearer token: it accepts any scope and returns the account's shard, so any valid token passes
 * (401 when bad or expired). `x-api-user: email:<addr>` acts as that user when set. Inbound
 * webhooks are not signed: Adobe sends `X-AdobeSign-ClientId`, which must equal `client_id`
 * and be echoed back.
 *
 * Inbound (Acrobat Sign webhook guide): no payload signature and no timestamp. The check is
 * that `X-AdobeSign-ClientId` equals the integration's `client_id` (compared in constant time),
 * and the answer echoes it in the same header, without which Adobe counts a failed delivery and
 * retries. The client id is not secret, so this is weak on its own: the unguessable token in
 * the hook URL is what really keeps strangers out. The registration GET handshake is the
 * endpoint's job. JSON body: type = `event` (AGREEMENT_WORKFLOW_COMPLETED…), id =
 * `webhookNotificationId`, else the body's sha256.
 */
import { check } from './http.ts';
import { header, parseJsonObject, textAt } from './inbound/body.ts';
import { safeEqual, sha256Hex } from './inbound/crypto.ts';
import { accepted, badRequest, type InboundFailure, missingSecret, secretOf, unauthorized } from './inbound/results.ts';
import type { Credentials, InboundRequest, InboundVerifier, ProviderDefinition } from './types.ts';
import { E_SIGNATURE_COMMON_FIELDS, environmentOrigin } from './types.ts';

const ORIGINS = { stage: 'https://api.adobesignsandbox.com', production: 'https://api.adobesign.com' };

/** Acrobat Sign proves who it is only by sending our application's client id. */
function checkClientId(req: InboundRequest, credentials: Credentials): InboundFailure | string {
  const clientId = secretOf(credentials, 'client_id');
  if (!clientId) return missingSecret('client_id');
  const given = header(req, 'x-adobesign-clientid');
  if (!given) return unauthorized('missing X-AdobeSign-ClientId header');
  if (!safeEqual(clientId, given)) return unauthorized('X-AdobeSign-ClientId does not match the client_id');
  return clientId;
}

export const adobeSignInbound: InboundVerifier = {
  /** Registration: Acrobat Sign GETs the URL and expects its client id echoed back. */
  handshake(req, credentials) {
    const clientId = checkClientId(req, credentials);
    if (typeof clientId !== 'string') return clientId;
    return accepted([], { headers: { 'X-AdobeSign-ClientId': clientId }, body: JSON.stringify({ xAdobeSignClientId: clientId }) });
  },
  verify(req, credentials) {
    const clientId = checkClientId(req, credentials);
    if (typeof clientId !== 'string') return clientId;
    const body = parseJsonObject(req);
    if (!body.ok) return body;
    const type = textAt(body.value, 'event');
    if (!type) return badRequest('Acrobat Sign notification has no event field');
    const id = textAt(body.value, 'webhookNotificationId') ?? sha256Hex(req.rawBody);
    // Echoed so Adobe counts the delivery as received (else it retries).
    return accepted([{ id, type, payload: body.value }], { headers: { 'X-AdobeSign-ClientId': clientId } });
  },
};

export const adobeSign: ProviderDefinition = {
  name: 'adobe_sign',
  displayName: 'Adobe Acrobat Sign',
  category: 'E_SIGNATURE',
  capabilities: ['request_signature', 'track_signature'],
  credentialSchema: [
    {
      key: 'access_token',
      label: 'Access token',
      type: 'STRING',
      sensitive: true,
      required: true,
      description: 'OAuth access token or legacy integration key; sent as a Bearer token.',
    },
    {
      key: 'client_id',
      label: 'Application ID',
      type: 'STRING',
      sensitive: false,
      required: false,
      description: "The API application's client ID; answers the X-AdobeSign-ClientId webhook check.",
    },
    {
      key: 'api_user_email',
      label: 'API user email',
      type: 'STRING',
      sensitive: false,
      required: false,
      description: 'When set, calls act as this user (sent as x-api-user: email:<address>).',
    },
    ...E_SIGNATURE_COMMON_FIELDS,
  ],
  verify: (credentials, ctx) => {
    const headers: Record<string, string> = { authorization: `Bearer ${credentials.access_token}` };
    if (credentials.api_user_email) headers['x-api-user'] = `email:${credentials.api_user_email}`;
    return check('Adobe Acrobat Sign', ctx, {
      url: `${ctx.origin(environmentOrigin(credentials, ORIGINS))}/api/rest/v6/baseUris`,
      headers,
    });
  },
  inbound: adobeSignInbound,
};
