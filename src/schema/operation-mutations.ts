/**
 * The operation mutations: one per capability, each storing an operation that the worker runs
 * through the routed integrations. Every input also takes idempotencyKey and waitSeconds.
 */
import { builder } from '../builder.ts';
import { ConflictError, NoActiveProviderError, ValidationError } from '../errors.ts';
import type { Operation } from '../generated/prisma/client.ts';
import { OPERATION_LIMITS } from '../operations/capabilities.ts';
import { requestOperation } from '../operations/service.ts';
import { OperationRef } from './operation.ts';
import { payload } from './payload.ts';

const WRITE = { 'operations:write': true } as const;

// biome-ignore lint/suspicious/noExplicitAny: Pothos's input field builder, whose generics a shared helper cannot name
type InputFieldBuilder = any;

function operationMutation(
  name: string,
  capability: string,
  description: string,
  fields: (t: InputFieldBuilder) => Record<string, unknown>,
) {
  builder.relayMutationField(
    name,
    {
      description: `What ${name} asks for.`,
      inputFields: (t) => ({
        ...fields(t),
        idempotencyKey: t.string({
          required: false,
          description: `Names this request for 24 hours: the same key with the same input returns the same operation and calls no provider again; with another input it is a CONFLICT. 1 to ${OPERATION_LIMITS.idempotencyKeyChars} visible ASCII characters.`,
        }),
        waitSeconds: t.int({
          required: false,
          description: `Hold the answer until the operation ends, or this many seconds pass (0 to ${OPERATION_LIMITS.waitSeconds}; default 0: answer as soon as it is queued).`,
        }),
      }),
    },
    {
      description: `${description} Picks the integration by the routing rules of "${capability}", fails over, and records every provider call. NoActiveProviderError when no routing candidate is ACTIVE (nothing is stored then).`,
      authScopes: WRITE,
      errors: { types: [ValidationError, NoActiveProviderError, ConflictError] },
      resolve: (_root, { input }, ctx) => {
        const { idempotencyKey, waitSeconds, ...rest } = input as Record<string, unknown>;
        return requestOperation(ctx, capability, rest, {
          idempotencyKey: idempotencyKey as string | null | undefined,
          waitSeconds: waitSeconds as number | null | undefined,
        });
      },
    },
    payload<Operation>('The operation, QUEUED (or as it ended, with waitSeconds).', {
      operation: { type: OperationRef, description: 'The stored operation.', resolve: (o) => o },
    }),
  );
}

operationMutation('sendSms', 'send_sms', 'Sends an SMS.', (t) => ({
  to: t.string({ required: true, description: 'The recipient, in E.164 (e.g. +14155550123).' }),
  body: t.string({ required: true, description: `The text, at most ${OPERATION_LIMITS.messageChars} characters.` }),
}));

operationMutation('sendWhatsapp', 'send_whatsapp', 'Sends a WhatsApp message.', (t) => ({
  to: t.string({ required: true, description: 'The recipient, in E.164 (e.g. +14155550123).' }),
  body: t.string({ required: true, description: `The text, at most ${OPERATION_LIMITS.messageChars} characters.` }),
}));

operationMutation('sendEmail', 'send_email', 'Sends an email from the integration’s sender.', (t) => ({
  to: t.stringList({ required: true, description: `Recipients (1 to ${OPERATION_LIMITS.emailRecipients} addresses).` }),
  subject: t.string({ required: true, description: `One line, at most ${OPERATION_LIMITS.subjectChars} characters.` }),
  text: t.string({ required: false, description: 'The plain-text body (at most 256 KiB); text, html or both.' }),
  html: t.string({ required: false, description: 'The HTML body (at most 512 KiB).' }),
}));

operationMutation('generateText', 'generate_text', 'Generates text from a prompt. Result: { text model finishReason usage }.', (t) => ({
  prompt: t.string({ required: true, description: `The prompt, at most ${OPERATION_LIMITS.promptChars} characters.` }),
  model: t.string({ required: false, description: 'The provider’s model name; default gpt-4o-mini on OpenAI.' }),
  maxOutputTokens: t.int({
    required: false,
    description: `At most this many tokens in the answer (1 to ${OPERATION_LIMITS.maxOutputTokens}).`,
  }),
}));

operationMutation('createEmbedding', 'create_embedding', 'Embeds a text. Result: { embedding model dimensions usage }.', (t) => ({
  input: t.string({ required: true, description: `The text, at most ${OPERATION_LIMITS.promptChars} characters.` }),
  model: t.string({ required: false, description: 'The provider’s model name; default text-embedding-3-small on OpenAI.' }),
}));
