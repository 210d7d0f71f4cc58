/**
 * Plivo. One origin (trial accounts instead of a sandbox). Check: `GET /v1/Account/{auth_id}/`
 * with Basic `auth_id:auth_token`, the account's own details; the trailing slash is part of the
 * path. The Auth Token also signs inbound callbacks (`X-Plivo-Signature-V2`/`-V3`).
 */
import { basicAuth, check } from './http.ts';
import type { ProviderDefinition } from './types.ts';

export const plivo: ProviderDefinition = {
  name: 'plivo',
  displayName: 'Plivo',
  category: 'COMMUNICATION',
  capabilities: ['send_sms'],
  credentialSchema: [
    {
      key: 'auth_id',
      label: 'Auth ID',
      type: 'STRING',
      sensitive: false,
      required: true,
      description: 'Identifies the Plivo account or subaccount (MA… or SA…, shown on the console overview).',
    },
    {
      key: 'auth_token',
      label: 'Auth Token',
      type: 'STRING',
      sensitive: true,
      required: true,
      description: "The account's Auth Token; authenticates API calls and signs inbound callbacks.",
    },
    {
      key: 'from_number',
      label: 'From number',
      type: 'STRING',
      sensitive: false,
      required: true,
      pattern: /^\+[1-9]\d{6,14}$/,
      patternHint: 'an E.164 number such as +14155550123',
      description: 'The Plivo number messages are sent from, in E.164 format.',
    },
  ],
  verify: (credentials, ctx) => {
    const authId = String(credentials.auth_id);
    return check('Plivo', ctx, {
      url: `${ctx.origin('https://api.plivo.com')}/v1/Account/${encodeURIComponent(authId)}/`,
      headers: { authorization: basicAuth(authId, String(credentials.auth_token)) },
    });
  },
};
