/**
 * SendGrid (Twilio SendGrid). One global origin; mail has a sandbox flag, not a sandbox host.
 * Check: `GET /v3/scopes` with the API key as a Bearer token: it lists the key's own scopes and
 * needs none, so any valid key passes (401 when bad or revoked). Inbound Event Webhook posts are
 * ECDSA-signed; `webhook_verification_key` is the public key SendGrid shows for checking them.
 *
 * Inbound (Signed Event Webhook; sendgrid-nodejs packages/eventwebhook): `X-Twilio-Email-Event-
 * Webhook-Signature` is a base64 DER ECDSA P-256/SHA-256 signature of `timestamp + rawBody`,
 * the timestamp being `X-Twilio-Email-Event-Webhook-Timestamp`; the key is base64 DER SPKI with
 * no PEM armour. SendGrid documents no replay window: we apply the same 300 s as Stripe. The
 * body is an array of events, one InboundEvent each: id `sg_event_id` (else `<sha256 of the
 * body>:<index>`), type `event` (delivered, open, bounce…).
 */

import type { KeyObject } from 'node:crypto';
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import { check, json, textOf } from './http.ts';
import { header, isRecord, parseJson, textAt } from './inbound/body.ts';
import { sha256Hex } from './inbound/crypto.ts';
import { accepted, badRequest, missingSecret, secretOf, unauthorized } from './inbound/results.ts';
import { isFresh, TIMESTAMP_TOLERANCE_SECONDS } from './inbound/timestamp.ts';
import type { InboundEvent, InboundVerifier, OperationAdapter, ProviderDefinition } from './types.ts';
import { KEY_SHAPES, NO_WHITESPACE } from './types.ts';

/** The verification key, or undefined when it is not a base64 DER SPKI public key. */
export function sendgridPublicKey(base64Der: string): KeyObject | undefined {
  try {
    return createPublicKey({ key: Buffer.from(base64Der, 'base64'), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

/** True when `signature` (base64 DER ECDSA) signs `timestamp + rawBody` under `key`. */
export function sendgridSignatureValid(key: KeyObject, timestamp: string, rawBody: Buffer, signature: string): boolean {
  try {
    const signed = Buffer.concat([Buffer.from(timestamp), rawBody]);
    return verifySignature('sha256', signed, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
  } catch {
    return false; // a key of another type or a malformed signature
  }
}

export const sendgridInbound: InboundVerifier = {
  verify(req, credentials, now) {
    const keyText = secretOf(credentials, 'webhook_verification_key');
    if (!keyText) return missingSecret('webhook_verification_key');
    const key = sendgridPublicKey(keyText);
    if (!key) return unauthorized('webhook_verification_key is not a base64 DER public key');
    const signature = header(req, 'x-twilio-email-event-webhook-signature');
    const timestamp = header(req, 'x-twilio-email-event-webhook-timestamp');
    if (!signature || !timestamp) return unauthorized('missing X-Twilio-Email-Event-Webhook-Signature or -Timestamp');
    if (!sendgridSignatureValid(key, timestamp, req.rawBody, signature)) {
      return unauthorized('event webhook signature does not verify with the webhook_verification_key');
    }
    if (!isFresh(timestamp, now)) {
      return unauthorized(`event webhook timestamp is more than ${TIMESTAMP_TOLERANCE_SECONDS} s from now`);
    }
    const body = parseJson(req);
    if (!body.ok) return body;
    if (!Array.isArray(body.value)) return badRequest('body is not a JSON array of events');
    const bodyHash = sha256Hex(req.rawBody);
    const events: InboundEvent[] = [];
    for (const [index, item] of body.value.entries()) {
      const type = textAt(item, 'event');
      if (!isRecord(item) || !type) return badRequest(`event ${index} has no event type`);
      events.push({ id: textAt(item, 'sg_event_id') ?? `${bodyHash}:${index}`, type, payload: item });
    }
    return accepted(events);
  },
};

/**
 * Sends an email: `POST /v3/mail/send` with the API key as a Bearer token, JSON
 * `personalizations[0].to`, `from`, `subject`, `content` (text/plain before text/html, as the API
 * requires) and `custom_args.operation_id`, which SendGrid copies onto every Event Webhook event
 * of the message. Answers 202 with an empty body; the `X-Message-Id` header names the message
 * (events carry it as the first part of `sg_message_id`).
 */
export const sendgridSendEmail: OperationAdapter = {
  request(input, credentials, ctx) {
    const from: Record<string, string> = { email: String(credentials.from_email) };
    if (credentials.from_name) from.name = String(credentials.from_name);
    const content: { type: string; value: string }[] = [];
    if (typeof input.text === 'string') content.push({ type: 'text/plain', value: input.text });
    if (typeof input.html === 'string') content.push({ type: 'text/html', value: input.html });
    const to = (input.to as string[]).map((email) => ({ email }));
    return {
      method: 'POST',
      url: `${ctx.origin('https://api.sendgrid.com')}/v3/mail/send`,
      headers: { authorization: `Bearer ${credentials.api_key}`, ...json.headers },
      body: json.encode({
        personalizations: [{ to }],
        from,
        subject: String(input.subject),
        content,
        custom_args: { operation_id: ctx.operationId },
      }),
    };
  },
  parse(answer) {
    const messageId = textOf(answer.headers.get('x-message-id'));
    if (!messageId) throw new Error('SendGrid answered without an X-Message-Id header');
    return { providerReference: messageId, result: { messageId, status: 'accepted' } };
  },
};

export const sendgrid: ProviderDefinition = {
  name: 'sendgrid',
  displayName: 'SendGrid',
  description: 'Transactional email through the Twilio SendGrid v3 Mail Send API, with signed event webhooks.',
  docsUrl: 'https://www.twilio.com/docs/sendgrid/ui/account-and-settings/api-keys',
  badge: { monogram: 'SG', color: '#1A82E2' },
  category: 'EMAIL',
  capabilities: ['send_email'],
  credentialSchema: [
    {
      key: 'api_key',
      label: 'API key',
      type: 'STRING',
      sensitive: true,
      required: true,
      // SendGrid's keys are SG.<id>.<secret>, but only verification says whether one is: refused
      // here are keys of other kinds, recognizable by their prefix
      mistakes: [
        NO_WHITESPACE,
        { pattern: KEY_SHAPES.openai, hint: 'this is an OpenAI API key (sk-…), not a SendGrid API key (SG.…)' },
        { pattern: KEY_SHAPES.stripe, hint: 'this is a Stripe key (pk_…, sk_…, rk_…), not a SendGrid API key (SG.…)' },
      ],
      description: 'A SendGrid API key with at least the Mail Send permission.',
    },
    {
      key: 'from_email',
      label: 'From email',
      type: 'STRING',
      sensitive: false,
      required: true,
      authenticates: false,
      description: 'The verified sender address emails are sent from.',
    },
    {
      key: 'from_name',
      label: 'From name',
      type: 'STRING',
      sensitive: false,
      required: false,
      authenticates: false,
      description: 'The display name shown with the sender address.',
    },
    {
      key: 'webhook_verification_key',
      label: 'Event webhook verification key',
      type: 'STRING',
      sensitive: false,
      required: false,
      authenticates: false,
      mistakes: [
        {
          // not sensitive, so stored in clear and returned: an API key must not land here
          pattern: KEY_SHAPES.sendgrid,
          hint: 'this is an API key (SG.…); the verification key is the public key SendGrid shows for the Signed Event Webhook',
        },
      ],
      description: 'Public ECDSA key (base64) of the Signed Event Webhook; verifies inbound event posts.',
    },
  ],
  verify: (credentials, ctx) =>
    check('SendGrid', ctx, {
      url: `${ctx.origin('https://api.sendgrid.com')}/v3/scopes`,
      headers: { authorization: `Bearer ${credentials.api_key}` },
    }),
  inbound: sendgridInbound,
  operations: { send_email: sendgridSendEmail },
  deliveryUpdate(event) {
    const status = textAt(event.payload, 'event');
    if (!status) return null;
    const operationId = textAt(event.payload, 'operation_id');
    // sg_message_id is "<X-Message-Id>.<filter and recipient parts>"
    const providerReference = textAt(event.payload, 'sg_message_id')?.split('.', 1)[0];
    return operationId || providerReference ? { operationId, providerReference, status } : null;
  },
};
