/**
 * Each provider call of sendWhatsapp, sendEmail, generateText and createEmbedding, against
 * loopback fakes of Twilio, SendGrid and OpenAI that refuse what the real APIs refuse, the way
 * they do (wrong method, path, auth, content type or field set: 400, 401, 404, SendGrid's 415);
 * then what a refusal of the credentials (401), a rate limit (429 Retry-After), an error echoing
 * a credential and an unreadable 2xx do to an operation.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, type Reply, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import { addRule, basicAuth, configureActive, type Gql, gqlAs } from '../helpers/integrations.ts';

/** The media type of a request, without parameters such as charset (real APIs accept those). */
const mediaType = (req: Seen) =>
  String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
const E164 = /^\+[1-9]\d{6,14}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const unknownKeys = (value: Record<string, unknown>, allowed: readonly string[]) => Object.keys(value).filter((k) => !allowed.includes(k));

// ---------------------------------------------------------------- Twilio (Messages API)

/** Two Twilio accounts: A is used by the `twilio` provider, B by `whatsapp_twilio` (its sender already `whatsapp:`). */
const TWILIO = {
  A: { sid: `AC${'a'.repeat(32)}`, token: 'twilio-token-aaaa-0123456789', sender: '+15550000001' },
  B: { sid: `AC${'b'.repeat(32)}`, token: 'twilio-token-bbbb-0123456789', sender: 'whatsapp:+14155238886' },
};
const TWILIO_BY_SID = new Map(Object.values(TWILIO).map((a) => [a.sid, a]));
/** Account SIDs whose Auth Token Twilio no longer accepts (as after a rotation in the Console). */
const revokedTwilio = new Set<string>();
/** Replaces the answer to a well-formed send, per test. */
let twilioSend: ((req: Seen, sid: string) => Reply) | undefined;

const twilioError = (status: number, code: number, message: string): Reply => ({
  status,
  body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
});

/** What Twilio would refuse in a Messages create: a form with exactly To, From, Body, StatusCallback, one channel. */
function twilioMessageProblem(req: Seen, sender: string): string | null {
  if (mediaType(req) !== 'application/x-www-form-urlencoded') return `content type ${mediaType(req)} is not a form`;
  const form = new URLSearchParams(req.body);
  const keys = [...form.keys()];
  if (keys.sort().join(',') !== 'Body,From,StatusCallback,To') return `unexpected parameters ${keys.join(',')}`;
  const to = form.get('To')!;
  const from = form.get('From')!;
  const whatsapp = to.startsWith('whatsapp:');
  if (!E164.test(whatsapp ? to.slice('whatsapp:'.length) : to)) return `The 'To' number ${to} is not a valid phone number.`;
  const ownSender = sender.replace(/^whatsapp:/, '');
  if (from !== (whatsapp ? `whatsapp:${ownSender}` : ownSender)) return `The 'From' number ${from} is not a valid phone number.`;
  if (!form.get('Body') || form.get('Body')!.length > 1600) return 'The message body is empty or too long.';
  if (!/^https?:\/\//.test(form.get('StatusCallback')!)) return 'The StatusCallback URL is not a valid URL.';
  return null;
}

function twilioMessageCreated(req: Seen, sid: string): Reply {
  const form = new URLSearchParams(req.body);
  return {
    status: 201,
    body: {
      sid: `SM${String(twilioApi.seen.length).padStart(32, '0')}`,
      account_sid: sid,
      to: form.get('To'),
      from: form.get('From'),
      body: form.get('Body'),
      status: 'queued',
      direction: 'outbound-api',
      api_version: '2010-04-01',
    },
  };
}

function twilioFake(req: Seen): Reply {
  const match = /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})(\.json|\/Messages\.json)$/.exec(req.path);
  if (!match) return twilioError(404, 20404, 'The requested resource was not found');
  const [, sid, resource] = match as unknown as [string, string, string];
  const account = TWILIO_BY_SID.get(sid);
  if (!account || revokedTwilio.has(sid) || req.headers.authorization !== basicAuth(sid, account.token)) {
    return twilioError(401, 20003, 'Authenticate');
  }
  if (resource === '.json')
    return req.method === 'GET' ? { status: 200, body: { sid, status: 'active' } } : twilioError(405, 20004, 'Method not allowed');
  if (req.method !== 'POST') return twilioError(405, 20004, 'Method not allowed');
  const problem = twilioMessageProblem(req, account.sender);
  if (problem) return twilioError(400, 21211, problem);
  return (twilioSend ?? twilioMessageCreated)(req, sid);
}

const twilioSends = (sid: string) =>
  twilioApi.seen.filter((s) => s.method === 'POST' && s.path === `/2010-04-01/Accounts/${sid}/Messages.json`);

// ---------------------------------------------------------------- SendGrid (v3 Mail Send)

const SENDGRID_KEY = 'SG.sendgrid-key.0123456789abcdef';
const MAIL_FIELDS = [
  'personalizations',
  'from',
  'reply_to',
  'reply_to_list',
  'subject',
  'content',
  'attachments',
  'template_id',
  'headers',
  'categories',
  'custom_args',
  'send_at',
  'batch_id',
  'asm',
  'ip_pool_name',
  'mail_settings',
  'tracking_settings',
] as const;
const PERSONALIZATION_FIELDS = [
  'to',
  'cc',
  'bcc',
  'from',
  'subject',
  'headers',
  'substitutions',
  'dynamic_template_data',
  'custom_args',
  'send_at',
];
/** Replaces the answer to a well-formed send, per test. */
let sendgridSend: ((req: Seen) => Reply) | undefined;
let sendgridMessages = 0;

const sendgridError = (status: number, message: string, field: string | null = null): Reply => ({
  status,
  body: { errors: [{ message, field, help: null }] },
});

function addressProblem(value: unknown, field: string): string | null {
  if (!isRecord(value) || typeof value.email !== 'string' || !EMAIL.test(value.email)) return `${field}: does not contain a valid address.`;
  if (unknownKeys(value, ['email', 'name']).length) return `${field}: only email and name are allowed.`;
  if (value.name !== undefined && typeof value.name !== 'string') return `${field}.name: must be a string.`;
  return null;
}

function personalizationsProblem(list: unknown): string | null {
  if (!Array.isArray(list) || list.length === 0) return 'You must have at least one personalization.';
  const seen = new Set<string>();
  for (const [i, p] of list.entries()) {
    if (!isRecord(p) || !Array.isArray(p.to) || p.to.length === 0) return `personalizations.${i}.to: The to parameter is required.`;
    if (unknownKeys(p, PERSONALIZATION_FIELDS).length)
      return `personalizations.${i}: unknown field ${unknownKeys(p, PERSONALIZATION_FIELDS)}`;
    for (const [j, to] of p.to.entries()) {
      const problem = addressProblem(to, `personalizations.${i}.to.${j}`);
      if (problem) return problem;
      const email = String((to as { email: string }).email).toLowerCase();
      if (seen.has(email)) return 'Each unique email address in the personalizations array should only be included once.';
      seen.add(email);
    }
  }
  return null;
}

function contentProblem(content: unknown): string | null {
  if (!Array.isArray(content) || content.length === 0) return 'Unless a valid template_id is provided, the content parameter is required.';
  for (const c of content) {
    if (!isRecord(c) || unknownKeys(c, ['type', 'value']).length || typeof c.type !== 'string')
      return 'content: each item is {type, value}.';
    if (typeof c.value !== 'string' || c.value === '') return 'The content value must be a string at least one character in length.';
  }
  const types = content.map((c) => (c as { type: string }).type);
  if (new Set(types).size !== types.length) return 'If present, text/plain and text/html may only be provided once.';
  if (types.includes('text/plain') && types[0] !== 'text/plain') return 'The text/plain content type must be first.';
  return null;
}

/** What SendGrid would refuse in a Mail Send body. */
function mailProblem(body: Record<string, unknown>): string | null {
  const unknown = unknownKeys(body, MAIL_FIELDS);
  if (unknown.length) return `unknown field(s) ${unknown.join(', ')}`;
  const custom = body.custom_args;
  return (
    personalizationsProblem(body.personalizations) ??
    addressProblem(body.from, 'from') ??
    (typeof body.subject === 'string' && body.subject !== '' ? null : 'The subject is required.') ??
    contentProblem(body.content) ??
    (custom === undefined || (isRecord(custom) && Object.values(custom).every((v) => typeof v === 'string'))
      ? null
      : 'custom_args values must be strings.')
  );
}

function sendgridFake(req: Seen): Reply {
  if (req.headers.authorization !== `Bearer ${SENDGRID_KEY}`)
    return sendgridError(401, 'The provided authorization grant is invalid, expired, or revoked');
  if (req.method === 'GET' && req.path === '/v3/scopes') return { status: 200, body: { scopes: ['mail.send'] } };
  if (req.method !== 'POST' || req.path !== '/v3/mail/send') return sendgridError(404, 'not found');
  if (mediaType(req) !== 'application/json') return sendgridError(415, 'Content-Type should be application/json.');
  let body: unknown;
  try {
    body = JSON.parse(req.body);
  } catch {
    return sendgridError(400, 'Bad Request');
  }
  const problem = isRecord(body) ? mailProblem(body) : 'Bad Request';
  if (problem) return sendgridError(400, problem);
  if (sendgridSend) return sendgridSend(req);
  sendgridMessages += 1;
  // 202 Accepted, an empty body; the message is named only by the X-Message-Id header
  return { status: 202, raw: '', headers: { 'x-message-id': `sgmsg${sendgridMessages}W8BHnV3mTZOiA8Y1b` } };
}

const sendgridSends = () => sendgridApi.seen.filter((s) => s.method === 'POST' && s.path === '/v3/mail/send');

// ---------------------------------------------------------------- OpenAI (chat completions, embeddings)

/** A key bound to an organization and a project: both headers are required with it. */
const OPENAI = { key: 'sk-proj-openai-key-0123456789abcdef', organization: 'org-example123', project: 'proj_example123' };
/** Set when OpenAI no longer accepts the key (revoked in the dashboard). */
let openaiRevoked = false;

/** The chat completion parameters OpenAI documents (those a fake needs to tell apart from unknown ones). */
const CHAT_FIELDS = [
  'model',
  'messages',
  'max_completion_tokens',
  'max_tokens',
  'temperature',
  'top_p',
  'n',
  'stop',
  'stream',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'response_format',
  'seed',
  'tools',
  'tool_choice',
  'user',
  'store',
  'metadata',
  'reasoning_effort',
];
const EMBEDDING_FIELDS = ['model', 'input', 'encoding_format', 'dimensions', 'user'];

const openaiError = (status: number, message: string, type: string, code: string | null = null): Reply => ({
  status,
  body: { error: { message, type, param: null, code } },
});

function chatProblem(body: Record<string, unknown>): string | null {
  const unknown = unknownKeys(body, CHAT_FIELDS);
  if (unknown.length) return `Unrecognized request argument supplied: ${unknown.join(', ')}`;
  if (typeof body.model !== 'string' || body.model === '') return 'you must provide a model parameter';
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return "[] is too short - 'messages'";
  for (const m of messages) {
    if (!isRecord(m) || !['system', 'developer', 'user', 'assistant', 'tool'].includes(String(m.role)))
      return "Invalid value for 'messages[0].role'";
    if (unknownKeys(m, ['role', 'content', 'name']).length || typeof m.content !== 'string') return "Invalid 'messages[0]'";
  }
  const max = body.max_completion_tokens;
  if (max !== undefined && (!Number.isInteger(max) || (max as number) < 1)) return "Invalid 'max_completion_tokens'";
  return null;
}

function embeddingProblem(body: Record<string, unknown>): string | null {
  const unknown = unknownKeys(body, EMBEDDING_FIELDS);
  if (unknown.length) return `Unrecognized request argument supplied: ${unknown.join(', ')}`;
  if (typeof body.model !== 'string' || body.model === '') return 'you must provide a model parameter';
  if (typeof body.input !== 'string' || body.input === '') return "'$.input' is invalid.";
  return null;
}

function chatCompletion(body: Record<string, unknown>): Reply {
  return {
    status: 200,
    body: {
      id: `chatcmpl-${openaiApi.seen.length}AbCdEf`,
      object: 'chat.completion',
      created: 1_733_300_000,
      model: `${body.model}-2024-07-18`,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello from the model.', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 },
    },
  };
}

function embedding(body: Record<string, unknown>): Reply {
  return {
    status: 200,
    body: {
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.0023, -0.0093, 0.0158, -0.0072] }],
      model: body.model,
      usage: { prompt_tokens: 6, total_tokens: 6 },
    },
  };
}

/** Bearer key, and the OpenAI-Organization / OpenAI-Project headers the key is bound to. */
function openaiAuthProblem(req: Seen): Reply | null {
  const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
  if (key !== OPENAI.key || openaiRevoked) {
    // the real API shows the key masked; echoing it whole checks that the service scrubs it
    return openaiError(
      401,
      `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      'invalid_request_error',
      'invalid_api_key',
    );
  }
  if (req.headers['openai-organization'] !== OPENAI.organization)
    return openaiError(401, 'mismatched_organization', 'invalid_request_error', 'mismatched_organization');
  if (req.headers['openai-project'] !== OPENAI.project)
    return openaiError(401, 'mismatched_project', 'invalid_request_error', 'mismatched_project');
  return null;
}

function openaiFake(req: Seen): Reply {
  const refused = openaiAuthProblem(req);
  if (refused) return refused;
  if (req.method === 'GET' && req.path === '/v1/models')
    return { status: 200, body: { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model' }] } };
  const kind = req.method === 'POST' ? { '/v1/chat/completions': 'chat', '/v1/embeddings': 'embedding' }[req.path] : undefined;
  if (!kind) return openaiError(404, `Invalid URL (${req.method} ${req.path})`, 'invalid_request_error');
  if (mediaType(req) !== 'application/json')
    return openaiError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error');
  let body: unknown;
  try {
    body = JSON.parse(req.body);
  } catch {
    return openaiError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error');
  }
  if (!isRecord(body)) return openaiError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error');
  const problem = kind === 'chat' ? chatProblem(body) : embeddingProblem(body);
  if (problem) return openaiError(400, problem, 'invalid_request_error');
  return kind === 'chat' ? chatCompletion(body) : embedding(body);
}

const openaiCalls = (path: string) => openaiApi.seen.filter((s) => s.method === 'POST' && s.path === path);

// ---------------------------------------------------------------- the service

let server: TestServer;
let twilioApi: FakeApi;
let sendgridApi: FakeApi;
let openaiApi: FakeApi;
const ids = { twilio: '', whatsappTwilio: '', sendgrid: '', openai: '' };
let whatsappRule: string;

const OPERATION = `id capability status usedFallback providerReference result input attemptCount
  integration { id } error { code message } attempts { attemptNumber outcome httpStatus error integration { id } }`;

/** The default tenant's admin (set once the server runs). */
let gql: Gql;

/** Calls an operation mutation (sendEmail → SendEmailInput / SendEmailPayload) and returns its result union. */
async function operate(mutation: string, input: Record<string, unknown>) {
  const type = mutation[0]!.toUpperCase() + mutation.slice(1);
  const data = await gql(
    `mutation($input: ${type}Input!) { ${mutation}(input: $input) { __typename
      ... on ${type}Payload { operation { ${OPERATION} } }
      ... on Error { code message } ... on ValidationError { fieldErrors { path message } }
      ... on NoActiveProviderError { capability } } }`,
    { input },
  );
  return data[mutation];
}

/** The operation, once it ended (the mutation holds its answer until then). */
async function ended(mutation: string, input: Record<string, unknown>) {
  const result = await operate(mutation, { ...input, waitSeconds: 20 });
  expect(result.__typename).toBe(`${mutation[0]!.toUpperCase()}${mutation.slice(1)}Payload`);
  expect(['SUCCEEDED', 'FAILED']).toContain(result.operation.status);
  return result.operation;
}

async function updateRule(id: string, integrationId: string, fallbackIntegrationId: string | null) {
  const data = await gql(`mutation($input: UpdateRoutingRuleInput!) { updateRoutingRule(input: $input) { __typename } }`, {
    input: { id, integrationId, fallbackIntegrationId },
  });
  expect(data.updateRoutingRule.__typename).toBe('UpdateRoutingRulePayload');
}

async function inboundWebhookUrl(id: string): Promise<string> {
  const url = (await gql(`query($id: ID!) { integration(id: $id) { inboundWebhookUrl } }`, { id })).integration.inboundWebhookUrl;
  expect(url).toMatch(new RegExp(`^${server.url}/hooks/`));
  return url;
}

async function integration(id: string) {
  return (await gql(`query($id: ID!) { integration(id: $id) { status lastError } }`, { id })).integration as {
    status: string;
    lastError: string | null;
  };
}

/** The integration.status_changed events of one integration, newest first. */
async function statusChanges(id: string) {
  const data = await gql(`{ events(type: "integration.status_changed", first: 50) { edges { node { type payload } } } }`);
  return data.events.edges
    .map((e: { node: { payload: Record<string, unknown> } }) => e.node.payload)
    .filter((p: { id: string }) => p.id === id);
}

const outcomes = (op: { attempts: { outcome: string; httpStatus: number | null; integration: { id: string } }[] }) =>
  op.attempts.map((a) => [a.outcome, a.httpStatus, a.integration.id]);

beforeAll(async () => {
  twilioApi = await startFakeApi(twilioFake);
  sendgridApi = await startFakeApi(sendgridFake);
  openaiApi = await startFakeApi(openaiFake);
  server = await startTestServer({
    TWILIO_API_BASE_URL: twilioApi.url,
    WHATSAPP_TWILIO_API_BASE_URL: twilioApi.url,
    SENDGRID_API_BASE_URL: sendgridApi.url,
    OPENAI_API_BASE_URL: openaiApi.url,
    OPERATION_RETRY_SCHEDULE: '200ms',
  });
  gql = gqlAs(server, { token: await server.token() });
  const configure = async (provider: string, credentials: Record<string, unknown>) =>
    (await configureActive(gql, provider, credentials)).id;
  ids.twilio = await configure('twilio', { account_sid: TWILIO.A.sid, auth_token: TWILIO.A.token, from_number: TWILIO.A.sender });
  ids.whatsappTwilio = await configure('whatsapp_twilio', {
    account_sid: TWILIO.B.sid,
    auth_token: TWILIO.B.token,
    from_number: TWILIO.B.sender,
  });
  ids.sendgrid = await configure('sendgrid', { api_key: SENDGRID_KEY, from_email: 'noreply@example.com', from_name: 'Example Co' });
  ids.openai = await configure('openai', { api_key: OPENAI.key, organization_id: OPENAI.organization, project_id: OPENAI.project });
  whatsappRule = await addRule(gql, { capability: 'send_whatsapp', integrationId: ids.twilio, fallbackIntegrationId: ids.whatsappTwilio });
  await addRule(gql, { capability: 'send_email', integrationId: ids.sendgrid });
  // OpenAI is the one provider of these two: its integration is their only candidate
  await addRule(gql, { capability: 'generate_text', integrationId: ids.openai });
  await addRule(gql, { capability: 'create_embedding', integrationId: ids.openai });
}, 90_000);

beforeEach(() => {
  twilioSend = undefined;
  sendgridSend = undefined;
});

afterAll(async () => {
  await server?.close();
  await Promise.all([twilioApi?.close(), sendgridApi?.close(), openaiApi?.close()]);
});

describe('the fakes refuse what the real APIs refuse', () => {
  const post = (url: string, authorization: string, contentType: string, body: string, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'POST', headers: { authorization, 'content-type': contentType, ...headers }, body }).then((r) => r.status);

  it('answers 400 to a wrong encoding or an unknown field', async () => {
    const twilioUrl = `${twilioApi.url}/2010-04-01/Accounts/${TWILIO.A.sid}/Messages.json`;
    const twilioAuth = basicAuth(TWILIO.A.sid, TWILIO.A.token);
    const message = { To: '+15551230000', From: TWILIO.A.sender, Body: 'hi', StatusCallback: 'https://example.com/cb' };
    expect(await post(twilioUrl, twilioAuth, 'application/x-www-form-urlencoded', new URLSearchParams(message).toString())).toBe(201);
    expect(await post(twilioUrl, twilioAuth, 'application/json', JSON.stringify(message))).toBe(400);
    expect(
      await post(twilioUrl, twilioAuth, 'application/x-www-form-urlencoded', new URLSearchParams({ ...message, Extra: '1' }).toString()),
    ).toBe(400);

    const mail = {
      personalizations: [{ to: [{ email: 'ana@example.com' }] }],
      from: { email: 'noreply@example.com' },
      subject: 's',
      content: [{ type: 'text/plain', value: 't' }],
    };
    const mailUrl = `${sendgridApi.url}/v3/mail/send`;
    expect(await post(mailUrl, `Bearer ${SENDGRID_KEY}`, 'application/json', JSON.stringify(mail))).toBe(202);
    expect(await post(mailUrl, `Bearer ${SENDGRID_KEY}`, 'application/json', JSON.stringify({ ...mail, to: 'x' }))).toBe(400);
    const htmlFirst = { ...mail, content: [{ type: 'text/html', value: 'h' }, ...mail.content] };
    expect(await post(mailUrl, `Bearer ${SENDGRID_KEY}`, 'application/json', JSON.stringify(htmlFirst))).toBe(400);
    expect(await post(mailUrl, `Bearer ${SENDGRID_KEY}`, 'application/x-www-form-urlencoded', 'subject=s')).toBe(415);

    const chatUrl = `${openaiApi.url}/v1/chat/completions`;
    const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
    const openaiHeaders = { 'openai-organization': OPENAI.organization, 'openai-project': OPENAI.project };
    expect(await post(chatUrl, `Bearer ${OPENAI.key}`, 'application/json', JSON.stringify(chat), openaiHeaders)).toBe(200);
    expect(await post(chatUrl, `Bearer ${OPENAI.key}`, 'application/json', JSON.stringify({ ...chat, prompt: 'hi' }), openaiHeaders)).toBe(
      400,
    );
    expect(await post(chatUrl, `Bearer ${OPENAI.key}`, 'text/plain', JSON.stringify(chat), openaiHeaders)).toBe(400);
    expect(await post(chatUrl, `Bearer ${OPENAI.key}`, 'application/json', JSON.stringify(chat))).toBe(401); // no OpenAI-Organization
  });
});

describe('sendWhatsapp through Twilio', () => {
  it('sends through the twilio provider with whatsapp: before both numbers', async () => {
    const before = twilioSends(TWILIO.B.sid).length;
    const op = await ended('sendWhatsapp', { to: '+15551230000', body: 'olá' });
    expect(op).toMatchObject({
      capability: 'send_whatsapp',
      status: 'SUCCEEDED',
      usedFallback: false,
      integration: { id: ids.twilio },
      input: { to: '+15551230000', body: 'olá' },
      error: null,
    });
    expect(op.providerReference).toMatch(/^SM\d{32}$/);
    expect(op.result).toEqual({ messageId: op.providerReference, status: 'queued' });
    expect(outcomes(op)).toEqual([['SUCCEEDED', 201, ids.twilio]]);
    const sent = twilioSends(TWILIO.A.sid).at(-1)!;
    expect(sent.headers.authorization).toBe(basicAuth(TWILIO.A.sid, TWILIO.A.token));
    const form = Object.fromEntries(new URLSearchParams(sent.body));
    expect(form).toEqual({
      To: 'whatsapp:+15551230000',
      From: 'whatsapp:+15550000001',
      Body: 'olá',
      StatusCallback: await inboundWebhookUrl(ids.twilio),
    });
    expect(twilioSends(TWILIO.B.sid).length).toBe(before);
  });

  it('sends through whatsapp_twilio with its whatsapp: sender as it is, not doubled', async () => {
    await updateRule(whatsappRule, ids.whatsappTwilio, ids.twilio);
    try {
      const op = await ended('sendWhatsapp', { to: '+15551230001', body: 'hello' });
      expect(op).toMatchObject({ status: 'SUCCEEDED', usedFallback: false, integration: { id: ids.whatsappTwilio } });
      const sent = twilioSends(TWILIO.B.sid).at(-1)!;
      expect(sent.headers.authorization).toBe(basicAuth(TWILIO.B.sid, TWILIO.B.token));
      const form = new URLSearchParams(sent.body);
      expect(form.get('From')).toBe('whatsapp:+14155238886');
      expect(form.get('To')).toBe('whatsapp:+15551230001');
      expect(form.get('StatusCallback')).toBe(await inboundWebhookUrl(ids.whatsappTwilio));
    } finally {
      await updateRule(whatsappRule, ids.twilio, ids.whatsappTwilio);
    }
  });

  it('fails PROVIDER_REJECTED without failover when Twilio answers 201 without a sid (it may have sent)', async () => {
    twilioSend = (req, sid) => (sid === TWILIO.A.sid ? { status: 201, body: { status: 'queued' } } : twilioMessageCreated(req, sid));
    const before = twilioSends(TWILIO.B.sid).length;
    const op = await ended('sendWhatsapp', { to: '+15551230002', body: 'hello' });
    expect(op).toMatchObject({ status: 'FAILED', usedFallback: false, providerReference: null, result: null });
    expect(op.error).toEqual({
      code: 'PROVIDER_REJECTED',
      message: 'Twilio answered HTTP 201 in an unexpected form: Twilio answered without a message sid',
    });
    expect(outcomes(op)).toEqual([['REJECTED', 201, ids.twilio]]);
    expect(twilioSends(TWILIO.B.sid).length).toBe(before);
    expect((await integration(ids.twilio)).status).toBe('ACTIVE');
  });

  it('on a 429 with Retry-After serves from the fallback, leaves the primary alone for that long, then calls it again', async () => {
    twilioSend = (req, sid) =>
      sid === TWILIO.A.sid
        ? { ...twilioError(429, 20429, 'Too Many Requests'), headers: { 'retry-after': '2' } }
        : twilioMessageCreated(req, sid);
    const limited = await ended('sendWhatsapp', { to: '+15551230010', body: 'first' });
    // the rest began before the mutation answered, so it is over 2 s from now at the latest
    const restOver = Date.now() + 2_000;
    expect(limited).toMatchObject({ status: 'SUCCEEDED', usedFallback: true, integration: { id: ids.whatsappTwilio } });
    expect(outcomes(limited)).toEqual([
      ['TRANSIENT_FAILURE', 429, ids.twilio],
      ['SUCCEEDED', 201, ids.whatsappTwilio],
    ]);
    expect(limited.attempts[0].error).toBe('Twilio is unavailable (HTTP 429): Too Many Requests');

    twilioSend = undefined;
    const before = twilioSends(TWILIO.A.sid).length;
    const resting = await ended('sendWhatsapp', { to: '+15551230011', body: 'right after' });
    expect(resting).toMatchObject({ status: 'SUCCEEDED', usedFallback: true, integration: { id: ids.whatsappTwilio } });
    expect(outcomes(resting)).toEqual([['SUCCEEDED', 201, ids.whatsappTwilio]]);
    expect(twilioSends(TWILIO.A.sid).length).toBe(before);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, restOver - Date.now()) + 50));
    const rested = await ended('sendWhatsapp', { to: '+15551230012', body: 'after the rest' });
    expect(rested).toMatchObject({ status: 'SUCCEEDED', usedFallback: false, integration: { id: ids.twilio } });
    expect(outcomes(rested)).toEqual([['SUCCEEDED', 201, ids.twilio]]);
    expect(twilioSends(TWILIO.A.sid).length).toBe(before + 1);
  });

  it('on a 401 puts the integration in ERROR, records integration.status_changed and serves from the fallback at once', async () => {
    revokedTwilio.add(TWILIO.A.sid);
    const op = await ended('sendWhatsapp', { to: '+15551230003', body: 'after rotation' });
    expect(op).toMatchObject({ status: 'SUCCEEDED', usedFallback: true, integration: { id: ids.whatsappTwilio } });
    expect(outcomes(op)).toEqual([
      ['AUTH_FAILURE', 401, ids.twilio],
      ['SUCCEEDED', 201, ids.whatsappTwilio],
    ]);
    const refusal = 'Twilio refused the credentials during an operation (HTTP 401): Authenticate';
    expect(op.attempts[0].error).toBe(refusal);
    expect(new URLSearchParams(twilioSends(TWILIO.B.sid).at(-1)!.body).get('From')).toBe('whatsapp:+14155238886');

    expect(await integration(ids.twilio)).toEqual({ status: 'ERROR', lastError: refusal });
    const [change] = await statusChanges(ids.twilio);
    expect(change).toMatchObject({ id: ids.twilio, provider: 'twilio', status: 'ERROR', previousStatus: 'ACTIVE', lastError: refusal });
  });

  it('on a 401 with no other candidate left fails the operation NO_ACTIVE_PROVIDER; the next request is refused at once', async () => {
    revokedTwilio.add(TWILIO.B.sid);
    const op = await ended('sendWhatsapp', { to: '+15551230004', body: 'nobody left' });
    expect(op.status).toBe('FAILED');
    expect(op.error.code).toBe('NO_ACTIVE_PROVIDER');
    // the twilio integration is in ERROR since the last test: not called again
    expect(outcomes(op)).toEqual([['AUTH_FAILURE', 401, ids.whatsappTwilio]]);
    expect((await integration(ids.whatsappTwilio)).status).toBe('ERROR');
    const [change] = await statusChanges(ids.whatsappTwilio);
    expect(change).toMatchObject({ id: ids.whatsappTwilio, status: 'ERROR', previousStatus: 'ACTIVE' });

    const refused = await operate('sendWhatsapp', { to: '+15551230005', body: 'x', waitSeconds: 5 });
    expect(refused).toMatchObject({ __typename: 'NoActiveProviderError', code: 'NO_ACTIVE_PROVIDER', capability: 'send_whatsapp' });
  });
});

describe('sendEmail through SendGrid', () => {
  it('sends the documented Mail Send body and takes the X-Message-Id of the empty 202', async () => {
    const input = { to: ['ana@example.com', 'bo@example.org'], subject: 'Your receipt', text: 'Thanks!', html: '<p>Thanks!</p>' };
    const op = await ended('sendEmail', input);
    expect(op).toMatchObject({
      capability: 'send_email',
      status: 'SUCCEEDED',
      usedFallback: false,
      integration: { id: ids.sendgrid },
      input,
    });
    expect(op.providerReference).toMatch(/^sgmsg\d+W8BHnV3mTZOiA8Y1b$/);
    expect(op.result).toEqual({ messageId: op.providerReference, status: 'accepted' });
    expect(outcomes(op)).toEqual([['SUCCEEDED', 202, ids.sendgrid]]);
    const sent = sendgridSends().at(-1)!;
    expect(sent.headers.authorization).toBe(`Bearer ${SENDGRID_KEY}`);
    expect(mediaType(sent)).toBe('application/json');
    expect(JSON.parse(sent.body)).toEqual({
      personalizations: [{ to: [{ email: 'ana@example.com' }, { email: 'bo@example.org' }] }],
      from: { email: 'noreply@example.com', name: 'Example Co' },
      subject: 'Your receipt',
      content: [
        { type: 'text/plain', value: 'Thanks!' },
        { type: 'text/html', value: '<p>Thanks!</p>' },
      ],
      custom_args: { operation_id: op.id },
    });
  });

  it('sends from the address alone when the integration has no from_name', async () => {
    const other = await server.token({ tenant_id: 'tenant-no-from-name' });
    const as = gqlAs(server, { token: other });
    const { id } = await configureActive(as, 'sendgrid', { api_key: SENDGRID_KEY, from_email: 'billing@example.com' });
    await addRule(as, { capability: 'send_email', integrationId: id });
    const sent = await as(
      `mutation { sendEmail(input: { to: ["ana@example.com"], subject: "Invoice", text: "Attached.", waitSeconds: 20 }) {
        ... on SendEmailPayload { operation { id status } } } }`,
      {},
    );
    expect(sent.sendEmail.operation.status).toBe('SUCCEEDED');
    expect(JSON.parse(sendgridSends().at(-1)!.body)).toEqual({
      personalizations: [{ to: [{ email: 'ana@example.com' }] }],
      from: { email: 'billing@example.com' },
      subject: 'Invoice',
      content: [{ type: 'text/plain', value: 'Attached.' }],
      custom_args: { operation_id: sent.sendEmail.operation.id },
    });
  });

  it('sends html alone as the only content', async () => {
    const op = await ended('sendEmail', { to: ['ana@example.com'], subject: 'Only html', html: '<b>hi</b>' });
    expect(op.status).toBe('SUCCEEDED');
    expect(JSON.parse(sendgridSends().at(-1)!.body).content).toEqual([{ type: 'text/html', value: '<b>hi</b>' }]);
  });

  it('refuses a bad input with field errors, storing nothing and calling nobody', async () => {
    const count = async () => (await gql(`{ operations(first: 1, capability: "send_email") { totalCount } }`)).operations.totalCount;
    const before = { stored: await count(), calls: sendgridSends().length };
    const result = await operate('sendEmail', { to: ['ana@example.com', 'not-an-address', 'ANA@example.com'], subject: 'two\nlines' });
    expect(result.__typename).toBe('ValidationError');
    expect(result.fieldErrors).toEqual([
      { path: ['to', '1'], message: 'must be an email address such as ana@example.com' },
      { path: ['to', '2'], message: 'names a recipient already listed' },
      { path: ['subject'], message: 'must be one line' },
      { path: ['text'], message: 'give text, html or both' },
    ]);
    expect({ stored: await count(), calls: sendgridSends().length }).toEqual(before);
  });

  it('scrubs a credential the provider echoes from attempts[].error and error.message', async () => {
    sendgridSend = () => sendgridError(400, `The from address does not match a verified Sender Identity for key ${SENDGRID_KEY}`, 'from');
    const op = await ended('sendEmail', { to: ['ana@example.com'], subject: 'Hi', text: 'Hi' });
    const said = 'SendGrid rejected the request (HTTP 400): The from address does not match a verified Sender Identity for key [redacted]';
    expect(op.error).toEqual({ code: 'PROVIDER_REJECTED', message: said });
    expect(op.attempts.map((a: { error: string }) => a.error)).toEqual([said]);
    const stored = await gql(`query($id: ID!) { operation(id: $id) { error { message } attempts { error } } }`, { id: op.id });
    expect(JSON.stringify(stored)).not.toContain(SENDGRID_KEY);
    expect(JSON.stringify(stored)).not.toContain('sendgrid-key');
  });
});

describe('generateText and createEmbedding through OpenAI', () => {
  it('generateText posts one user message to the default model with the organization and project headers', async () => {
    const op = await ended('generateText', { prompt: 'Say hello.' });
    expect(op).toMatchObject({ capability: 'generate_text', status: 'SUCCEEDED', usedFallback: false, integration: { id: ids.openai } });
    expect(op.providerReference).toMatch(/^chatcmpl-\d+AbCdEf$/);
    expect(op.result).toEqual({
      text: 'Hello from the model.',
      model: 'gpt-4o-mini-2024-07-18',
      finishReason: 'stop',
      usage: { inputTokens: 9, outputTokens: 5, totalTokens: 14 },
    });
    const sent = openaiCalls('/v1/chat/completions').at(-1)!;
    expect(sent.headers['openai-organization']).toBe(OPENAI.organization);
    expect(sent.headers['openai-project']).toBe(OPENAI.project);
    expect(mediaType(sent)).toBe('application/json');
    expect(JSON.parse(sent.body)).toEqual({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }] });
  });

  it('generateText sends the model named and maxOutputTokens as max_completion_tokens', async () => {
    const op = await ended('generateText', { prompt: 'Be brief.', model: 'gpt-4.1', maxOutputTokens: 50 });
    expect(op.status).toBe('SUCCEEDED');
    expect(op.result.model).toBe('gpt-4.1-2024-07-18');
    expect(JSON.parse(openaiCalls('/v1/chat/completions').at(-1)!.body)).toEqual({
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: 'Be brief.' }],
      max_completion_tokens: 50,
    });
  });

  it('createEmbedding posts the input to the default model; no provider reference', async () => {
    const op = await ended('createEmbedding', { input: 'a sentence to embed' });
    expect(op).toMatchObject({
      capability: 'create_embedding',
      status: 'SUCCEEDED',
      providerReference: null,
      integration: { id: ids.openai },
    });
    expect(op.result).toEqual({
      embedding: [0.0023, -0.0093, 0.0158, -0.0072],
      model: 'text-embedding-3-small',
      dimensions: 4,
      usage: { inputTokens: 6 },
    });
    expect(JSON.parse(openaiCalls('/v1/embeddings').at(-1)!.body)).toEqual({
      model: 'text-embedding-3-small',
      input: 'a sentence to embed',
    });

    const large = await ended('createEmbedding', { input: 'another', model: 'text-embedding-3-large' });
    expect(large.result.model).toBe('text-embedding-3-large');
    expect(JSON.parse(openaiCalls('/v1/embeddings').at(-1)!.body)).toEqual({
      model: 'text-embedding-3-large',
      input: 'another',
    });
  });

  it('on a 401 echoing the key: ERROR with the key scrubbed, and with no other candidate FAILED NO_ACTIVE_PROVIDER', async () => {
    openaiRevoked = true;
    const op = await ended('generateText', { prompt: 'after revocation' });
    expect(op).toMatchObject({ status: 'FAILED', usedFallback: false, integration: { id: ids.openai }, result: null });
    expect(op.error).toEqual({
      code: 'NO_ACTIVE_PROVIDER',
      message: 'no ACTIVE integration serves "generate_text" any more: the providers refused the credentials of those tried',
    });
    expect(outcomes(op)).toEqual([['AUTH_FAILURE', 401, ids.openai]]);
    const refusal =
      'OpenAI refused the credentials during an operation (HTTP 401): Incorrect API key provided: [redacted]. You can find your API key at https://platform.openai.com/account/api-keys.';
    expect(op.attempts[0].error).toBe(refusal);
    expect(await integration(ids.openai)).toEqual({ status: 'ERROR', lastError: refusal });
    const [change] = await statusChanges(ids.openai);
    expect(change).toMatchObject({ id: ids.openai, provider: 'openai', status: 'ERROR', previousStatus: 'ACTIVE', lastError: refusal });
    expect(JSON.stringify(change)).not.toContain(OPENAI.key);

    // the integration served both capabilities: neither has a candidate now
    const refused = await operate('createEmbedding', { input: 'x', waitSeconds: 5 });
    expect(refused).toMatchObject({ __typename: 'NoActiveProviderError', code: 'NO_ACTIVE_PROVIDER', capability: 'create_embedding' });
  });
});
