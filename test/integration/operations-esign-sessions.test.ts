/**
 * requestSignature and trackSignature on DocuSign and Acrobat Sign, whose API tokens expire: loopback
 * fakes of each auth server (DocuSign's JWT grant checked with the public key of a generated RSA
 * pair, Adobe's refresh form) and of each API (method, path, Bearer token, content type, every
 * field). Covers session reuse, renewal near expiry and after a 401, a refused refresh failing over,
 * the session sealed at rest, verification through the same grant, and status callbacks.
 */
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsAad, revealCredentials } from '../../src/crypto/credentials.ts';
import { forTenant } from '../../src/db/tenant.ts';
import { SESSION_KEY } from '../../src/operations/sessions.ts';
import type { CredentialValue } from '../../src/providers/types.ts';
import { eventually, startTestServer, type TestServer } from '../helpers/app.ts';
import { type FakeApi, type Reply, type Seen, startFakeApi } from '../helpers/fake-api.ts';
import { addRule, configureActive, configureIntegration, type Gql, gqlAs } from '../helpers/integrations.ts';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const keysOf = (v: unknown) => (isRecord(v) ? Object.keys(v).sort().join(',') : `not an object: ${JSON.stringify(v)}`);
const mediaType = (req: Seen) =>
  String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();

/** An ASCII document, so the fakes (which read bodies as text) can compare it byte for byte. */
const DOCUMENT = Buffer.from('%PDF-1.4\n% a document to sign\n%%EOF\n').toString('base64');
const SIGNERS = [
  { name: 'Ana Lima', email: 'ana@example.com' },
  { name: 'Bo Chen', email: 'bo@example.com' },
];

// ---------------------------------------------------------------- DocuSign (JWT grant, eSignature v2.1)

const DS_KEYS = generateKeyPairSync('rsa', { modulusLength: 2048 });
const DS_PRIVATE_KEY = DS_KEYS.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const DS_INTEGRATION_KEY = '2f6a8a4e-0000-4000-8000-00000000ik01';
const DS_ACCOUNT = '5d4e3f2a-0000-4000-8000-00000000acc1';
const DS_OTHER_ACCOUNT = '5d4e3f2a-0000-4000-8000-00000000acc2';
const DS_HMAC = 'connect-hmac-key-0123456789';
/** One DocuSign user per integration, so the grants of each are counted apart; the value is expires_in. */
const DS_USERS = {
  main: { id: '9b1c7d3e-0000-4000-8000-0000000user1', expiresIn: 3600 },
  short: { id: '9b1c7d3e-0000-4000-8000-0000000user2', expiresIn: 60 },
  fallback: { id: '9b1c7d3e-0000-4000-8000-0000000user3', expiresIn: 3600 },
  renew: { id: '9b1c7d3e-0000-4000-8000-0000000user4', expiresIn: 3600 },
};
const DS_EXPIRES_IN = new Map(Object.values(DS_USERS).map((u) => [u.id, u.expiresIn]));
/** Access token → the user it was granted to, and the tokens DocuSign no longer accepts. */
const dsTokens = new Map<string, string>();
const dsRevoked = new Set<string>();
/** Each envelope as DocuSign keeps it, with the Connect settings its eventNotification asked for. */
const dsEnvelopes = new Map<
  string,
  { signers: { email: string; name: string }[]; status: string; callbackUrl: string; includeHMAC: boolean }
>();

const dsError = (status: number, errorCode: string, message: string): Reply => ({ status, body: { errorCode, message } });

async function docusignFake(req: Seen): Promise<Reply> {
  if (req.path === '/oauth/token') {
    if (req.method !== 'POST') return { status: 405 };
    if (mediaType(req) !== 'application/x-www-form-urlencoded') return { status: 400, body: { error: 'invalid_request' } };
    const form = new URLSearchParams(req.body);
    if ([...form.keys()].sort().join(',') !== 'assertion,grant_type') return { status: 400, body: { error: 'invalid_request' } };
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return { status: 400, body: { error: 'unsupported_grant_type' } };
    try {
      const { payload } = await jwtVerify(form.get('assertion')!, DS_KEYS.publicKey, {
        issuer: DS_INTEGRATION_KEY,
        audience: new URL(docusignApi.url).host,
        algorithms: ['RS256'],
        typ: 'JWT',
      });
      const expiresIn = DS_EXPIRES_IN.get(String(payload.sub));
      if (payload.scope !== 'signature impersonation' || !expiresIn) return { status: 400, body: { error: 'invalid_grant' } };
      const token = `ds-access-${randomUUID()}`;
      dsTokens.set(token, String(payload.sub));
      return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: expiresIn } };
    } catch {
      return { status: 400, body: { error: 'invalid_grant', error_description: 'no_valid_keys_or_signatures' } };
    }
  }
  const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
  const valid = !!token && dsTokens.has(token) && !dsRevoked.has(token);
  if (req.path === '/oauth/userinfo' && req.method === 'GET') {
    if (!valid) return { status: 401, body: { error: 'invalid_token' } };
    return {
      status: 200,
      body: {
        sub: dsTokens.get(token!),
        accounts: [
          { account_id: DS_OTHER_ACCOUNT, is_default: false, account_name: 'Other', base_uri: 'http://127.0.0.1:9' },
          { account_id: DS_ACCOUNT, is_default: true, account_name: 'Main', base_uri: docusignApi.url },
        ],
      },
    };
  }
  const base = `/restapi/v2.1/accounts/${DS_ACCOUNT}/envelopes`;
  if (!req.path.startsWith(base)) return dsError(404, 'INVALID_REQUEST_PARAMETER', 'The URL provided does not resolve to a resource.');
  if (!valid) return dsError(401, 'USER_AUTHENTICATION_FAILED', 'One or both of Username and Password are invalid.');
  if (req.path === base && req.method === 'POST') return dsCreateEnvelope(req);
  const id = decodeURIComponent(req.path.slice(base.length + 1));
  if (req.method === 'GET' && id && !id.includes('/')) {
    if (JSON.stringify(req.query) !== JSON.stringify({ include: 'recipients' })) return dsError(400, 'INVALID_REQUEST_PARAMETER', 'query');
    const envelope = dsEnvelopes.get(id);
    if (!envelope)
      return dsError(404, 'ENVELOPE_DOES_NOT_EXIST', 'The envelope specified either does not exist or you have no rights to it.');
    return {
      status: 200,
      body: {
        envelopeId: id,
        status: envelope.status,
        emailSubject: 'x',
        recipients: {
          signers: envelope.signers.map((s, i) => ({
            ...s,
            recipientId: String(i + 1),
            routingOrder: String(i + 1),
            status: i === 0 ? 'delivered' : 'created',
          })),
          carbonCopies: [],
        },
      },
    };
  }
  return dsError(405, 'INVALID_REQUEST_PARAMETER', 'method');
}

/** Envelopes: create, as DocuSign reads it: the fields this service sends and nothing else. */
function dsCreateEnvelope(req: Seen): Reply {
  if (mediaType(req) !== 'application/json') return dsError(415, 'INVALID_CONTENT_TYPE', 'Content Type specified is not supported.');
  const body = JSON.parse(req.body) as Record<string, any>;
  const bad = (message: string) => dsError(400, 'INVALID_REQUEST_BODY', message);
  if (keysOf(body) !== 'documents,emailBlurb,emailSubject,eventNotification,recipients,status') return bad(`fields ${keysOf(body)}`);
  if (typeof body.emailSubject !== 'string' || body.emailSubject.length > 100) return bad('emailSubject');
  if (body.status !== 'sent') return bad('status');
  const [doc, ...more] = body.documents ?? [];
  if (more.length || keysOf(doc) !== 'documentBase64,documentId,fileExtension,name') return bad('documents');
  if (doc.documentBase64 !== DOCUMENT || doc.name !== 'contract.pdf' || doc.fileExtension !== 'pdf' || doc.documentId !== '1') {
    return bad('document');
  }
  if (keysOf(body.recipients) !== 'signers' || !Array.isArray(body.recipients.signers)) return bad('recipients');
  const signers = body.recipients.signers as Record<string, unknown>[];
  for (const [i, s] of signers.entries()) {
    if (keysOf(s) !== 'email,name,recipientId,routingOrder') return bad(`signer ${i} fields ${keysOf(s)}`);
    if (s.recipientId !== String(i + 1) || !/^[1-9]\d*$/.test(String(s.routingOrder))) return bad(`signer ${i} ids`);
  }
  const notification = body.eventNotification;
  const notificationKeys = keysOf(notification).replace('includeHMAC,', '');
  if (notificationKeys !== 'deliveryMode,eventData,events,requireAcknowledgment,url')
    return bad(`eventNotification ${keysOf(notification)}`);
  // EventNotification flags are strings ("true"/"false")
  if (notification.includeHMAC !== undefined && notification.includeHMAC !== 'true' && notification.includeHMAC !== 'false') {
    return bad('eventNotification.includeHMAC');
  }
  if (!/^http:\/\/127\.0\.0\.1:\d+\/hooks\/docusign\/[^/]+$/.test(notification.url))
    return bad(`eventNotification.url ${notification.url}`);
  if (JSON.stringify(notification.eventData) !== JSON.stringify({ version: 'restv2.1', format: 'json' })) return bad('eventData');
  if (notification.deliveryMode !== 'SIM' || notification.requireAcknowledgment !== 'true') return bad('delivery');
  const envelopeId = randomUUID();
  dsEnvelopes.set(envelopeId, {
    signers: signers.map((s) => ({ email: String(s.email), name: String(s.name) })),
    status: 'sent',
    callbackUrl: notification.url,
    includeHMAC: notification.includeHMAC === 'true',
  });
  return { status: 201, body: { envelopeId, uri: `/envelopes/${envelopeId}`, statusDateTime: new Date().toISOString(), status: 'sent' } };
}

/**
 * DocuSign Connect delivering one of an envelope's events to the URL the envelope named: signed
 * with the account's HMAC key only when the envelope asked for it (includeHMAC), as DocuSign does.
 */
async function dsConnect(envelopeId: string, event: string, data: Record<string, unknown> = {}) {
  const envelope = dsEnvelopes.get(envelopeId);
  if (!envelope) throw new Error(`no envelope ${envelopeId}`);
  const body = JSON.stringify({
    event,
    generatedDateTime: new Date().toISOString(),
    data: { accountId: DS_ACCOUNT, envelopeId, ...data },
  });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (envelope.includeHMAC) headers['x-docusign-signature-1'] = createHmac('sha256', DS_HMAC).update(body).digest('base64');
  return fetch(envelope.callbackUrl, { method: 'POST', headers, body });
}

/**
 * A careless provider: its error answers repeat what the request carried (the Authorization
 * header, the form's refresh token, client secret and assertion), so the checks that no secret
 * reaches an error have something to find.
 */
function echoingSecrets(route: (req: Seen) => Reply | Promise<Reply>) {
  return async (req: Seen): Promise<Reply> => {
    const reply = await route(req);
    if (reply.status < 400) return reply;
    const form = mediaType(req) === 'application/x-www-form-urlencoded' ? [...new URLSearchParams(req.body)] : [];
    const echo = [`authorization=${req.headers.authorization ?? ''}`, ...form.map(([k, v]) => `${k}=${v}`)].join(' ');
    const body = isRecord(reply.body) ? reply.body : {};
    const message = typeof body.message === 'string' ? `${body.message} (request: ${echo})` : `request: ${echo}`;
    return { ...reply, body: { ...body, message, error_description: `${String(body.error_description ?? 'refused')} (${echo})` } };
  };
}

// ---------------------------------------------------------------- Acrobat Sign (refresh token, REST v6)

const ADOBE_CLIENT_ID = 'CBJCHBCAABAAclient01';
const ADOBE_CLIENT_SECRET = 'adobe-client-secret-0123456789';
const ADOBE_USER = 'ops@example.com';
const ADOBE_REFRESH = {
  main: '3AAABLKrefresh-main-0123456789',
  failover: '3AAABLKrefresh-failover-0123456789',
  revoked: '3AAABLKrefresh-revoked-0123456789',
};
/** A placeholder the refresh flow must never send (it is not the refreshed token). */
const ADOBE_STALE_ACCESS = '3AAABLKstale-access-token-0123456789';
const adobeRevokedRefresh = new Set<string>();
const adobeTokens = new Set<string>();
const adobeTransient = new Set<string>();
const adobeAgreements = new Map<string, { emails: string[] }>();
const adobeRefreshes = (refreshToken: string) =>
  adobeApi.seen.filter((s) => s.path === '/oauth/v2/refresh' && new URLSearchParams(s.body).get('refresh_token') === refreshToken).length;

const adobeError = (status: number, code: string, message: string): Reply => ({ status, body: { code, message } });

async function adobeFake(req: Seen): Promise<Reply> {
  if (req.path === '/oauth/v2/refresh') {
    if (req.method !== 'POST' || mediaType(req) !== 'application/x-www-form-urlencoded')
      return { status: 400, body: { error: 'invalid_request' } };
    const form = new URLSearchParams(req.body);
    if ([...form.keys()].sort().join(',') !== 'client_id,client_secret,grant_type,refresh_token')
      return { status: 400, body: { error: 'invalid_request' } };
    if (form.get('grant_type') !== 'refresh_token') return { status: 400, body: { error: 'unsupported_grant_type' } };
    if (form.get('client_id') !== ADOBE_CLIENT_ID || form.get('client_secret') !== ADOBE_CLIENT_SECRET) {
      return { status: 401, body: { error: 'invalid_client' } };
    }
    const refresh = form.get('refresh_token')!;
    if (!Object.values(ADOBE_REFRESH).includes(refresh) || adobeRevokedRefresh.has(refresh)) {
      return { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid refresh token' } };
    }
    const token = `3AAABLKaccess-${randomUUID()}`;
    adobeTokens.add(token);
    return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: 3600 } };
  }
  const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
  if (!token || !adobeTokens.has(token)) return adobeError(401, 'INVALID_ACCESS_TOKEN', 'Access token provided is invalid or has expired');
  if (req.headers['x-api-user'] !== `email:${ADOBE_USER}`) return adobeError(403, 'INVALID_USER', 'x-api-user');
  const api = '/api/rest/v6';
  if (req.method === 'GET' && req.path === `${api}/baseUris`) {
    return { status: 200, body: { apiAccessPoint: `${adobeApi.url}/`, webAccessPoint: 'https://secure.example.test/' } };
  }
  if (req.method === 'POST' && req.path === `${api}/transientDocuments`) return adobeUpload(req);
  if (req.method === 'POST' && req.path === `${api}/agreements`) return adobeCreateAgreement(req);
  const match = new RegExp(`^${api}/agreements/([^/]+)(/members)?$`).exec(req.path);
  if (req.method === 'GET' && match) {
    const agreement = adobeAgreements.get(decodeURIComponent(match[1]!));
    if (!agreement) return adobeError(404, 'INVALID_AGREEMENT_ID', 'The Agreement ID specified is invalid.');
    if (!match[2])
      return { status: 200, body: { id: match[1], name: 'contract.pdf', status: 'OUT_FOR_SIGNATURE', signatureType: 'ESIGN' } };
    return {
      status: 200,
      body: {
        participantSets: agreement.emails.map((email, i) => ({
          id: `set-${i}`,
          memberInfos: [{ id: `m-${i}`, email, self: false }],
          order: i + 1,
          role: 'SIGNER',
          status: i === 0 ? 'WAITING_FOR_MY_SIGNATURE' : 'NOT_YET_VISIBLE',
        })),
        senderInfo: { email: ADOBE_USER, self: true },
      },
    };
  }
  return adobeError(404, 'NOT_FOUND', 'no such resource');
}

/** transientDocuments: multipart/form-data with File-Name, Mime-Type and File, read by a real multipart parser. */
async function adobeUpload(req: Seen): Promise<Reply> {
  if (mediaType(req) !== 'multipart/form-data') return adobeError(415, 'UNSUPPORTED_MEDIA_TYPE', 'multipart/form-data expected');
  let form: FormData;
  try {
    form = await new Response(req.body, { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
  } catch {
    return adobeError(400, 'INVALID_MULTIPART', 'unreadable multipart body');
  }
  if ([...form.keys()].sort().join(',') !== 'File,File-Name,Mime-Type') return adobeError(400, 'MISSING_REQUIRED_PARAM', 'fields');
  const file = form.get('File');
  if (!(file instanceof Blob) || form.get('File-Name') !== 'contract.pdf' || form.get('Mime-Type') !== 'application/pdf') {
    return adobeError(400, 'INVALID_ARGUMENTS', 'file');
  }
  if (Buffer.from(await file.arrayBuffer()).toString('base64') !== DOCUMENT) return adobeError(400, 'INVALID_FILE', 'content');
  const transientDocumentId = `transient-${randomUUID()}`;
  adobeTransient.add(transientDocumentId);
  return { status: 201, body: { transientDocumentId } };
}

function adobeCreateAgreement(req: Seen): Reply {
  if (mediaType(req) !== 'application/json') return adobeError(415, 'UNSUPPORTED_MEDIA_TYPE', 'application/json expected');
  const body = JSON.parse(req.body) as Record<string, any>;
  const bad = (message: string) => adobeError(400, 'INVALID_ARGUMENTS', message);
  if (keysOf(body) !== 'fileInfos,message,name,participantSetsInfo,signatureType,state') return bad(`fields ${keysOf(body)}`);
  const [file, ...more] = body.fileInfos ?? [];
  if (more.length || keysOf(file) !== 'transientDocumentId' || !adobeTransient.has(file.transientDocumentId)) return bad('fileInfos');
  if (body.name !== 'contract.pdf' || body.signatureType !== 'ESIGN' || body.state !== 'IN_PROCESS') return bad('agreement');
  const sets = body.participantSetsInfo as Record<string, any>[];
  const emails: string[] = [];
  for (const [i, set] of sets.entries()) {
    if (keysOf(set) !== 'memberInfos,name,order,role' || set.role !== 'SIGNER' || set.order !== i + 1) return bad(`participant set ${i}`);
    if (set.memberInfos.length !== 1 || keysOf(set.memberInfos[0]) !== 'email') return bad(`memberInfos ${i}`);
    emails.push(set.memberInfos[0].email);
  }
  const id = `CBJCHBCAABAA${randomUUID().replace(/-/g, '')}`;
  adobeAgreements.set(id, { emails });
  return { status: 201, body: { id } };
}

// ---------------------------------------------------------------- the service

let server: TestServer;
let docusignApi: FakeApi;
let adobeApi: FakeApi;

beforeAll(async () => {
  docusignApi = await startFakeApi(echoingSecrets(docusignFake));
  adobeApi = await startFakeApi(echoingSecrets(adobeFake));
  server = await startTestServer({ DOCUSIGN_API_BASE_URL: docusignApi.url, ADOBE_SIGN_API_BASE_URL: adobeApi.url });
});
afterAll(async () => {
  await server?.close();
  await docusignApi?.close();
  await adobeApi?.close();
});

const docusignCredentials = (user: { id: string }) => ({
  integration_key: DS_INTEGRATION_KEY,
  user_id: user.id,
  private_key: DS_PRIVATE_KEY,
  connect_hmac_key: DS_HMAC,
  environment: 'stage',
});
const adobeCredentials = (refreshToken: string) => ({
  access_token: ADOBE_STALE_ACCESS,
  refresh_token: refreshToken,
  client_id: ADOBE_CLIENT_ID,
  client_secret: ADOBE_CLIENT_SECRET,
  api_user_email: ADOBE_USER,
  environment: 'stage',
});

/** Every secret these tests configure or the fakes issue: none may appear in an error. */
const secrets = () => [
  ...DS_PRIVATE_KEY.split('\n').filter((line) => line.length > 40),
  DS_HMAC,
  ADOBE_CLIENT_SECRET,
  ADOBE_STALE_ACCESS,
  ...Object.values(ADOBE_REFRESH),
  ...dsTokens.keys(),
  ...adobeTokens,
  // a JWT grant assertion is exchangeable for a token until it expires
  ...docusignApi.seen.filter((s) => s.path === '/oauth/token').map((s) => new URLSearchParams(s.body).get('assertion')!),
];

const dsGrants = (user: { id: string }) =>
  docusignApi.seen.filter(
    (s) =>
      s.path === '/oauth/token' &&
      JSON.parse(Buffer.from(new URLSearchParams(s.body).get('assertion')!.split('.')[1]!, 'base64url').toString()).sub === user.id,
  ).length;

const OPERATION = `id status usedFallback providerReference result error { code message } integration { id }
  attempts { attemptNumber outcome httpStatus error integration { id } }`;

async function requestSignature(gql: Gql) {
  const res = await gql(
    `mutation($input: RequestSignatureInput!) { requestSignature(input: $input) { __typename
      ... on RequestSignaturePayload { operation { ${OPERATION} } } ... on Error { message } } }`,
    {
      input: {
        documentName: 'contract.pdf',
        documentBase64: DOCUMENT,
        signers: SIGNERS,
        message: 'Please sign by Friday',
        waitSeconds: 15,
      },
    },
  );
  expect(res.requestSignature.__typename, res.requestSignature.message).toBe('RequestSignaturePayload');
  return res.requestSignature.operation;
}

async function trackSignature(gql: Gql, signatureReference: string) {
  const res = await gql(
    `mutation($input: TrackSignatureInput!) { trackSignature(input: $input) { __typename
      ... on TrackSignaturePayload { operation { ${OPERATION} } } ... on Error { message } } }`,
    { input: { signatureReference, waitSeconds: 15 } },
  );
  expect(res.trackSignature.__typename, res.trackSignature.message).toBe('TrackSignaturePayload');
  return res.trackSignature.operation;
}

async function tenant(name: string): Promise<{ gql: Gql; token: string }> {
  const token = await server.token({ tenant_id: name });
  return { gql: gqlAs(server, { token }), token };
}

function expectNoSecrets(text: string | null | undefined) {
  for (const secret of secrets()) expect(text ?? '').not.toContain(secret);
}

async function deliveryStatus(gql: Gql, id: string) {
  return (await gql(`query($id: ID!) { operation(id: $id) { deliveryStatus } }`, { id })).operation.deliveryStatus as string | null;
}

describe('DocuSign', () => {
  let gql: Gql;
  let docusign: { id: string; inboundWebhookUrl: string | null };
  let envelopeId: string;

  beforeAll(async () => {
    ({ gql } = await tenant('esign-docusign'));
    docusign = await configureActive(gql, 'docusign', docusignCredentials(DS_USERS.main));
    await addRule(gql, { capability: 'request_signature', integrationId: docusign.id });
    await addRule(gql, { capability: 'track_signature', integrationId: docusign.id });
  });

  it('verifies through the JWT grant and userinfo, as operations obtain their session', () => {
    expect(dsGrants(DS_USERS.main)).toBe(1);
    expect(docusignApi.seen.filter((s) => s.path === '/oauth/userinfo')).not.toHaveLength(0);
  });

  it('sends an envelope with the document, the signers in order, the message and the callback URL', async () => {
    const before = docusignApi.seen.length;
    const op = await requestSignature(gql);
    expect(op).toMatchObject({ status: 'SUCCEEDED', usedFallback: false, integration: { id: docusign.id } });
    envelopeId = op.result.envelopeId;
    expect(op.result).toEqual({ envelopeId, status: 'sent' });
    expect(op.providerReference).toBe(envelopeId);
    const sent = docusignApi.seen.slice(before).filter((s) => s.path.includes('/envelopes'));
    expect(sent).toHaveLength(1);
    const body = JSON.parse(sent[0]!.body);
    expect(body.emailSubject).toBe('Please sign: contract.pdf');
    expect(body.emailBlurb).toBe('Please sign by Friday');
    expect(body.recipients.signers).toEqual([
      { email: 'ana@example.com', name: 'Ana Lima', recipientId: '1', routingOrder: '1' },
      { email: 'bo@example.com', name: 'Bo Chen', recipientId: '2', routingOrder: '2' },
    ]);
    expect(body.eventNotification.url).toBe(docusign.inboundWebhookUrl);
    expect(body.eventNotification.events).toEqual([
      'envelope-sent',
      'envelope-delivered',
      'envelope-completed',
      'envelope-declined',
      'envelope-voided',
    ]);
    expect(sent[0]!.headers.authorization).toMatch(/^Bearer ds-access-/);
  });

  it('tracks the envelope: its status and each signer’s', async () => {
    const op = await trackSignature(gql, envelopeId);
    // the envelope's reference; its callbacks still land on the request (see the Connect test)
    expect(op).toMatchObject({ status: 'SUCCEEDED', providerReference: envelopeId });
    expect(op.result).toEqual({
      status: 'sent',
      signers: [
        { email: 'ana@example.com', status: 'delivered' },
        { email: 'bo@example.com', status: 'created' },
      ],
    });
  });

  it('obtains one session for all of these operations and reuses it', async () => {
    await trackSignature(gql, envelopeId);
    // one grant for verification, one for the operations
    expect(dsGrants(DS_USERS.main)).toBe(2);
    const calls = docusignApi.seen.filter((s) => s.path.includes('/envelopes'));
    expect(new Set(calls.map((s) => s.headers.authorization)).size).toBe(1);
  });

  it('keeps the session sealed with the credentials: the token is not readable in the row', async () => {
    const token = [...dsTokens].filter(([, sub]) => sub === DS_USERS.main.id).at(-1)![0];
    const row = await forTenant(server.app.database.prisma, 'esign-docusign').integration.findFirstOrThrow({
      where: { provider: 'docusign' },
    });
    const columns = Object.values(row).map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : JSON.stringify(v)));
    for (const column of columns) {
      expect(column).not.toContain(token);
      expect(column).not.toContain('ds-access-');
    }
    const opened = revealCredentials(
      server.app.services.keyring,
      { ...row, config: row.config as Record<string, CredentialValue> },
      credentialsAad(row.tenantId, row.id),
    );
    expect(opened[SESSION_KEY], 'the session is kept among the sealed secrets').toBeTypeOf('string');
    expect(JSON.parse(String(opened[SESSION_KEY]))).toMatchObject({
      accessToken: token,
      apiBase: `${docusignApi.url}/restapi/v2.1/accounts/${DS_ACCOUNT}`,
    });
  });

  it('sets deliveryStatus from the envelope’s Connect events, which DocuSign signs because the envelope asks', async () => {
    const op = await requestSignature(gql);
    const envelope = op.providerReference;
    expect(dsEnvelopes.get(envelope)).toMatchObject({ callbackUrl: docusign.inboundWebhookUrl, includeHMAC: true });
    const post = async (event: string, data?: Record<string, unknown>) => expect((await dsConnect(envelope, event, data)).status).toBe(200);
    await post('envelope-sent');
    expect(await deliveryStatus(gql, op.id)).toBe('sent');
    await post('envelope-delivered');
    expect(await deliveryStatus(gql, op.id)).toBe('delivered');
    await post('envelope-completed', { envelopeSummary: { status: 'completed', envelopeId: envelope } });
    expect(await deliveryStatus(gql, op.id)).toBe('completed');
  });

  it('keeps completed when a late envelope-delivered arrives (a signer opening it comes before the outcome)', async () => {
    const op = await requestSignature(gql);
    const envelope = op.providerReference;
    expect((await dsConnect(envelope, 'envelope-completed', { envelopeSummary: { status: 'completed' } })).status).toBe(200);
    expect(await deliveryStatus(gql, op.id)).toBe('completed');
    expect((await dsConnect(envelope, 'envelope-delivered', { envelopeSummary: { status: 'delivered' } })).status).toBe(200);
    expect(await deliveryStatus(gql, op.id)).toBe('completed');
  });

  it('fails tracking an unknown envelope with DocuSign’s message, and no secret it echoed', async () => {
    const op = await trackSignature(gql, 'f0000000-0000-4000-8000-000000000000');
    expect(op).toMatchObject({ status: 'FAILED', attempts: [{ outcome: 'REJECTED', httpStatus: 404 }] });
    expect(op.attempts[0].error).toMatch(/envelope specified either does not exist/);
    // the fake echoed the Bearer token in that message, and the echo reached the error
    expect(op.attempts[0].error).toContain('(request: authorization=Bearer ');
    expectNoSecrets(op.attempts[0].error);
    expectNoSecrets(op.error?.message);
  });
});

describe('Acrobat Sign', () => {
  let gql: Gql;
  let adobe: { id: string; inboundWebhookUrl: string | null };
  let agreementId: string;

  beforeAll(async () => {
    ({ gql } = await tenant('esign-adobe'));
    adobe = await configureActive(gql, 'adobe_sign', adobeCredentials(ADOBE_REFRESH.main));
    await addRule(gql, { capability: 'request_signature', integrationId: adobe.id });
    await addRule(gql, { capability: 'track_signature', integrationId: adobe.id });
  });

  it('verifies by refreshing the access token and reading baseUris with it', () => {
    expect(adobeRefreshes(ADOBE_REFRESH.main)).toBe(1);
    const discovery = adobeApi.seen.filter((s) => s.path === '/api/rest/v6/baseUris');
    expect(discovery).not.toHaveLength(0);
    expect(discovery.every((s) => s.headers.authorization !== `Bearer ${ADOBE_STALE_ACCESS}`)).toBe(true);
  });

  it('uploads the document, then creates the agreement with one signer set per signer', async () => {
    const before = adobeApi.seen.length;
    const op = await requestSignature(gql);
    expect(op).toMatchObject({ status: 'SUCCEEDED', usedFallback: false, integration: { id: adobe.id } });
    agreementId = op.result.envelopeId;
    expect(op.result).toEqual({ envelopeId: agreementId, status: 'IN_PROCESS' });
    expect(op.providerReference).toBe(agreementId);
    const calls = adobeApi.seen.slice(before).filter((s) => s.path.startsWith('/api/rest/v6/') && s.path !== '/api/rest/v6/baseUris');
    expect(calls.map((s) => `${s.method} ${s.path}`)).toEqual(['POST /api/rest/v6/transientDocuments', 'POST /api/rest/v6/agreements']);
    const body = JSON.parse(calls[1]!.body);
    expect(body.participantSetsInfo).toEqual([
      { memberInfos: [{ email: 'ana@example.com' }], name: 'Ana Lima', order: 1, role: 'SIGNER' },
      { memberInfos: [{ email: 'bo@example.com' }], name: 'Bo Chen', order: 2, role: 'SIGNER' },
    ]);
    expect(body.message).toBe('Please sign by Friday');
  });

  it('tracks the agreement: its status, then its members', async () => {
    const op = await trackSignature(gql, agreementId);
    expect(op).toMatchObject({ status: 'SUCCEEDED', providerReference: agreementId });
    expect(op.result).toEqual({
      status: 'OUT_FOR_SIGNATURE',
      signers: [
        { email: 'ana@example.com', status: 'WAITING_FOR_MY_SIGNATURE' },
        { email: 'bo@example.com', status: 'NOT_YET_VISIBLE' },
      ],
    });
  });

  it('fails verification permanently when the refresh is refused, through the same refresh', async () => {
    adobeRevokedRefresh.add(ADOBE_REFRESH.revoked);
    const { gql: other } = await tenant('esign-adobe-refused');
    const configured = await configureIntegration(other, 'adobe_sign', adobeCredentials(ADOBE_REFRESH.revoked));
    const found = await eventually(async () => {
      const i = (await other(`query($id: ID!) { integration(id: $id) { status lastError } }`, { id: configured.id })).integration;
      return i.status === 'ERROR' ? i : undefined;
    });
    expect(found.lastError).toMatch(/refused the refresh token \(invalid_grant\)/);
    expectNoSecrets(found.lastError);
    // permanent: tried once, never retried
    expect(adobeRefreshes(ADOBE_REFRESH.revoked)).toBe(1);
  });

  it('refreshes once for all of these operations', async () => {
    await trackSignature(gql, agreementId);
    expect(adobeRefreshes(ADOBE_REFRESH.main)).toBe(2);
  });

  it('sets deliveryStatus from the agreement’s webhook events, never back from SIGNED', async () => {
    const notify = async (event: string, status: string) => {
      const body = JSON.stringify({ webhookNotificationId: `n-${randomUUID()}`, event, agreement: { id: agreementId, status } });
      const res = await fetch(adobe.inboundWebhookUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-adobesign-clientid': ADOBE_CLIENT_ID },
        body,
      });
      expect(res.status).toBe(200);
    };
    const requested = (
      await gql(`{ operations(capability: "request_signature") { edges { node { id providerReference } } } }`)
    ).operations.edges.find((e: { node: { providerReference: string } }) => e.node.providerReference === agreementId).node;
    await notify('AGREEMENT_ACTION_REQUESTED', 'OUT_FOR_SIGNATURE');
    expect(await deliveryStatus(gql, requested.id)).toBe('OUT_FOR_SIGNATURE');
    await notify('AGREEMENT_WORKFLOW_COMPLETED', 'SIGNED');
    expect(await deliveryStatus(gql, requested.id)).toBe('SIGNED');
    // a late notification of the second signer's request
    await notify('AGREEMENT_ACTION_REQUESTED', 'OUT_FOR_SIGNATURE');
    expect(await deliveryStatus(gql, requested.id)).toBe('SIGNED');
  });

  it('fails tracking an unknown agreement with Adobe’s message, and no secret it echoed', async () => {
    const op = await trackSignature(gql, 'CBJCHBCAABAAunknown');
    expect(op).toMatchObject({ status: 'FAILED', attempts: [{ outcome: 'REJECTED', httpStatus: 404 }] });
    expect(op.attempts[0].error).toMatch(/Agreement ID specified is invalid/);
    expect(op.attempts[0].error).toContain('(request: authorization=Bearer ');
    expectNoSecrets(op.attempts[0].error);
    expectNoSecrets(op.error?.message);
  });
});

describe('tokens that expire', () => {
  it('renews a session that is about to expire before each call', async () => {
    const { gql } = await tenant('esign-expiring');
    const docusign = await configureActive(gql, 'docusign', docusignCredentials(DS_USERS.short));
    await addRule(gql, { capability: 'request_signature', integrationId: docusign.id });
    await addRule(gql, { capability: 'track_signature', integrationId: docusign.id });
    expect(dsGrants(DS_USERS.short)).toBe(1);
    const before = docusignApi.seen.length;
    const op = await requestSignature(gql);
    expect(op.status).toBe('SUCCEEDED');
    await trackSignature(gql, op.providerReference);
    await trackSignature(gql, op.providerReference);
    // expires_in 60 s is inside the 5 min margin: each operation obtains its own
    expect(dsGrants(DS_USERS.short)).toBe(4);
    const used = docusignApi.seen
      .slice(before)
      .filter((s) => s.path.includes('/envelopes'))
      .map((s) => s.headers.authorization);
    expect(new Set(used).size).toBe(3);
  });

  it('renews once after a 401 on a call made with a stored session, and succeeds', async () => {
    const { gql } = await tenant('esign-renew');
    const docusign = await configureActive(gql, 'docusign', docusignCredentials(DS_USERS.renew));
    await addRule(gql, { capability: 'request_signature', integrationId: docusign.id });
    await addRule(gql, { capability: 'track_signature', integrationId: docusign.id });
    const op = await requestSignature(gql);
    expect(op.status).toBe('SUCCEEDED');
    expect(dsGrants(DS_USERS.renew)).toBe(2);
    // DocuSign stops accepting the stored token (revoked, or expired early)
    const stored = [...dsTokens].filter(([, sub]) => sub === DS_USERS.renew.id).at(-1)![0];
    dsRevoked.add(stored);
    const before = docusignApi.seen.length;
    const tracked = await trackSignature(gql, op.providerReference);
    expect(tracked).toMatchObject({ status: 'SUCCEEDED', attempts: [{ attemptNumber: 1, outcome: 'SUCCEEDED' }] });
    expect(dsGrants(DS_USERS.renew)).toBe(3);
    const calls = docusignApi.seen.slice(before).filter((s) => s.path.includes('/envelopes'));
    expect(calls.map((s) => s.headers.authorization === `Bearer ${stored}`)).toEqual([true, false]);
    expect((await gql(`query($id: ID!) { integration(id: $id) { status } }`, { id: docusign.id })).integration.status).toBe('ACTIVE');
  });

  it('puts the integration in ERROR when the provider refuses the refresh, and fails over', async () => {
    const { gql } = await tenant('esign-failover');
    const adobe = await configureActive(gql, 'adobe_sign', adobeCredentials(ADOBE_REFRESH.failover));
    const docusign = await configureActive(gql, 'docusign', docusignCredentials(DS_USERS.fallback));
    await addRule(gql, { capability: 'request_signature', integrationId: adobe.id, fallbackIntegrationId: docusign.id });
    // the user revoked the app's access at Adobe: the refresh token no longer works
    adobeRevokedRefresh.add(ADOBE_REFRESH.failover);
    const op = await requestSignature(gql);
    expect(op).toMatchObject({ status: 'SUCCEEDED', usedFallback: true, integration: { id: docusign.id } });
    expect(op.attempts).toMatchObject([
      { attemptNumber: 1, outcome: 'AUTH_FAILURE', httpStatus: 400, integration: { id: adobe.id } },
      { attemptNumber: 2, outcome: 'SUCCEEDED', integration: { id: docusign.id } },
    ]);
    expect(op.attempts[0].error).toMatch(/refresh token \(invalid_grant\)/);
    const integration = await eventually(async () => {
      const found = (await gql(`query($id: ID!) { integration(id: $id) { status lastError } }`, { id: adobe.id })).integration;
      return found.status === 'ERROR' ? found : undefined;
    });
    expect(integration.lastError).toMatch(/refused/);
    for (const attempt of op.attempts) expectNoSecrets(attempt.error);
    expectNoSecrets(integration.lastError);
  });

  it('never shows a token or key in any attempt’s error or lastError', async () => {
    for (const name of ['esign-docusign', 'esign-adobe', 'esign-adobe-refused', 'esign-expiring', 'esign-renew', 'esign-failover']) {
      const { gql } = await tenant(name);
      const data = await gql(
        `{ operations(first: 50) { edges { node { attempts { error } } } } integrations { edges { node { lastError } } } }`,
      );
      for (const edge of data.operations.edges) for (const attempt of edge.node.attempts) expectNoSecrets(attempt.error);
      for (const edge of data.integrations.edges) expectNoSecrets(edge.node.lastError);
    }
  });
});
