/**
 * requestSignature and trackSignature on Clicksign (API v1), D4Sign and Certisign (Portal de
 * Assinaturas v2), over HTTP against loopback fakes that refuse what the real APIs refuse (wrong
 * method, path, auth, content type or field set); each provider's 4xx as PROVIDER_REJECTED; the
 * sandbox or live origin from `environment`; and status callbacks, signed here the way each
 * provider signs them, setting the operation's deliveryStatus.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProvider } from '../../src/providers/catalog.ts';
import type { OperationCallContext } from '../../src/providers/types.ts';
import { startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, type Reply, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import { addRule, configureActive, type Gql, gqlAs } from '../helpers/integrations.ts';

/** A small PDF, as a client would send it: standard base64. */
const PDF_BASE64 = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n').toString('base64');

const mediaType = (req: Seen) =>
  String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const keysOf = (v: unknown) => (isRecord(v) ? Object.keys(v).sort().join(',') : `not an object: ${JSON.stringify(v)}`);
const jsonBody = (req: Seen): unknown => {
  try {
    return JSON.parse(req.body);
  } catch {
    return undefined;
  }
};
/** The calls a fake saw, as "METHOD /path", without the verification reads. */
const calls = (fake: FakeApi, from = 0) => fake.seen.slice(from).map((s) => `${s.method} ${s.path}`);

// ---------------------------------------------------------------- Clicksign (API v1; v3 for the check)

const CLICKSIGN_TOKEN = 'clicksign-token-0123456789abcdef';
const CLICKSIGN_HMAC = 'clicksign-hmac-secret-0123';
const clicksignDocs = new Map<string, { status: string; lists: { signerKey: string; rsk: string }[] }>();
const clicksignSigners = new Map<string, { email: string; name: string }>();
const clicksignLists = new Map<string, { documentKey: string; signerKey: string }>();
/** request_signature_key → what the notification said. */
const clicksignNotified = new Map<string, Record<string, unknown>>();
const clicksignSigned = new Set<string>();
let clicksignCounter = 0;

const clicksignError = (status: number, message: string): Reply => ({ status, body: { errors: [message] } });

function clicksignV1(req: Seen): Reply {
  if (req.query.access_token !== CLICKSIGN_TOKEN || Object.keys(req.query).length !== 1) return clicksignError(401, 'Access denied');
  if (req.method === 'GET') {
    const key = /^\/api\/v1\/documents\/([^/]+)$/.exec(req.path)?.[1];
    const doc = key ? clicksignDocs.get(key) : undefined;
    if (!key || !doc) return clicksignError(404, 'Documento não encontrado');
    const signers = doc.lists.map(({ signerKey, rsk }) => ({
      key: signerKey,
      email: clicksignSigners.get(signerKey)!.email,
      sign_as: 'sign',
      request_signature_key: rsk,
      ...(clicksignSigned.has(signerKey) ? { signature: { signed_at: '2026-12-01T10:00:00.000-03:00' } } : {}),
    }));
    return { status: 200, body: { document: { key, status: doc.status, signers } } };
  }
  if (req.method !== 'POST') return clicksignError(405, 'Method not allowed');
  if (mediaType(req) !== 'application/json') return clicksignError(415, 'Content-Type must be application/json');
  const body = jsonBody(req) as Record<string, any>;
  switch (req.path) {
    case '/api/v1/documents': {
      const d = body?.document;
      if (keysOf(body) !== 'document' || keysOf(d) !== 'auto_close,content_base64,path') return clicksignError(422, 'Parâmetros inválidos');
      if (d.path === '/refused.pdf') return clicksignError(422, 'Path já está em uso');
      if (d.path === '/busy.pdf') return clicksignError(503, 'Service Unavailable');
      if (!/^\/[^/]+\.pdf$/.test(d.path) || d.auto_close !== true) return clicksignError(422, 'Path inválido');
      if (d.content_base64 !== `data:application/pdf;base64,${PDF_BASE64}`) return clicksignError(422, 'Conteúdo inválido');
      // a key that would step out of a URL path, to be refused before any further call
      if (d.path === '/odd-key.pdf') return { status: 201, body: { document: { key: '../doc?x=1', path: d.path, status: 'running' } } };
      const key = `doc-${++clicksignCounter}`;
      clicksignDocs.set(key, { status: 'running', lists: [] });
      return { status: 201, body: { document: { key, path: d.path, status: 'running', signers: [] } } };
    }
    case '/api/v1/signers': {
      const s = body?.signer;
      if (keysOf(body) !== 'signer' || keysOf(s) !== 'auths,delivery,email,name') return clicksignError(422, 'Parâmetros inválidos');
      if (JSON.stringify(s.auths) !== '["email"]' || s.delivery !== 'email' || !s.name || !s.email)
        return clicksignError(422, 'Signatário inválido');
      const key = `signer-${++clicksignCounter}`;
      clicksignSigners.set(key, { email: s.email, name: s.name });
      return { status: 201, body: { signer: { key, email: s.email, name: s.name, auths: ['email'] } } };
    }
    case '/api/v1/lists': {
      const l = body?.list;
      if (keysOf(body) !== 'list' || keysOf(l) !== 'document_key,refusable,sign_as,signer_key')
        return clicksignError(422, 'Parâmetros inválidos');
      const doc = clicksignDocs.get(l.document_key);
      if (!doc || !clicksignSigners.has(l.signer_key) || l.sign_as !== 'sign' || l.refusable !== true) {
        return clicksignError(422, 'Lista inválida');
      }
      const key = `list-${++clicksignCounter}`;
      const rsk = `rsk-${clicksignCounter}`;
      doc.lists.push({ signerKey: l.signer_key, rsk });
      clicksignLists.set(rsk, { documentKey: l.document_key, signerKey: l.signer_key });
      return { status: 201, body: { list: { key, request_signature_key: rsk, document_key: l.document_key, signer_key: l.signer_key } } };
    }
    case '/api/v1/notifications': {
      const allowed = ['message', 'request_signature_key'];
      if (!isRecord(body) || Object.keys(body).some((k) => !allowed.includes(k))) return clicksignError(422, 'Parâmetros inválidos');
      const rsk = String(body.request_signature_key);
      if (!clicksignLists.has(rsk)) return clicksignError(404, 'Requisição de assinatura não encontrada');
      if (body.message === 'unavailable at notification') return clicksignError(503, 'Service Unavailable');
      clicksignNotified.set(rsk, body);
      return { status: 202, raw: '' };
    }
    default:
      return clicksignError(404, 'Not found');
  }
}

function clicksignFake(req: Seen): Reply {
  if (req.path === '/api/v3/envelopes') {
    const ok =
      req.method === 'GET' &&
      req.headers.authorization === CLICKSIGN_TOKEN &&
      req.headers.accept === 'application/vnd.api+json' &&
      req.query['page[size]'] === '1';
    return ok ? { status: 200, body: { data: [] } } : { status: 401, body: { errors: [{ title: 'Unauthorized' }] } };
  }
  return clicksignV1(req);
}

// ---------------------------------------------------------------- D4Sign

const D4SIGN_TOKEN = 'live_d4sign-token-0123456789';
const D4SIGN_CRYPT = 'live_crypt_d4sign-crypt-0123';
const D4SIGN_HMAC = 'd4sign-secret-mac-0123';
const D4SIGN_SAFE = '06b3ddb1-abc9-4ab8-b944-0d7c940486af';
const d4signDocs = new Map<
  string,
  { name: string; webhook?: string; signers?: Record<string, unknown>[]; sent?: Record<string, unknown> }
>();
const d4signSigned = new Set<string>();
let d4signCounter = 0;
/** The inbound URLs of the D4Sign integrations configured here: a webhook registration must name one. */
const d4signHookUrls = new Set<string>();

const d4signError = (status: number, message: string): Reply => ({ status, body: { message } });
const LIST_ENTRY_KEYS = [
  'act',
  'assinatura_presencial',
  'certificadoicpbr',
  'docauth',
  'docauthandselfie',
  'email',
  'embed_methodauth',
  'embed_smsnumber',
  'foreign',
  'upload_allow',
  'upload_obs',
].join(',');

function d4signFake(req: Seen): Reply {
  if (req.query.tokenAPI !== D4SIGN_TOKEN || req.query.cryptKey !== D4SIGN_CRYPT || Object.keys(req.query).length !== 2) {
    return d4signError(401, 'tokenAPI ou cryptKey inválido');
  }
  if (req.method === 'GET' && req.path === '/api/v1/account/balance') return { status: 200, body: [{ credit: '100' }] };
  if (req.method === 'GET' && req.path === '/api/v1/safes')
    return { status: 200, body: [{ uuid_safe: D4SIGN_SAFE, 'name-safe': 'Contratos' }] };
  const match = /^\/api\/v1\/documents\/([^/]+)\/(uploadbinary|webhooks|createlist|sendtosigner|list)$/.exec(req.path);
  if (!match) return d4signError(404, 'Endpoint não encontrado');
  const [, id, action] = match as unknown as [string, string, string];
  if (action === 'list') {
    const doc = d4signDocs.get(id);
    if (req.method !== 'GET' || !doc) return d4signError(404, 'Documento não encontrado');
    const list = (doc.signers ?? []).map((s) => ({
      key_signer: `key-${s.email}`,
      email: s.email,
      signed: d4signSigned.has(`${id}:${s.email}`) ? '1' : '0',
    }));
    return { status: 200, body: [{ uuidDoc: id, nameDoc: doc.name, statusId: '3', statusName: 'Aguardando Assinaturas', list }] };
  }
  if (req.method !== 'POST') return d4signError(405, 'Método não permitido');
  if (mediaType(req) !== 'application/json') return d4signError(400, 'Content-Type deve ser application/json');
  const body = jsonBody(req) as Record<string, any>;
  if (action === 'uploadbinary') {
    if (id !== D4SIGN_SAFE) return d4signError(404, 'Cofre não encontrado');
    if (keysOf(body) !== 'base64_binary_file,mime_type,name') return d4signError(400, 'Parâmetros inválidos');
    if (body.name === 'refused.pdf') return d4signError(400, 'Arquivo corrompido ou inválido');
    if (body.base64_binary_file !== PDF_BASE64 || body.mime_type !== 'application/pdf') return d4signError(400, 'Arquivo inválido');
    if (body.name === 'odd-uuid.pdf') return { status: 200, body: { uuid: '../../safes?tokenAPI=x' } };
    const uuid = `9f08bf18-0000-4000-8000-${String(++d4signCounter).padStart(12, '0')}`;
    d4signDocs.set(uuid, { name: body.name });
    return { status: 200, body: { uuid } };
  }
  const doc = d4signDocs.get(id);
  if (!doc) return d4signError(404, 'Documento não encontrado');
  if (action === 'webhooks') {
    if (keysOf(body) !== 'url' || !d4signHookUrls.has(String(body.url))) return d4signError(400, 'URL inválida');
    doc.webhook = body.url;
    return { status: 200, body: [{ message: 'success' }] };
  }
  if (action === 'createlist') {
    if (keysOf(body) !== 'signers' || !Array.isArray(body.signers) || body.signers.length === 0)
      return d4signError(400, 'Parâmetros inválidos');
    for (const s of body.signers) {
      if (keysOf(s) !== LIST_ENTRY_KEYS) return d4signError(400, 'Signatário com parâmetros inválidos');
      const fixed = { act: '1', foreign: '0', certificadoicpbr: '0', assinatura_presencial: '0', docauth: '0', docauthandselfie: '0' };
      if (Object.entries(fixed).some(([k, v]) => s[k] !== v) || s.embed_methodauth !== 'email')
        return d4signError(400, 'Signatário inválido');
    }
    doc.signers = body.signers;
    return {
      status: 200,
      body: { message: body.signers.map((s: { email: string }) => ({ key_signer: `key-${s.email}`, email: s.email })) },
    };
  }
  // sendtosigner: only once the signers and the webhook are there
  const allowed = ['message', 'skip_email', 'tokenAPI', 'workflow'];
  if (!isRecord(body) || Object.keys(body).some((k) => !allowed.includes(k))) return d4signError(400, 'Parâmetros inválidos');
  if (body.skip_email !== '0' || body.workflow !== '0' || body.tokenAPI !== D4SIGN_TOKEN) return d4signError(400, 'Parâmetros inválidos');
  if (!doc.signers || !doc.webhook) return d4signError(400, 'Documento sem signatários');
  if (body.message === 'refused at send') return d4signError(400, 'Saldo de envios insuficiente');
  doc.sent = body;
  return { status: 200, body: { message: 'File sent to successfully signing' } };
}

// ---------------------------------------------------------------- Certisign (Portal de Assinaturas v2)

const CERTISIGN_TOKEN = '0af0b25dd063404f892137a112831b6f';
const certisignUploads = new Map<string, string>();
const certisignDocs = new Map<number, { body: Record<string, any>; signed: Set<string> }>();
let certisignCounter = 0;

function certisignFake(req: Seen): Reply {
  if (req.headers.token !== CERTISIGN_TOKEN) {
    return { status: 401, body: { statusCode: 401, message: 'Access denied due to invalid subscription key.' } };
  }
  if (req.method === 'GET' && req.path === '/api/v2/document/package')
    return { status: 404, body: { message: 'Documento não encontrado' } };
  if (req.method === 'GET' && req.path === '/api/v2/document/flowActions') {
    const doc = certisignDocs.get(Number(req.query.id));
    if (!doc || Object.keys(req.query).length !== 1) return { status: 404, body: { message: 'Documento não encontrado' } };
    const attendees = (doc.body.signers as { name: string; email: string }[]).map((s) => ({
      actionTaken: doc.signed.has(s.email),
      user: { name: s.name, email: s.email },
    }));
    return { status: 200, body: { steps: [{ order: 1, status: 1, attendees }] } };
  }
  if (req.method !== 'POST') return { status: 404, body: { message: 'Resource not found' } };
  if (mediaType(req) !== 'application/json') return { status: 415, body: { message: 'Unsupported Media Type' } };
  const body = jsonBody(req) as Record<string, any>;
  if (req.path === '/api/v2/document/upload') {
    if (keysOf(body) !== 'bytes,fileName' || body.bytes !== PDF_BASE64 || !body.fileName)
      return { status: 400, body: { message: 'Arquivo inválido' } };
    const uploadId = `${++certisignCounter}-${body.fileName}`;
    certisignUploads.set(uploadId, body.fileName);
    return { status: 200, body: { uploadId } };
  }
  if (req.path !== '/api/v2/document/create') return { status: 404, body: { message: 'Resource not found' } };
  const keys = keysOf(body);
  if (keys !== 'callback,document,signers' && keys !== 'callback,document,message,signers')
    return { status: 400, body: { message: 'Parâmetros inválidos' } };
  const { document, signers } = body;
  if (
    keysOf(document) !== 'name,upload' ||
    keysOf(document.upload) !== 'id,name' ||
    certisignUploads.get(document.upload.id) !== document.name
  ) {
    return { status: 400, body: { message: 'Upload não encontrado' } };
  }
  if (!Array.isArray(signers) || signers.length === 0 || body.callback !== true)
    return { status: 400, body: { message: 'Parâmetros inválidos' } };
  for (const s of signers) {
    if (keysOf(s) !== 'email,name,step,title' || s.step !== 1 || s.title !== 'Signer')
      return { status: 400, body: { message: 'Signatário inválido' } };
    if (s.name === 'Refused Signer') return { status: 400, body: { message: 'O e-mail do signatário está bloqueado' } };
  }
  if (signers[0].name === 'Odd Id') return { status: 200, body: { id: '7001/../x?id=1', chave: 'chave-odd', inProcessing: false } };
  const id = 7000 + ++certisignCounter;
  certisignDocs.set(id, { body, signed: new Set() });
  return { status: 200, body: { id, chave: `chave-${id}`, signUrl: null, inProcessing: false } };
}

// ---------------------------------------------------------------- the service

let server: TestServer;
let clicksignApi: FakeApi;
let d4signApi: FakeApi;
let certisignApi: FakeApi;
type Hook = { id: string; inboundWebhookUrl: string };
const tenants: Record<'clicksign' | 'd4sign' | 'certisign', { token: string; gql: Gql; hook: Hook }> = {} as never;

const OPERATION_FIELDS = 'id status providerReference result deliveryStatus error { code message } attempts { httpStatus outcome error }';

async function requestSignature(provider: keyof typeof tenants, input: Record<string, unknown>) {
  const data = await tenants[provider].gql(
    `mutation($input: RequestSignatureInput!) { requestSignature(input: $input) { __typename
      ... on RequestSignaturePayload { operation { ${OPERATION_FIELDS} } } ... on Error { message } } }`,
    { input: { documentName: 'contract.pdf', documentBase64: PDF_BASE64, ...input, waitSeconds: 15 } },
  );
  expect(data.requestSignature.__typename, data.requestSignature.message).toBe('RequestSignaturePayload');
  return data.requestSignature.operation;
}

async function trackSignature(provider: keyof typeof tenants, signatureReference: string) {
  const data = await tenants[provider].gql(
    `mutation($input: TrackSignatureInput!) { trackSignature(input: $input) { __typename
      ... on TrackSignaturePayload { operation { ${OPERATION_FIELDS} } } ... on Error { message } } }`,
    { input: { signatureReference, waitSeconds: 15 } },
  );
  expect(data.trackSignature.__typename, data.trackSignature.message).toBe('TrackSignaturePayload');
  return data.trackSignature.operation;
}

async function deliveryStatus(provider: keyof typeof tenants, id: string): Promise<string | null> {
  const data = await tenants[provider].gql(`query($id: ID!) { operation(id: $id) { deliveryStatus } }`, { id });
  return data.operation.deliveryStatus;
}

async function integrationStatus(provider: keyof typeof tenants): Promise<string> {
  const data = await tenants[provider].gql(`query($id: ID!) { integration(id: $id) { status } }`, { id: tenants[provider].hook.id });
  return data.integration.status;
}

async function configure(provider: keyof typeof tenants, credentials: Record<string, unknown>) {
  const token = await server.token({ tenant_id: `esign-${provider}` });
  const gql = gqlAs(server, { token });
  const hook = (await configureActive(gql, provider, credentials)) as Hook;
  await addRule(gql, { capability: 'request_signature', integrationId: hook.id });
  await addRule(gql, { capability: 'track_signature', integrationId: hook.id });
  tenants[provider] = { token, gql, hook };
}

const post = async (url: string, body: string, headers: Record<string, string>) =>
  (await fetch(url, { method: 'POST', headers, body })).status;

/** Clicksign: `Content-Hmac: sha256=<hex HMAC-SHA256 of the body>`. */
function clicksignCallback(documentKey: string, event: string, secret = CLICKSIGN_HMAC) {
  const body = JSON.stringify({
    event: { name: event, data: {}, occurred_at: new Date().toISOString() },
    document: { key: documentKey, status: 'running' },
  });
  const hmac = createHmac('sha256', secret).update(body).digest('hex');
  return post(tenants.clicksign.hook.inboundWebhookUrl, body, { 'content-type': 'application/json', 'content-hmac': `sha256=${hmac}` });
}

/** D4Sign: `Content-Hmac: sha256=<hex HMAC-SHA256 of the document uuid>`, form body. */
function d4signCallback(uuid: string, typePost: string, secret = D4SIGN_HMAC) {
  const hmac = createHmac('sha256', secret).update(uuid).digest('hex');
  const body = new URLSearchParams({ uuid, type_post: typePost, message: 'status' }).toString();
  return post(tenants.d4sign.hook.inboundWebhookUrl, body, {
    'content-type': 'application/x-www-form-urlencoded',
    'content-hmac': `sha256=${hmac}`,
  });
}

/** Certisign signs nothing: the unguessable hook URL is the only check. */
function certisignCallback(body: Record<string, unknown>) {
  return post(tenants.certisign.hook.inboundWebhookUrl, JSON.stringify(body), { 'content-type': 'application/json' });
}

beforeAll(async () => {
  clicksignApi = await startFakeApi(clicksignFake);
  d4signApi = await startFakeApi(d4signFake);
  certisignApi = await startFakeApi(certisignFake);
  server = await startTestServer({
    CLICKSIGN_API_BASE_URL: clicksignApi.url,
    D4SIGN_API_BASE_URL: d4signApi.url,
    CERTISIGN_API_BASE_URL: certisignApi.url,
  });
  await configure('clicksign', { access_token: CLICKSIGN_TOKEN, hmac_secret: CLICKSIGN_HMAC });
  await configure('d4sign', { token_api: D4SIGN_TOKEN, crypt_key: D4SIGN_CRYPT, hmac_secret: D4SIGN_HMAC });
  d4signHookUrls.add(tenants.d4sign.hook.inboundWebhookUrl);
  await configure('certisign', { api_token: CERTISIGN_TOKEN, environment: 'production' });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await clicksignApi?.close();
  await d4signApi?.close();
  await certisignApi?.close();
});

/** No credential of any of the three in what an operation shows. */
function expectNoSecret(operation: unknown) {
  const text = JSON.stringify(operation);
  for (const secret of [CLICKSIGN_TOKEN, CLICKSIGN_HMAC, D4SIGN_TOKEN, D4SIGN_CRYPT, D4SIGN_HMAC, CERTISIGN_TOKEN]) {
    expect(text).not.toContain(secret);
  }
}

describe('Clicksign', () => {
  it('creates the document, its signer, the list entry and the notification, and answers the document key', async () => {
    const from = clicksignApi.seen.length;
    const op = await requestSignature('clicksign', {
      signers: [{ name: 'Ana Souza', email: 'ana@example.com' }],
      message: 'Por favor, assine.',
    });
    expect(op.status).toBe('SUCCEEDED');
    expect(op.providerReference).toMatch(/^doc-\d+$/);
    expect(op.result).toEqual({ envelopeId: op.providerReference, status: 'running' });
    expect(calls(clicksignApi, from)).toEqual([
      'POST /api/v1/documents',
      'POST /api/v1/signers',
      'POST /api/v1/lists',
      'POST /api/v1/notifications',
    ]);
    const [rsk] = clicksignDocs.get(op.providerReference)!.lists.map((l) => l.rsk);
    expect(clicksignNotified.get(rsk!)).toEqual({ request_signature_key: rsk, message: 'Por favor, assine.' });
    expect(op.attempts).toEqual([{ httpStatus: 202, outcome: 'SUCCEEDED', error: null }]);
    expectNoSecret(op);
  });

  // 1 + 3 calls per signer; runs once src/operations/call.ts allows that many
  it('lists every signer before notifying any', async () => {
    const from = clicksignApi.seen.length;
    const op = await requestSignature('clicksign', {
      signers: [
        { name: 'Gabi', email: 'gabi@example.com' },
        { name: 'Hans', email: 'hans@example.com' },
      ],
    });
    expect(op.status).toBe('SUCCEEDED');
    expect(calls(clicksignApi, from)).toEqual([
      'POST /api/v1/documents',
      'POST /api/v1/signers',
      'POST /api/v1/lists',
      'POST /api/v1/signers',
      'POST /api/v1/lists',
      'POST /api/v1/notifications',
      'POST /api/v1/notifications',
    ]);
    const keys = clicksignDocs.get(op.providerReference)!.lists.map((l) => l.rsk);
    expect(keys.map((k) => clicksignNotified.has(k))).toEqual([true, true]);
  });

  it('names a file without an extension after its type, and sends no message when none is given', async () => {
    const from = clicksignApi.seen.length;
    const op = await requestSignature('clicksign', { documentName: 'Contrato 2026', signers: [{ name: 'Bia', email: 'bia@example.com' }] });
    expect(op.status).toBe('SUCCEEDED');
    expect(JSON.parse(clicksignApi.seen[from]!.body).document.path).toBe('/Contrato 2026.pdf');
    expect(JSON.parse(clicksignApi.seen.at(-1)!.body)).toEqual({ request_signature_key: expect.stringMatching(/^rsk-/) });
  });

  it('tracks the document: its status and each signer’s', async () => {
    const op = await requestSignature('clicksign', { signers: [{ name: 'Caio', email: 'caio@example.com' }] });
    const [list] = clicksignDocs.get(op.providerReference)!.lists;
    let tracked = await trackSignature('clicksign', op.providerReference);
    expect(tracked.status).toBe('SUCCEEDED');
    expect(tracked.result).toEqual({ status: 'running', signers: [{ email: 'caio@example.com', status: 'pending' }] });
    clicksignSigned.add(list!.signerKey);
    clicksignDocs.get(op.providerReference)!.status = 'closed';
    tracked = await trackSignature('clicksign', op.providerReference);
    expect(tracked.result).toEqual({ status: 'closed', signers: [{ email: 'caio@example.com', status: 'signed' }] });
    expect(tracked.providerReference).toBe(op.providerReference);
    const seen = clicksignApi.seen.at(-1)!;
    expect([seen.method, seen.path, seen.query]).toEqual([
      'GET',
      `/api/v1/documents/${op.providerReference}`,
      { access_token: CLICKSIGN_TOKEN },
    ]);
  });

  it('fails PROVIDER_REJECTED on a 422, without failover or the token, and the integration stays ACTIVE', async () => {
    const from = clicksignApi.seen.length;
    const op = await requestSignature('clicksign', { documentName: 'refused.pdf', signers: [{ name: 'Di', email: 'di@example.com' }] });
    expect(op.status).toBe('FAILED');
    expect(op.error.code).toBe('PROVIDER_REJECTED');
    // Clicksign v1 writes errors as { errors: ["…"] }
    expect(op.error.message).toBe('Clicksign rejected the request (HTTP 422): Path já está em uso');
    expect(calls(clicksignApi, from)).toEqual(['POST /api/v1/documents']);
    expectNoSecret(op);
    expect(await integrationStatus('clicksign')).toBe('ACTIVE');
  });

  it('a notification failing after the document was made fails the operation naming that document', async () => {
    const from = clicksignApi.seen.length;
    const op = await requestSignature('clicksign', {
      signers: [{ name: 'Ivo', email: 'ivo@example.com' }],
      message: 'unavailable at notification',
    });
    expect(op.status).toBe('FAILED');
    expect(op.error.code).toBe('PROVIDER_REJECTED');
    expect(op.error.message).toContain('Clicksign is unavailable (HTTP 503)');
    expect(calls(clicksignApi, from)).toEqual([
      'POST /api/v1/documents',
      'POST /api/v1/signers',
      'POST /api/v1/lists',
      'POST /api/v1/notifications',
    ]);
    // the document exists at Clicksign, with its signer listed: the tenant can find and cancel it
    expect(op.providerReference).toMatch(/^doc-\d+$/);
    expect(clicksignDocs.get(op.providerReference)!.lists).toHaveLength(1);
    expectNoSecret(op);
  });

  it('a document key that could change a URL is PROVIDER_REJECTED before any further call', async () => {
    const from = clicksignApi.seen.length;
    const op = await requestSignature('clicksign', { documentName: 'odd-key.pdf', signers: [{ name: 'Jo', email: 'jo@example.com' }] });
    expect(op.status).toBe('FAILED');
    expect(op.error.code).toBe('PROVIDER_REJECTED');
    expect(op.error.message).toContain('not a plain key');
    expect(calls(clicksignApi, from)).toEqual(['POST /api/v1/documents']);
    expect(op.providerReference).toBeNull();
  });

  it('an unknown document to track is PROVIDER_REJECTED (404)', async () => {
    const op = await trackSignature('clicksign', 'doc-unknown');
    expect(op.status).toBe('FAILED');
    expect(op.error.code).toBe('PROVIDER_REJECTED');
    expect(op.error.message).toContain('HTTP 404');
  });

  it('webhooks set deliveryStatus of the document’s operation: signed, then closed; other events change nothing', async () => {
    const op = await requestSignature('clicksign', { signers: [{ name: 'Eva', email: 'eva@example.com' }] });
    expect(await clicksignCallback(op.providerReference, 'add_signer')).toBe(200);
    expect(await deliveryStatus('clicksign', op.id)).toBeNull();
    expect(await clicksignCallback(op.providerReference, 'sign')).toBe(200);
    expect(await deliveryStatus('clicksign', op.id)).toBe('signed');
    expect(await clicksignCallback(op.providerReference, 'auto_close')).toBe(200);
    expect(await deliveryStatus('clicksign', op.id)).toBe('closed');
    // a signer's sign event delivered late does not reopen it
    expect(await clicksignCallback(op.providerReference, 'sign')).toBe(200);
    expect(await deliveryStatus('clicksign', op.id)).toBe('closed');
  });

  it('a refusal and a cancellation set refused and canceled; a bad Content-Hmac changes nothing (401)', async () => {
    const op = await requestSignature('clicksign', { signers: [{ name: 'Fábio', email: 'fabio@example.com' }] });
    expect(await clicksignCallback(op.providerReference, 'refusal', 'not-the-secret')).toBe(401);
    expect(await deliveryStatus('clicksign', op.id)).toBeNull();
    expect(await clicksignCallback(op.providerReference, 'refusal')).toBe(200);
    expect(await deliveryStatus('clicksign', op.id)).toBe('refused');
    expect(await clicksignCallback(op.providerReference, 'cancel')).toBe(200);
    expect(await deliveryStatus('clicksign', op.id)).toBe('canceled');
  });
});

describe('D4Sign', () => {
  it('finds the safe, uploads, registers the POSTback URL, lists the signers and sends, answering the document uuid', async () => {
    const from = d4signApi.seen.length;
    const op = await requestSignature('d4sign', {
      signers: [
        { name: 'Ana', email: 'ana@example.com' },
        { name: 'Bruno', email: 'bruno@example.com' },
      ],
      message: 'Assine, por favor.',
    });
    expect(op.status).toBe('SUCCEEDED');
    const uuid = op.providerReference;
    expect(uuid).toMatch(/^9f08bf18-/);
    expect(op.result).toEqual({ envelopeId: uuid, status: 'sent' });
    expect(calls(d4signApi, from)).toEqual([
      'GET /api/v1/safes',
      `POST /api/v1/documents/${D4SIGN_SAFE}/uploadbinary`,
      `POST /api/v1/documents/${uuid}/webhooks`,
      `POST /api/v1/documents/${uuid}/createlist`,
      `POST /api/v1/documents/${uuid}/sendtosigner`,
    ]);
    const doc = d4signDocs.get(uuid)!;
    expect(doc.name).toBe('contract.pdf');
    expect(doc.webhook).toBe(tenants.d4sign.hook.inboundWebhookUrl);
    expect(doc.signers!.map((s) => s.email)).toEqual(['ana@example.com', 'bruno@example.com']);
    expect(doc.sent).toEqual({ message: 'Assine, por favor.', skip_email: '0', workflow: '0', tokenAPI: D4SIGN_TOKEN });
    expectNoSecret(op);
  });

  it('tracks the document: D4Sign’s status name and each signer’s', async () => {
    const op = await requestSignature('d4sign', {
      signers: [
        { name: 'Carla', email: 'carla@example.com' },
        { name: 'Davi', email: 'davi@example.com' },
      ],
    });
    d4signSigned.add(`${op.providerReference}:carla@example.com`);
    const tracked = await trackSignature('d4sign', op.providerReference);
    expect(tracked.status).toBe('SUCCEEDED');
    expect(tracked.result).toEqual({
      status: 'Aguardando Assinaturas',
      signers: [
        { email: 'carla@example.com', status: 'signed' },
        { email: 'davi@example.com', status: 'pending' },
      ],
    });
    expect(d4signApi.seen.at(-1)!.path).toBe(`/api/v1/documents/${op.providerReference}/list`);
  });

  it('fails PROVIDER_REJECTED with D4Sign’s message, without the token or crypt key', async () => {
    const from = d4signApi.seen.length;
    const op = await requestSignature('d4sign', { documentName: 'refused.pdf', signers: [{ name: 'Eli', email: 'eli@example.com' }] });
    expect(op.status).toBe('FAILED');
    expect(op.error.code).toBe('PROVIDER_REJECTED');
    expect(op.error.message).toContain('D4Sign rejected the request (HTTP 400): Arquivo corrompido ou inválido');
    expect(calls(d4signApi, from)).toEqual(['GET /api/v1/safes', `POST /api/v1/documents/${D4SIGN_SAFE}/uploadbinary`]);
    expectNoSecret(op);
    expect(await integrationStatus('d4sign')).toBe('ACTIVE');
  });

  it('a send failing after the upload fails the operation naming the uploaded document', async () => {
    const from = d4signApi.seen.length;
    const op = await requestSignature('d4sign', { signers: [{ name: 'Iara', email: 'iara@example.com' }], message: 'refused at send' });
    expect(op.status).toBe('FAILED');
    expect(op.error.code).toBe('PROVIDER_REJECTED');
    expect(op.error.message).toContain('D4Sign rejected the request (HTTP 400): Saldo de envios insuficiente');
    const uuid = op.providerReference;
    expect(uuid).toMatch(/^9f08bf18-/);
    expect(calls(d4signApi, from)).toEqual([
      'GET /api/v1/safes',
      `POST /api/v1/documents/${D4SIGN_SAFE}/uploadbinary`,
      `POST /api/v1/documents/${uuid}/webhooks`,
      `POST /api/v1/documents/${uuid}/createlist`,
      `POST /api/v1/documents/${uuid}/sendtosigner`,
    ]);
    expect(d4signDocs.get(uuid)!.signers!.map((s) => s.email)).toEqual(['iara@example.com']);
    expectNoSecret(op);
  });

  it('an uploaded document uuid that is not a UUID is PROVIDER_REJECTED before any further call', async () => {
    const from = d4signApi.seen.length;
    const op = await requestSignature('d4sign', { documentName: 'odd-uuid.pdf', signers: [{ name: 'Juca', email: 'juca@example.com' }] });
    expect(op.status).toBe('FAILED');
    expect(op.error.code).toBe('PROVIDER_REJECTED');
    expect(op.error.message).toContain('not a UUID');
    expect(calls(d4signApi, from)).toEqual(['GET /api/v1/safes', `POST /api/v1/documents/${D4SIGN_SAFE}/uploadbinary`]);
    expect(op.providerReference).toBeNull();
    expectNoSecret(op);
  });

  it('late partial POSTbacks (signed 4, undelivered 2) do not replace completed (1)', async () => {
    const op = await requestSignature('d4sign', { signers: [{ name: 'Lia', email: 'lia@example.com' }] });
    expect(await d4signCallback(op.providerReference, '1')).toBe(200);
    expect(await deliveryStatus('d4sign', op.id)).toBe('completed');
    expect(await d4signCallback(op.providerReference, '4')).toBe(200);
    expect(await d4signCallback(op.providerReference, '2')).toBe(200);
    expect(await deliveryStatus('d4sign', op.id)).toBe('completed');
  });

  it('POSTbacks set deliveryStatus by uuid: signed (4), then completed (1); a bad Content-Hmac changes nothing', async () => {
    const op = await requestSignature('d4sign', { signers: [{ name: 'Gil', email: 'gil@example.com' }] });
    expect(await d4signCallback(op.providerReference, '4', 'not-the-secret')).toBe(401);
    expect(await deliveryStatus('d4sign', op.id)).toBeNull();
    expect(await d4signCallback(op.providerReference, '4')).toBe(200);
    expect(await deliveryStatus('d4sign', op.id)).toBe('signed');
    expect(await d4signCallback(op.providerReference, '1')).toBe(200);
    expect(await deliveryStatus('d4sign', op.id)).toBe('completed');
  });

  it('a canceled document (3) sets canceled; an unknown type_post changes nothing', async () => {
    const op = await requestSignature('d4sign', { signers: [{ name: 'Hugo', email: 'hugo@example.com' }] });
    expect(await d4signCallback(op.providerReference, '9')).toBe(200);
    expect(await deliveryStatus('d4sign', op.id)).toBeNull();
    expect(await d4signCallback(op.providerReference, '3')).toBe(200);
    expect(await deliveryStatus('d4sign', op.id)).toBe('canceled');
  });
});

describe('Certisign', () => {
  it('uploads the bytes, then creates the document with its signers, answering the document id', async () => {
    const from = certisignApi.seen.length;
    const op = await requestSignature('certisign', {
      signers: [
        { name: 'Ana', email: 'ana@example.com' },
        { name: 'Beto', email: 'beto@example.com' },
      ],
      message: 'Favor assinar.',
    });
    expect(op.status).toBe('SUCCEEDED');
    expect(op.providerReference).toMatch(/^7\d+$/);
    expect(op.result).toEqual({ envelopeId: op.providerReference, status: 'created' });
    expect(calls(certisignApi, from)).toEqual(['POST /api/v2/document/upload', 'POST /api/v2/document/create']);
    const created = certisignDocs.get(Number(op.providerReference))!.body;
    expect(created).toEqual({
      document: { name: 'contract.pdf', upload: { id: expect.any(String), name: 'contract.pdf' } },
      signers: [
        { step: 1, title: 'Signer', name: 'Ana', email: 'ana@example.com' },
        { step: 1, title: 'Signer', name: 'Beto', email: 'beto@example.com' },
      ],
      callback: true,
      message: 'Favor assinar.',
    });
    expectNoSecret(op);
  });

  it('tracks the document through its flow actions', async () => {
    const op = await requestSignature('certisign', {
      signers: [
        { name: 'Caio', email: 'caio@example.com' },
        { name: 'Dora', email: 'dora@example.com' },
      ],
    });
    const doc = certisignDocs.get(Number(op.providerReference))!;
    doc.signed.add('dora@example.com');
    let tracked = await trackSignature('certisign', op.providerReference);
    expect(tracked.result).toEqual({
      status: 'pending',
      signers: [
        { email: 'caio@example.com', status: 'pending' },
        { email: 'dora@example.com', status: 'signed' },
      ],
    });
    doc.signed.add('caio@example.com');
    tracked = await trackSignature('certisign', op.providerReference);
    expect(tracked.result.status).toBe('completed');
    const seen = certisignApi.seen.at(-1)!;
    expect([seen.method, seen.path, seen.query]).toEqual(['GET', '/api/v2/document/flowActions', { id: op.providerReference }]);
  });

  it('fails PROVIDER_REJECTED with Certisign’s message at the second call, without the subscription key', async () => {
    const op = await requestSignature('certisign', { signers: [{ name: 'Refused Signer', email: 'rs@example.com' }] });
    expect(op.status).toBe('FAILED');
    expect(op.error.code).toBe('PROVIDER_REJECTED');
    expect(op.error.message).toContain('Certisign rejected the request (HTTP 400): O e-mail do signatário está bloqueado');
    // no document exists before create answers: an upload names nothing to cancel
    expect(op.providerReference).toBeNull();
    expectNoSecret(op);
    expect(await integrationStatus('certisign')).toBe('ACTIVE');
  });

  it('a document id that could change a URL is PROVIDER_REJECTED', async () => {
    const from = certisignApi.seen.length;
    const op = await requestSignature('certisign', { signers: [{ name: 'Odd Id', email: 'odd@example.com' }] });
    expect(op.status).toBe('FAILED');
    expect(op.error.code).toBe('PROVIDER_REJECTED');
    expect(op.error.message).toContain('not a plain id');
    expect(calls(certisignApi, from)).toEqual(['POST /api/v2/document/upload', 'POST /api/v2/document/create']);
  });

  it('a late partial callback (Signed) does not replace a final one (Concluded)', async () => {
    const op = await requestSignature('certisign', { signers: [{ name: 'Gil', email: 'gil@example.com' }] });
    expect(await certisignCallback({ documentId: Number(op.providerReference), status: 'Concluded' })).toBe(200);
    expect(await deliveryStatus('certisign', op.id)).toBe('concluded');
    expect(await certisignCallback({ documentId: Number(op.providerReference), status: 'Signed' })).toBe(200);
    expect(await deliveryStatus('certisign', op.id)).toBe('concluded');
  });

  it('callbacks set deliveryStatus of the document named by its id', async () => {
    const op = await requestSignature('certisign', { signers: [{ name: 'Eva', email: 'eva@example.com' }] });
    expect(await certisignCallback({ documentId: Number(op.providerReference), status: 'Signed' })).toBe(200);
    expect(await deliveryStatus('certisign', op.id)).toBe('signed');
    expect(await certisignCallback({ id: Number(op.providerReference), event: 'Concluded' })).toBe(200);
    expect(await deliveryStatus('certisign', op.id)).toBe('concluded');
    // a body naming no status changes nothing
    const other = await requestSignature('certisign', { signers: [{ name: 'Fil', email: 'fil@example.com' }] });
    expect(await certisignCallback({ documentId: Number(other.providerReference) })).toBe(200);
    expect(await deliveryStatus('certisign', other.id)).toBeNull();
  });
});

describe('a follow-up goes to the integration that made its reference', () => {
  it('tracks a request the fallback made on the fallback, not on the rule’s primary; with that integration off, NoActiveProviderError', async () => {
    const token = await server.token({ tenant_id: 'esign-pinned' });
    const gql = gqlAs(server, { token });
    const clicksign = await configureActive(gql, 'clicksign', { access_token: CLICKSIGN_TOKEN, hmac_secret: CLICKSIGN_HMAC });
    const d4sign = await configureActive(gql, 'd4sign', { token_api: D4SIGN_TOKEN, crypt_key: D4SIGN_CRYPT, hmac_secret: D4SIGN_HMAC });
    d4signHookUrls.add(d4sign.inboundWebhookUrl!);
    for (const capability of ['request_signature', 'track_signature']) {
      await addRule(gql, { capability, integrationId: clicksign.id, fallbackIntegrationId: d4sign.id });
    }
    const run = async (mutation: 'requestSignature' | 'trackSignature', input: Record<string, unknown>) => {
      const type = `${mutation[0]!.toUpperCase()}${mutation.slice(1)}`;
      const data = await gql(
        `mutation($input: ${type}Input!) { ${mutation}(input: $input) { __typename
          ... on ${type}Payload { operation { ${OPERATION_FIELDS} usedFallback integration { id } } } ... on Error { code message } } }`,
        { input: { ...input, waitSeconds: 15 } },
      );
      return data[mutation];
    };
    // Clicksign is unavailable for this one: D4Sign, the fallback, makes it
    const requested = await run('requestSignature', {
      documentName: 'busy.pdf',
      documentBase64: PDF_BASE64,
      signers: [{ name: 'Eva', email: 'eva@example.com' }],
    });
    expect(requested.operation, JSON.stringify(requested.operation)).toMatchObject({
      status: 'SUCCEEDED',
      usedFallback: true,
      integration: { id: d4sign.id },
    });
    const clicksignCalls = clicksignApi.seen.length;
    const tracked = await run('trackSignature', { signatureReference: requested.operation.providerReference });
    expect(tracked.operation).toMatchObject({ status: 'SUCCEEDED', usedFallback: false, integration: { id: d4sign.id } });
    expect(tracked.operation.attempts).toHaveLength(1);
    // the rule's primary, Clicksign, was not asked about a document it never made
    expect(clicksignApi.seen.length).toBe(clicksignCalls);

    const disabled = await gql(
      'mutation($input: DisableIntegrationInput!) { disableIntegration(input: $input) { __typename ... on Error { message } } }',
      { input: { id: d4sign.id } },
    );
    expect(disabled.disableIntegration.__typename, disabled.disableIntegration.message).toBe('DisableIntegrationPayload');
    const refused = await run('trackSignature', { signatureReference: requested.operation.providerReference });
    expect(refused).toMatchObject({
      __typename: 'NoActiveProviderError',
      code: 'NO_ACTIVE_PROVIDER',
      message: 'no ACTIVE integration serves "track_signature": the d4sign integration that made it is not ACTIVE for it',
    });
    // a reference no operation made is routed as usual (Clicksign, the primary, does not know it)
    const elsewhere = await run('trackSignature', { signatureReference: 'made-elsewhere-0001' });
    expect(elsewhere.operation.integration).toEqual({ id: clicksign.id });
  });
});

describe('the sandbox or live origin', () => {
  const cases = [
    { name: 'clicksign', stage: 'https://sandbox.clicksign.com', production: 'https://app.clicksign.com' },
    { name: 'd4sign', stage: 'https://sandbox.d4sign.com.br', production: 'https://secure.d4sign.com.br' },
    { name: 'certisign', stage: 'https://api-sbx.portaldeassinaturas.com.br', production: 'https://api.portaldeassinaturas.com.br' },
  ];
  for (const c of cases) {
    it(`${c.name}: environment picks the origin of both capabilities (no override)`, () => {
      const provider = findProvider(c.name)!;
      const urls = (environment?: string) =>
        (['request_signature', 'track_signature'] as const).map((capability) => {
          const ctx: OperationCallContext = { origin: (fallback) => fallback, operationId: 'op', callbackUrl: 'https://hooks.example/x' };
          const credentials = {
            access_token: 't',
            token_api: 't',
            safe_uuid: 's',
            api_token: 't',
            ...(environment ? { environment } : {}),
          };
          const input = {
            documentName: 'a.pdf',
            documentBase64: PDF_BASE64,
            signers: [{ name: 'A', email: 'a@example.com' }],
            signatureReference: 'r',
          };
          return new URL(provider.operations![capability]!.request(input, credentials, ctx).url).origin;
        });
      expect(urls('stage')).toEqual([c.stage, c.stage]);
      expect(urls('production')).toEqual([c.production, c.production]);
      expect(urls(undefined)).toEqual([c.stage, c.stage]);
    });
  }

  it('the <PROVIDER>_API_BASE_URL override replaces either origin (Certisign here is configured for production)', () => {
    expect(certisignApi.seen.some((s) => s.path === '/api/v2/document/create')).toBe(true);
  });
});
