/**
 * Adobe Acrobat Sign (REST v6). Sandbox and production have separate discovery hosts. Check:
 * `GET /api/rest/v6/baseUris` with the OAuth access token (or legacy integration key) as a
 * Bearer token: it accepts any scope and returns the account's shard, so any valid token passes
 * (401 when bad or expired). `x-api-user: email:<addr>` acts as that user when set. Inbound
 * webhooks are not signed: Adobe sends `X-AdobeSign-ClientId`, which must equal `client_id`
 * and be echoed back.
 */
import { check } from './http.ts';
import { E_SIGNATURE_COMMON_FIELDS, environmentOrigin } from './types.ts';
import type { ProviderDefinition } from './types.ts';

const ORIGINS = { stage: 'https://api.adobesignsandbox.com', production: 'https://api.adobesign.com' };

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
};
