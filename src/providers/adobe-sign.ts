/**
 * Adobe Acrobat Sign (REST v6). Sandbox and production have separate discovery hosts.
 *
 * Session (also the check): with `refresh_token`, `client_id` and `client_secret` set, a new
 * access token (about 1 h) from `POST /oauth/v2/refresh`, a form of grant_type, client_id,
 * client_secret and refresh_token (developer guide, "Managing OAuth tokens"); 400 `invalid_grant`
 * / `invalid_request` or 401 mean the refresh token or the client is refused. Adobe documents that
 * call on the account's own shard (`api_access_point`, e.g. api.na1.adobesign.com); where the
 * integration does not give `api_access_point`, the environment's discovery host is assumed to
 * serve it. Without a refresh token the configured `access_token` (an OAuth token or a legacy
 * integration key, which does not expire) is used as it is. Then `GET /api/rest/v6/baseUris`
 * with the token as a Bearer token (any scope; 401 when bad or expired) gives the account's
 * `apiAccessPoint`, where every call goes (`{apiAccessPoint}api/rest/v6`). `x-api-user:
 * email:<addr>` acts as that user when set.
 *
 * Operations: `POST /transientDocuments` (multipart: File-Name, Mime-Type, File) answers
 * `{ transientDocumentId }`; then `POST /agreements` (JSON) with it, one SIGNER participant set
 * per signer in list order (order 1, 2…; the signer's name as the set's name, since member infos
 * take an email only), ESIGN, state IN_PROCESS, answers 201 `{ id }` and nothing more, so the
 * status reported is the state asked for. Tracking: `GET /agreements/{id}` (status) and
 * `GET /agreements/{id}/members` (each participant set's status, for its members' emails).
 * Agreements take no per-request callback URL: status webhooks come from the webhook the account
 * registers with the integration's inbound URL.
 *
 * Agreement statuses (REST v6 AgreementInfo.status; asmusz-adobe/AdobeSign-Resources
 * API_AGREEMENT_STATUS): DRAFT, AUTHORING, PREFILL, DOCUMENTS_NOT_YET_PROCESSED before sending;
 * OUT_FOR_SIGNATURE / _APPROVAL / _DELIVERY / _ACCEPTANCE / _FORM_FILLING while waiting (the
 * agreement stays OUT_FOR_SIGNATURE until its last signer signs); SIGNED, APPROVED, DELIVERED,
 * ACCEPTED, FORM_FILLED (completed), CANCELLED (two Ls: recalled or rejected) and EXPIRED final.
 * ADOBE_SIGN_STAGES places them (and the webhook event names, read when a notification carries no
 * agreement status) so a late notification never takes the status back.
 *
 * Tokens and the client secret go to `api_access_point` (the refresh) and to baseUris'
 * `apiAccessPoint` (every call), so both must be https on Adobe's own domains
 * (ADOBE_SIGN_DOMAINS) unless ADOBE_SIGN_API_BASE_URL overrides the origin.
 *
 * Inbound (Acrobat Sign webhook guide): no payload signature and no timestamp. The check is
 * that `X-AdobeSign-ClientId` equals the integration's `client_id` (compared in constant time),
 * and the answer echoes it in the same header, without which Adobe counts a failed delivery and
 * retries. The client id is not secret, so this is weak on its own: the unguessable token in
 * the hook URL is what really keeps strangers out. The registration GET handshake is the
 * endpoint's job. JSON body: type = `event` (AGREEMENT_WORKFLOW_COMPLETED…), id =
 * `webhookNotificationId`, else the body's sha256.
 */
import { randomBytes } from 'node:crypto';
import { classifyStatus, foreignHostReason, form, json, networkFailure, readJsonBounded, send, textOf } from './http.ts';
import { header, isRecord, parseJsonObject, textAt } from './inbound/body.ts';
import { safeEqual, sha256Hex } from './inbound/crypto.ts';
import { accepted, badRequest, type InboundFailure, missingSecret, secretOf, unauthorized } from './inbound/results.ts';
import type {
  Credentials,
  DeliveryUpdate,
  InboundEvent,
  InboundRequest,
  InboundVerifier,
  OperationAdapter,
  OperationCallContext,
  ProviderDefinition,
  SessionAuthority,
  SessionResult,
  VerifyContext,
} from './types.ts';
import { E_SIGNATURE_COMMON_FIELDS, environmentOrigin, NO_WHITESPACE } from './types.ts';

const NAME = 'Adobe Acrobat Sign';
const ORIGINS = { stage: 'https://api.adobesignsandbox.com', production: 'https://api.adobesign.com' };
/** Refreshed access tokens last an hour (expires_in 3600); used when an answer leaves it out. */
const DEFAULT_EXPIRES_IN_SECONDS = 3600;
/** A legacy integration key, or an access token that cannot be refreshed, is treated as not expiring. */
const NO_EXPIRY_MS = 365 * 24 * 3600_000;

/**
 * Where Acrobat Sign serves accounts: its shards api.{na1,na4,eu1,jp1,au1,in1…}.adobesign.com
 * (developer guide "API Best Practices", Base URI), the legacy echosign.com hosts
 * (secure.na1.echosign.com, developer guide "API Usage"), Sign for Government on adobesign.us
 * (secure.na1.adobesign.us, "Sign Gov and Commercial Comparison"), and the sandbox on
 * adobesignsandbox.com (the stage discovery host above; assumed to shard the same way).
 */
export const ADOBE_SIGN_DOMAINS: readonly string[] = ['adobesign.com', 'echosign.com', 'adobesign.us', 'adobesignsandbox.com'];

/** Why Acrobat Sign's tokens or client secret may not go to `url` (null when they may); names the host only. */
export function adobeSignHostProblem(url: string, what: string): string | null {
  const why = foreignHostReason(url, ADOBE_SIGN_DOMAINS);
  return why && `${NAME} ${what} is not one of Adobe's hosts: ${why}`;
}

/** Lower-cased agreement statuses and event names → delivery stages (src/operations/tracking.ts). */
export const ADOBE_SIGN_STAGES: Readonly<Record<string, number>> = {
  draft: 1,
  authoring: 1,
  prefill: 1,
  documents_not_yet_processed: 1,
  agreement_created: 1,
  in_process: 2,
  out_for_signature: 3,
  out_for_approval: 3,
  out_for_delivery: 3,
  out_for_acceptance: 3,
  out_for_form_filling: 3,
  agreement_action_requested: 3,
  waiting_for_verification: 4,
  widget_waiting_for_verification: 4,
  waiting_for_faxin: 4,
  agreement_action_completed: 4,
  signed: 5,
  approved: 5,
  delivered: 5,
  accepted: 5,
  form_filled: 5,
  cancelled: 5,
  expired: 5,
  agreement_workflow_completed: 5,
  agreement_recalled: 5,
  agreement_rejected: 5,
  agreement_expired: 5,
};

/** Acrobat Sign proves who it is only by sending our application's client id. */
function checkClientId(req: InboundRequest, credentials: Credentials): InboundFailure | string {
  const clientId = secretOf(credentials, 'client_id');
  if (!clientId) return missingSecret('client_id');
  const given = header(req, 'x-adobesign-clientid');
  if (!given) return unauthorized('missing X-AdobeSign-ClientId header');
  if (!safeEqual(clientId, given)) return unauthorized('X-AdobeSign-ClientId does not match the client_id');
  return clientId;
}

export const adobeSignInbound: InboundVerifier = {
  /** Registration: Acrobat Sign GETs the URL and expects its client id echoed back. */
  handshake(req, credentials) {
    const clientId = checkClientId(req, credentials);
    if (typeof clientId !== 'string') return clientId;
    return accepted([], { headers: { 'X-AdobeSign-ClientId': clientId }, body: JSON.stringify({ xAdobeSignClientId: clientId }) });
  },
  verify(req, credentials) {
    const clientId = checkClientId(req, credentials);
    if (typeof clientId !== 'string') return clientId;
    const body = parseJsonObject(req);
    if (!body.ok) return body;
    const type = textAt(body.value, 'event');
    if (!type) return badRequest('Acrobat Sign notification has no event field');
    const id = textAt(body.value, 'webhookNotificationId') ?? sha256Hex(req.rawBody);
    // Echoed so Adobe counts the delivery as received (else it retries).
    return accepted([{ id, type, payload: body.value }], { headers: { 'X-AdobeSign-ClientId': clientId } });
  },
};

const transient = (httpStatus: number | null, reason: string): SessionResult => ({ ok: false, refused: false, httpStatus, reason });

/** A non-2xx answer: refused when verification would call it permanent (400/401/403, other 4xx). */
function failedWith(status: number, what: string): SessionResult {
  const verdict = classifyStatus(NAME, status);
  if (verdict.ok || !verdict.permanent) return transient(status, `${NAME} API unavailable while checking ${what} (HTTP ${status})`);
  return { ok: false, refused: true, httpStatus: status, reason: `${NAME} refused ${what} (HTTP ${status})` };
}

function apiHeaders(credentials: Credentials, accessToken: string): Record<string, string> {
  const headers: Record<string, string> = { authorization: `Bearer ${accessToken}` };
  if (credentials.api_user_email) headers['x-api-user'] = `email:${credentials.api_user_email}`;
  return headers;
}

const canRefresh = (c: Credentials) => !!(textOf(c.refresh_token) && textOf(c.client_id) && textOf(c.client_secret));

/** A new access token from the refresh token, at the account's shard when configured. */
async function refreshed(credentials: Credentials, ctx: VerifyContext, overridden: boolean): Promise<SessionResult> {
  const shard = textOf(credentials.api_access_point)?.replace(/\/+$/, '');
  const foreign = shard && !overridden ? adobeSignHostProblem(shard, 'api_access_point') : null;
  if (foreign) return { ok: false, refused: true, httpStatus: null, reason: foreign };
  const response = await send(ctx, {
    method: 'POST',
    url: `${ctx.origin(shard ?? environmentOrigin(credentials, ORIGINS))}/oauth/v2/refresh`,
    headers: form.headers,
    body: form.encode({
      grant_type: 'refresh_token',
      client_id: String(credentials.client_id),
      client_secret: String(credentials.client_secret),
      refresh_token: String(credentials.refresh_token),
    }),
  });
  const body = json.object(await readJsonBounded(response));
  if (!response.ok) {
    const code = typeof body.error === 'string' && /^[a-z_]{1,40}$/.test(body.error) ? ` (${body.error})` : '';
    return failedWith(response.status, `the refresh token${code}`);
  }
  const accessToken = textOf(body.access_token);
  if (!accessToken) return transient(response.status, `${NAME} answered the refresh without an access token`);
  const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_EXPIRES_IN_SECONDS;
  return { ok: true, session: { accessToken, expiresAt: Date.now() + expiresIn * 1000 } };
}

/** The token (refreshed, or the configured one), then the account's API access point. Never throws. */
async function obtainSession(credentials: Credentials, ctx: VerifyContext): Promise<SessionResult> {
  const discovery = environmentOrigin(credentials, ORIGINS);
  const origin = ctx.origin(discovery);
  // ADOBE_SIGN_API_BASE_URL set: a test or proxy stands in for Adobe, hosts and all
  const overridden = origin !== discovery;
  try {
    const token: SessionResult = canRefresh(credentials)
      ? await refreshed(credentials, ctx, overridden)
      : { ok: true, session: { accessToken: String(credentials.access_token ?? ''), expiresAt: Date.now() + NO_EXPIRY_MS } };
    if (!token.ok) return token;
    const { accessToken, expiresAt } = token.session;
    const response = await send(ctx, {
      url: `${origin}/api/rest/v6/baseUris`,
      headers: apiHeaders(credentials, accessToken),
    });
    const body = json.object(await readJsonBounded(response));
    if (!response.ok) return failedWith(response.status, 'the access token');
    const accessPoint = textOf(body.apiAccessPoint);
    if (!accessPoint) return transient(response.status, `${NAME} baseUris answered without an apiAccessPoint`);
    const foreign = overridden ? null : adobeSignHostProblem(accessPoint, 'baseUris apiAccessPoint');
    if (foreign) return { ok: false, refused: true, httpStatus: response.status, reason: foreign };
    return { ok: true, session: { accessToken, expiresAt, apiBase: `${accessPoint.replace(/\/+$/, '')}/api/rest/v6` } };
  } catch (err) {
    const failure = networkFailure(NAME, err);
    return transient(null, failure.ok ? `${NAME} API unreachable` : failure.reason);
  }
}

export const adobeSignSession: SessionAuthority = { obtain: obtainSession };

/** Where calls go: the session's access point; without one (never, with `session`), the discovery host. */
function apiBase(credentials: Credentials, ctx: OperationCallContext): string {
  return ctx.session?.apiBase ?? `${ctx.origin(environmentOrigin(credentials, ORIGINS))}/api/rest/v6`;
}

const callHeaders = (credentials: Credentials, ctx: OperationCallContext) =>
  apiHeaders(credentials, ctx.session?.accessToken ?? String(credentials.access_token ?? ''));

const MEDIA_TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  txt: 'text/plain',
  rtf: 'application/rtf',
  html: 'text/html',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
};

/** The document's media type from its name's extension; PDF, the usual document, when unknown. */
function mediaTypeOf(name: string): string {
  const extension = /\.([A-Za-z0-9]{1,10})$/.exec(name)?.[1]?.toLowerCase();
  return (extension && MEDIA_TYPES[extension]) || 'application/pdf';
}

/** A quoted multipart parameter: quotes, backslashes and line breaks cannot end or split it. */
const quoted = (value: string) => `"${value.replace(/[\\"\r\n]/g, '_')}"`;

/** multipart/form-data with text fields and one file, as transientDocuments takes it. */
function multipart(fields: Record<string, string>, file: { field: string; name: string; type: string; bytes: Buffer }) {
  const boundary = `----icp${randomBytes(12).toString('hex')}`;
  const parts: Buffer[] = Object.entries(fields).map(([key, value]) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name=${quoted(key)}\r\n\r\n${value}\r\n`),
  );
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(file.field)}; filename=${quoted(file.name)}\r\nContent-Type: ${file.type}\r\n\r\n`,
    ),
    file.bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  const body = Buffer.concat(parts);
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) as Uint8Array<ArrayBuffer>,
  };
}

const requestSignature: OperationAdapter = {
  request(input, credentials, ctx) {
    const name = String(input.documentName);
    const type = mediaTypeOf(name);
    const upload = multipart(
      { 'File-Name': name, 'Mime-Type': type },
      { field: 'File', name, type, bytes: Buffer.from(String(input.documentBase64), 'base64') },
    );
    return {
      method: 'POST',
      url: `${apiBase(credentials, ctx)}/transientDocuments`,
      headers: { ...callHeaders(credentials, ctx), 'content-type': upload.contentType },
      body: upload.body,
    };
  },
  parse(answer, { step, input, credentials, ctx }) {
    const body = json.object(answer.body);
    if (step === 1) {
      const transientDocumentId = textOf(body.transientDocumentId);
      if (!transientDocumentId) throw new Error('Acrobat Sign answered the upload without a transientDocumentId');
      const signers = input.signers as { name: string; email: string }[];
      const agreement: Record<string, unknown> = {
        fileInfos: [{ transientDocumentId }],
        name: String(input.documentName),
        participantSetsInfo: signers.map((s, i) => ({ memberInfos: [{ email: s.email }], name: s.name, order: i + 1, role: 'SIGNER' })),
        signatureType: 'ESIGN',
        state: 'IN_PROCESS',
        ...(typeof input.message === 'string' ? { message: input.message } : {}),
      };
      return {
        next: {
          method: 'POST',
          url: `${apiBase(credentials, ctx)}/agreements`,
          headers: { ...callHeaders(credentials, ctx), ...json.headers },
          body: json.encode(agreement),
        },
      };
    }
    const id = textOf(body.id);
    if (!id) throw new Error('Acrobat Sign answered the agreement without an id');
    return { providerReference: id, result: { envelopeId: id, status: 'IN_PROCESS' } };
  },
};

const trackSignature: OperationAdapter = {
  request(input, credentials, ctx) {
    const id = encodeURIComponent(String(input.signatureReference));
    return { method: 'GET', url: `${apiBase(credentials, ctx)}/agreements/${id}`, headers: callHeaders(credentials, ctx) };
  },
  parse(answer, { step, carry, input, credentials, ctx }) {
    const body = json.object(answer.body);
    if (step === 1) {
      const id = textOf(body.id);
      const status = textOf(body.status);
      if (!id || !status) throw new Error('Acrobat Sign answered without an agreement id or status');
      return {
        next: {
          method: 'GET',
          url: `${apiBase(credentials, ctx)}/agreements/${encodeURIComponent(id)}/members`,
          headers: callHeaders(credentials, ctx),
        },
        carry: { id, status },
      };
    }
    const sets = Array.isArray(body.participantSets) ? body.participantSets.filter(isRecord) : [];
    const signers = sets
      .filter((set) => set.role === undefined || set.role === 'SIGNER')
      .flatMap((set) =>
        (Array.isArray(set.memberInfos) ? set.memberInfos.filter(isRecord) : []).map((m) => ({
          email: textOf(m.email) ?? '',
          status: textOf(m.status) ?? textOf(set.status) ?? 'UNKNOWN',
        })),
      );
    // the agreement id: callbacks still land on the request that created it (tracking.ts matches no follow-up)
    return { providerReference: String(input.signatureReference), result: { status: carry.status, signers } };
  },
};

/** An agreement event: its agreement's status, else the event's name. */
export function adobeSignDeliveryUpdate(event: InboundEvent): DeliveryUpdate | null {
  if (!event.type.startsWith('AGREEMENT_')) return null;
  const id = textAt(event.payload, 'agreement', 'id');
  const status = textAt(event.payload, 'agreement', 'status') ?? event.type;
  return id ? { providerReference: id, status } : null;
}

export const adobeSign: ProviderDefinition = {
  name: 'adobe_sign',
  displayName: 'Adobe Acrobat Sign',
  description: 'Electronic signatures with Adobe Acrobat Sign (REST v6), with its webhook notifications.',
  docsUrl: 'https://opensource.adobe.com/acrobat-sign/developer_guide/gstarted.html',
  badge: { monogram: 'AS', color: '#B30B00' },
  category: 'E_SIGNATURE',
  capabilities: ['request_signature', 'track_signature'],
  credentialSchema: [
    {
      key: 'access_token',
      label: 'Access token',
      type: 'STRING',
      sensitive: true,
      required: true,
      mistakes: [NO_WHITESPACE],
      description: 'OAuth access token or legacy integration key; sent as a Bearer token when no refresh token is set.',
    },
    {
      key: 'refresh_token',
      label: 'Refresh token',
      type: 'STRING',
      sensitive: true,
      required: false,
      mistakes: [NO_WHITESPACE],
      description: 'OAuth refresh token; with client_id and client_secret, fresh access tokens are obtained from it before use.',
    },
    {
      key: 'client_id',
      label: 'Application ID',
      type: 'STRING',
      sensitive: false,
      required: false,
      mistakes: [NO_WHITESPACE],
      description: "The API application's client ID; answers the X-AdobeSign-ClientId webhook check and refreshes tokens.",
    },
    {
      key: 'client_secret',
      label: 'Client secret',
      type: 'STRING',
      sensitive: true,
      required: false,
      mistakes: [NO_WHITESPACE],
      description: "The API application's client secret; needed with refresh_token to refresh access tokens.",
    },
    {
      key: 'api_access_point',
      label: 'API access point',
      type: 'URL',
      sensitive: false,
      required: false,
      description:
        'The api_access_point Adobe returned with the tokens (e.g. https://api.na1.adobesign.com/), where the refresh token is refreshed.',
    },
    {
      key: 'api_user_email',
      label: 'API user email',
      type: 'STRING',
      sensitive: false,
      required: false,
      description: 'When set, calls act as this user (sent as x-api-user: email:<address>).',
    },
    ...E_SIGNATURE_COMMON_FIELDS,
  ],
  verify: async (credentials, ctx) => {
    const got = await obtainSession(credentials, ctx);
    return got.ok ? { ok: true } : { ok: false, permanent: got.refused, reason: got.reason };
  },
  session: adobeSignSession,
  inbound: adobeSignInbound,
  operations: { request_signature: requestSignature, track_signature: trackSignature },
  deliveryUpdate: adobeSignDeliveryUpdate,
  deliveryStages: ADOBE_SIGN_STAGES,
};
