/**
 * SendGrid (Twilio SendGrid). One global origin; mail has a sandbox flag, not a sandbox host.
 * Check: `GET /v3/scopes` with the API key as a Bearer token: it lists the key's own scopes and
 * needs none, so any valid key passes (401 when bad or revoked). Inbound Event Webhook posts are
 * ECDSA-signed; `webhook_verification_key` is the public key SendGrid shows for checking them.
 */
import { check } from './http.ts';
import type { ProviderDefinition } from './types.ts';

export const sendgrid: ProviderDefinition = {
  name: 'sendgrid',
  displayName: 'SendGrid',
  category: 'EMAIL',
  capabilities: ['send_email'],
  credentialSchema: [
    {
      key: 'api_key',
      label: 'API key',
      type: 'STRING',
      sensitive: true,
      required: true,
      pattern: /^SG\./,
      patternHint: 'starts with SG.',
      description: 'A SendGrid API key with at least the Mail Send permission.',
    },
    {
      key: 'from_email',
      label: 'From email',
      type: 'STRING',
      sensitive: false,
      required: true,
      description: 'The verified sender address emails are sent from.',
    },
    {
      key: 'from_name',
      label: 'From name',
      type: 'STRING',
      sensitive: false,
      required: false,
      description: 'The display name shown with the sender address.',
    },
    {
      key: 'webhook_verification_key',
      label: 'Event webhook verification key',
      type: 'STRING',
      sensitive: false,
      required: false,
      description: 'Public ECDSA key (base64) of the Signed Event Webhook; verifies inbound event posts.',
    },
  ],
  verify: (credentials, ctx) =>
    check('SendGrid', ctx, {
      url: `${ctx.origin('https://api.sendgrid.com')}/v3/scopes`,
      headers: { authorization: `Bearer ${credentials.api_key}` },
    }),
};
