/**
 * Stripe. Keys decide test or live mode (one origin). Check: `GET /v1/balance` with the secret
 * (or restricted) key as a Bearer token, the cheapest authenticated read of the API.
 */
import { check } from './http.ts';
import type { ProviderDefinition } from './types.ts';

export const stripe: ProviderDefinition = {
  name: 'stripe',
  displayName: 'Stripe',
  category: 'PAYMENT',
  capabilities: ['initiate_payment', 'process_refund', 'verify_payment'],
  credentialSchema: [
    {
      key: 'publishable_key',
      label: 'Publishable key',
      type: 'STRING',
      sensitive: false,
      required: true,
      pattern: /^pk_(test|live)_[A-Za-z0-9]+$/,
      patternHint: 'starts with pk_test_ or pk_live_',
      description: 'Used by browsers and mobile apps to tokenize payment details.',
    },
    {
      key: 'secret_key',
      label: 'Secret key',
      type: 'STRING',
      sensitive: true,
      required: true,
      pattern: /^(sk|rk)_(test|live)_[A-Za-z0-9]+$/,
      patternHint: 'starts with sk_test_, sk_live_, rk_test_ or rk_live_',
      description: 'Secret or restricted API key; authenticates server-side calls.',
    },
    {
      key: 'webhook_secret',
      label: 'Webhook signing secret',
      type: 'STRING',
      sensitive: true,
      required: false,
      pattern: /^whsec_[A-Za-z0-9+/=_-]+$/,
      patternHint: 'starts with whsec_',
      description: "The endpoint's signing secret; verifies the Stripe-Signature of inbound events.",
    },
  ],
  verify: (credentials, ctx) =>
    check('Stripe', ctx, {
      url: `${ctx.origin('https://api.stripe.com')}/v1/balance`,
      headers: { authorization: `Bearer ${credentials.secret_key}` },
    }),
};
