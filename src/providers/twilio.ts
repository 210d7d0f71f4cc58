/**
 * Twilio. One origin for test and live (the credentials decide). Check: `GET
 * /2010-04-01/Accounts/{AccountSid}.json` with Basic `AccountSid:AuthToken`, the account's own
 * record and the cheapest authenticated read; a bad pair answers 401 (error 20003). The Auth
 * Token is also what signs inbound webhooks (`X-Twilio-Signature`), so no extra field is needed.
 *
 * Inbound (scheme in inbound/twilio-signature.ts): message status callbacks carry
 * MessageSid/SmsSid and MessageStatus/SmsStatus and become `message.<status>` with id
 * `<sid>:<status>`, since Twilio posts one callback per status of one message; incoming messages
 * (a Body and no status) become `message.received` with the MessageSid as id. Anything else
 * Twilio might post (voice, conversations) is not a message callback: 400.
 */
import { basicAuth, check, form, json, textOf } from './http.ts';
import { textAt } from './inbound/body.ts';
import { accepted, badRequest, missingSecret, secretOf } from './inbound/results.ts';
import { verifyTwilioRequest } from './inbound/twilio-signature.ts';
import type {
  CredentialField,
  Credentials,
  DeliveryUpdate,
  InboundEvent,
  InboundVerifier,
  OperationAdapter,
  ProviderDefinition,
  VerifyContext,
  VerifyResult,
} from './types.ts';
import { NO_WHITESPACE, SMS_SENDER } from './types.ts';

/** The account fields Twilio-backed providers share (see whatsapp-twilio.ts). */
export const TWILIO_ACCOUNT_FIELDS: readonly CredentialField[] = [
  {
    key: 'account_sid',
    label: 'Account SID',
    type: 'STRING',
    sensitive: false,
    required: true,
    // Not a must-match pattern (real SIDs are AC + 32 hex): a wrong SID fails verification with a
    // clear error. Refused here are the other values of the same Console page that look like one.
    mistakes: [
      NO_WHITESPACE,
      {
        pattern: /^SK[0-9a-fA-F]{32}$/,
        hint: 'this is an API key SID (SK…), not the Account SID (AC…, shown under Account info in the Console)',
      },
      {
        // stored in clear and returned: an Auth Token must not land here
        pattern: /^[0-9a-fA-F]{32}$/,
        hint: 'looks like an Auth Token (32 hexadecimal characters and no prefix); it goes in auth_token, and the Account SID looks like AC…',
      },
    ],
    description: 'Identifies the Twilio account (Console → Account info); it looks like AC followed by 32 hexadecimal characters.',
  },
  {
    key: 'auth_token',
    label: 'Auth Token',
    type: 'STRING',
    sensitive: true,
    required: true,
    mistakes: [NO_WHITESPACE, { pattern: /^(AC|SK)[0-9a-fA-F]{32}$/, hint: 'this is a SID (AC… or SK…), not the Auth Token' }],
    description: "The account's primary Auth Token; authenticates API calls and signs inbound webhooks.",
  },
];

/** Reads the account record with the SID/token pair. */
export function verifyTwilioAccount(displayName: string, credentials: Credentials, ctx: VerifyContext): Promise<VerifyResult> {
  const sid = String(credentials.account_sid);
  return check(displayName, ctx, {
    url: `${ctx.origin('https://api.twilio.com')}/2010-04-01/Accounts/${encodeURIComponent(sid)}.json`,
    headers: { authorization: basicAuth(sid, String(credentials.auth_token)) },
  });
}

/** Twilio messaging callbacks, for every provider whose `auth_token` is a Twilio Auth Token. */
export const twilioInbound: InboundVerifier = {
  verify(req, credentials) {
    const authToken = secretOf(credentials, 'auth_token');
    if (!authToken) return missingSecret('auth_token');
    const fields = verifyTwilioRequest(req, authToken);
    if (!fields.ok) return fields;
    const payload = fields.value;
    const sid = textAt(payload, 'MessageSid') ?? textAt(payload, 'SmsSid');
    const status = textAt(payload, 'MessageStatus') ?? textAt(payload, 'SmsStatus');
    if (!sid) return badRequest('not a Twilio message callback: no MessageSid or SmsSid');
    if (status) return accepted([{ id: `${sid}:${status}`, type: `message.${status}`, payload }]);
    if (typeof payload.Body === 'string') return accepted([{ id: sid, type: 'message.received', payload }]);
    return badRequest('Twilio message callback has neither a status nor a Body');
  },
};

const WHATSAPP = 'whatsapp:';

/**
 * Sends a message: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form `To`, `From`,
 * `Body` and `StatusCallback` (the integration's inbound URL, where Twilio posts each status).
 * WhatsApp is the same call with both numbers written `whatsapp:+E164`. Answers 201 with the
 * Message resource; its `sid` is the reference status callbacks carry.
 */
export function twilioMessage(channel: 'sms' | 'whatsapp'): OperationAdapter {
  const address = (number: string) => (channel === 'whatsapp' && !number.startsWith(WHATSAPP) ? `${WHATSAPP}${number}` : number);
  return {
    request(input, credentials, ctx) {
      const sid = String(credentials.account_sid);
      return {
        method: 'POST',
        url: `${ctx.origin('https://api.twilio.com')}/2010-04-01/Accounts/${encodeURIComponent(sid)}/Messages.json`,
        headers: { authorization: basicAuth(sid, String(credentials.auth_token)), ...form.headers },
        body: form.encode({
          To: address(String(input.to)),
          From: address(String(credentials.from_number)),
          Body: String(input.body),
          StatusCallback: ctx.callbackUrl,
        }),
      };
    },
    parse(answer) {
      const body = json.object(answer.body);
      const sid = textOf(body.sid);
      if (!sid) throw new Error('Twilio answered without a message sid');
      return { providerReference: sid, result: { messageId: sid, status: textOf(body.status) ?? 'queued' } };
    },
  };
}

/** A message status callback (`message.<status>`) names the message by its sid. */
export function twilioDeliveryUpdate(event: InboundEvent): DeliveryUpdate | null {
  const sid = textAt(event.payload, 'MessageSid') ?? textAt(event.payload, 'SmsSid');
  const status = textAt(event.payload, 'MessageStatus') ?? textAt(event.payload, 'SmsStatus');
  return sid && status ? { providerReference: sid, status } : null;
}

export const twilio: ProviderDefinition = {
  name: 'twilio',
  displayName: 'Twilio',
  description: 'SMS and WhatsApp messages through Twilio Programmable Messaging, with signed status callbacks.',
  // Twilio's own article on the Account SID and Auth Token (support.twilio.com now redirects to help.twilio.com)
  docsUrl: 'https://support.twilio.com/hc/en-us/articles/223136027-Auth-Tokens-and-How-to-Change-Them',
  badge: { monogram: 'T', color: '#F22F46' },
  category: 'COMMUNICATION',
  capabilities: ['send_sms', 'send_whatsapp'],
  credentialSchema: [
    ...TWILIO_ACCOUNT_FIELDS,
    {
      key: 'from_number',
      label: 'From number',
      type: 'STRING',
      sensitive: false,
      required: true,
      // the sender of each message, not a credential
      authenticates: false,
      ...SMS_SENDER,
      description: 'The Twilio phone number (E.164) or alphanumeric sender ID messages are sent from.',
    },
  ],
  verify: (credentials, ctx) => verifyTwilioAccount('Twilio', credentials, ctx),
  inbound: twilioInbound,
  operations: { send_sms: twilioMessage('sms'), send_whatsapp: twilioMessage('whatsapp') },
  deliveryUpdate: twilioDeliveryUpdate,
};
