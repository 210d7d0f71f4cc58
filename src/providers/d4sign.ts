/**
 * D4Sign (Brazil). Sandbox and production are separate hosts. Every call authenticates in the
 * query string: `tokenAPI`, plus `cryptKey` when the account has it enabled. Check: `GET
 * /api/v1/account/balance`, a read with no side effects (the status D4Sign gives a bad token,
 * 400/401/403, is undocumented; all are permanent failures). Inbound POSTbacks carry
 * `Content-Hmac: sha256=<hex>`, an HMAC-SHA256 of the document UUID keyed with `hmac_secret`.
 */
import { check } from './http.ts';
import { E_SIGNATURE_COMMON_FIELDS, environmentOrigin } from './types.ts';
import type { ProviderDefinition } from './types.ts';

const ORIGINS = { stage: 'https://sandbox.d4sign.com.br', production: 'https://secure.d4sign.com.br' };

export const d4sign: ProviderDefinition = {
  name: 'd4sign',
  displayName: 'D4Sign',
  category: 'E_SIGNATURE',
  capabilities: ['request_signature', 'track_signature'],
  credentialSchema: [
    {
      key: 'token_api',
      label: 'API token',
      type: 'STRING',
      sensitive: true,
      required: true,
      description: 'The tokenAPI from the Dev API menu of the chosen environment.',
    },
    {
      key: 'crypt_key',
      label: 'Crypt key',
      type: 'STRING',
      sensitive: true,
      required: false,
      description: 'The cryptKey from the Dev API menu; needed only when enabled on the account.',
    },
    {
      key: 'hmac_secret',
      label: 'Webhook HMAC secret',
      type: 'STRING',
      sensitive: true,
      required: false,
      description: "The account's Secret Key MAC; verifies the Content-Hmac header of inbound POSTbacks.",
    },
    ...E_SIGNATURE_COMMON_FIELDS,
  ],
  verify: (credentials, ctx) => {
    const query = new URLSearchParams({ tokenAPI: String(credentials.token_api) });
    if (credentials.crypt_key) query.set('cryptKey', String(credentials.crypt_key));
    return check('D4Sign', ctx, {
      url: `${ctx.origin(environmentOrigin(credentials, ORIGINS))}/api/v1/account/balance?${query}`,
      headers: { accept: 'application/json' },
    });
  },
};
