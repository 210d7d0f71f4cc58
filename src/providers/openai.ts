/**
 * OpenAI. One origin. Check: `GET /v1/models` with the API key as a Bearer token, a free read any
 * valid key may make. `OpenAI-Organization` / `OpenAI-Project` are sent when set, so a key used
 * with the wrong organization or project fails here rather than on the first real call.
 */
import { check, json, textOf } from './http.ts';
import {
  type Credentials,
  type FormatMistake,
  KEY_SHAPES,
  NO_WHITESPACE,
  type OperationAdapter,
  type ProviderDefinition,
} from './types.ts';

/** The ids are not sensitive (stored in clear and returned): an API key must not land in them. */
const SECRET_KEY_HERE: FormatMistake = {
  pattern: KEY_SHAPES.openai,
  hint: 'this is an API key (sk-…); it goes in api_key, never here, where it would be shown',
};

/** Models used when the caller names none. */
export const OPENAI_DEFAULT_MODELS = { text: 'gpt-4o-mini', embedding: 'text-embedding-3-small' } as const;

function openaiHeaders(credentials: Credentials): Record<string, string> {
  const headers: Record<string, string> = { authorization: `Bearer ${credentials.api_key}` };
  if (credentials.organization_id) headers['openai-organization'] = String(credentials.organization_id);
  if (credentials.project_id) headers['openai-project'] = String(credentials.project_id);
  return headers;
}

/** `POST /v1/chat/completions`, JSON `model`, `messages` (the prompt as one user message), `max_completion_tokens`. */
export const openaiGenerateText: OperationAdapter = {
  request(input, credentials, ctx) {
    const body: Record<string, unknown> = {
      model: typeof input.model === 'string' ? input.model : OPENAI_DEFAULT_MODELS.text,
      messages: [{ role: 'user', content: String(input.prompt) }],
    };
    if (typeof input.maxOutputTokens === 'number') body.max_completion_tokens = input.maxOutputTokens;
    return {
      method: 'POST',
      url: `${ctx.origin('https://api.openai.com')}/v1/chat/completions`,
      headers: { ...openaiHeaders(credentials), ...json.headers },
      body: json.encode(body),
    };
  },
  parse(answer) {
    const body = json.object(answer.body);
    const choice = json.object(Array.isArray(body.choices) ? body.choices[0] : undefined);
    const text = json.object(choice.message).content;
    if (typeof text !== 'string') throw new Error('OpenAI answered without a message in choices[0]');
    const usage = json.object(body.usage);
    return {
      providerReference: textOf(body.id) ?? null,
      result: {
        text,
        model: textOf(body.model) ?? null,
        finishReason: textOf(choice.finish_reason) ?? null,
        usage: {
          inputTokens: usage.prompt_tokens ?? null,
          outputTokens: usage.completion_tokens ?? null,
          totalTokens: usage.total_tokens ?? null,
        },
      },
    };
  },
};

/** `POST /v1/embeddings`, JSON `model`, `input`. */
export const openaiCreateEmbedding: OperationAdapter = {
  request(input, credentials, ctx) {
    return {
      method: 'POST',
      url: `${ctx.origin('https://api.openai.com')}/v1/embeddings`,
      headers: { ...openaiHeaders(credentials), ...json.headers },
      body: json.encode({
        model: typeof input.model === 'string' ? input.model : OPENAI_DEFAULT_MODELS.embedding,
        input: String(input.input),
      }),
    };
  },
  parse(answer) {
    const body = json.object(answer.body);
    const embedding = json.object(Array.isArray(body.data) ? body.data[0] : undefined).embedding;
    if (!Array.isArray(embedding) || !embedding.every((n) => typeof n === 'number')) {
      throw new Error('OpenAI answered without an embedding in data[0]');
    }
    const usage = json.object(body.usage);
    return {
      providerReference: null,
      result: {
        embedding,
        model: textOf(body.model) ?? null,
        dimensions: embedding.length,
        usage: { inputTokens: usage.prompt_tokens ?? null },
      },
    };
  },
};

export const openai: ProviderDefinition = {
  name: 'openai',
  displayName: 'OpenAI',
  description: 'Text generation and embeddings through the OpenAI API.',
  docsUrl: 'https://platform.openai.com/docs/api-reference/authentication',
  badge: { monogram: 'AI', color: '#10A37F' },
  category: 'AI',
  capabilities: ['generate_text', 'create_embedding'],
  credentialSchema: [
    {
      key: 'api_key',
      label: 'API key',
      type: 'STRING',
      sensitive: true,
      required: true,
      // OpenAI's keys start sk-, but only verification says whether one is: refused here are keys
      // of other kinds, recognizable by their prefix
      mistakes: [
        NO_WHITESPACE,
        { pattern: KEY_SHAPES.sendgrid, hint: 'this is a SendGrid API key (SG.…), not an OpenAI API key (sk-…)' },
        { pattern: KEY_SHAPES.stripe, hint: 'this is a Stripe key (pk_…, sk_…, rk_…), not an OpenAI API key (sk-…)' },
      ],
      description: 'A project, service-account or user API key (sk-proj-…, sk-svcacct-…, sk-…).',
    },
    {
      key: 'organization_id',
      label: 'Organization ID',
      type: 'STRING',
      sensitive: false,
      required: false,
      mistakes: [NO_WHITESPACE, SECRET_KEY_HERE],
      description: 'Sent as OpenAI-Organization (org-…); only for keys that belong to several organizations.',
    },
    {
      key: 'project_id',
      label: 'Project ID',
      type: 'STRING',
      sensitive: false,
      required: false,
      mistakes: [NO_WHITESPACE, SECRET_KEY_HERE],
      description: 'Sent as OpenAI-Project (proj_…); bills usage to that project for legacy user keys.',
    },
  ],
  verify: (credentials, ctx) =>
    check('OpenAI', ctx, { url: `${ctx.origin('https://api.openai.com')}/v1/models`, headers: openaiHeaders(credentials) }),
  operations: { generate_text: openaiGenerateText, create_embedding: openaiCreateEmbedding },
};
