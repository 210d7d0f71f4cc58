/**
 * WhatsApp through Twilio. Same account, origin and check as Twilio (`GET
 * /2010-04-01/Accounts/{AccountSid}.json`, Basic `AccountSid:AuthToken`): Twilio has no separate
 * WhatsApp credential. Only the sender differs: a WhatsApp-enabled number written `whatsapp:+E164`.
 * Inbound callbacks are Twilio's too (same signature, same message events; `From`/`To` read
 * `whatsapp:+E164`), so the Twilio verifier is reused as is.
 */
import { TWILIO_ACCOUNT_FIELDS, twilioDeliveryUpdate, twilioInbound, twilioMessage, verifyTwilioAccount } from './twilio.ts';
import type { ProviderDefinition } from './types.ts';

export const whatsappTwilio: ProviderDefinition = {
  name: 'whatsapp_twilio',
  displayName: 'WhatsApp (Twilio)',
  description: 'WhatsApp messages sent from a WhatsApp-enabled Twilio sender, with signed status callbacks.',
  docsUrl: 'https://www.twilio.com/docs/whatsapp/quickstart',
  badge: { monogram: 'WA', color: '#25D366' },
  category: 'COMMUNICATION',
  capabilities: ['send_whatsapp'],
  credentialSchema: [
    ...TWILIO_ACCOUNT_FIELDS,
    {
      key: 'from_number',
      label: 'WhatsApp sender',
      type: 'STRING',
      sensitive: false,
      required: true,
      authenticates: false,
      // sent as whatsapp:+E164 (twilioMessage adds the prefix when it is left out)
      pattern: /^(whatsapp:)?\+[1-9]\d{6,14}$/,
      patternHint: 'an E.164 number (+ then 7 to 15 digits, the first not 0), optionally after whatsapp:, e.g. whatsapp:+14155238886',
      description: 'The WhatsApp-enabled Twilio sender messages come from, as whatsapp:+E164 (or +E164).',
    },
  ],
  verify: (credentials, ctx) => verifyTwilioAccount('WhatsApp (Twilio)', credentials, ctx),
  inbound: twilioInbound,
  operations: { send_whatsapp: twilioMessage('whatsapp') },
  deliveryUpdate: twilioDeliveryUpdate,
};
