/**
 * DocuSign eSignature, JWT grant. The auth host follows the environment (`account-d` for the
 * developer sandbox). Session (also the check), as DocuSign's own SDKs do it: sign an RS256 JWT
 * (iss = integration key, sub = user ID, aud = the bare auth host, scope "signature
 * impersonation", 1 h), exchange it at `POST /oauth/token` (a token of `expires_in`, about 1 h),
 * then `GET /oauth/userinfo` with the token for the account: `account_id` when set (the user
 * must belong to it), else the user's default one, and its `base_uri`, the account's own API
 * host. DocuSign answers a refused grant with 400 `consent_required` or `invalid_grant`.
 *
 * Operations (eSignature REST v2.1), Bearer token, on `{base_uri}/restapi/v2.1/accounts/{id}`:
 * `POST …/envelopes` with the document inline (base64), one signer per recipient in list order
 * (routingOrder 1, 2…) and `status: sent`, answered 201 `{ envelopeId, status }`; no tabs are
 * placed, so each signer signs free-form (assumed allowed on the account, DocuSign's default).
 * `eventNotification` asks for envelope-level Connect JSON callbacks (eventData restv2.1, the
 * envelope-sent/-delivered/-completed/-declined/-voided events) at the integration's callback
 * URL, with `includeHMAC: "true"` (a string, as every EventNotification flag): without it DocuSign
 * sends them unsigned and the inbound check refuses them. They are signed with the account's
 * Connect HMAC keys (developers.docusign.com/platform/webhooks/connect/hmac, "Event Notifications
 * using JSON SIM and HMAC"); the account must have HMAC enabled with at least one key.
 * Tracking: `GET …/envelopes/{id}?include=recipients`, one call for status and signers.
 * Envelope statuses in order: created, sent, delivered (a signer opened it), signed, then the
 * outcomes completed, declined, voided: `delivered` is not the messaging outcome it is elsewhere.
 *
 * The session's `base_uri` receives the Bearer token, so it must be https on DocuSign's own
 * domains (DOCUSIGN_DOMAINS) unless DOCUSIGN_API_BASE_URL overrides the origin.
 *
 * Inbound (developers.docusign.com/platform/webhooks/connect/hmac): `X-DocuSign-Signature-1…N`,
 * one per HMAC key active on the Connect configuration, each the base64 HMAC-SHA256 of the raw
 * body keyed with the key string as shown (not base64-decoded). Any header may match, so one
 * key can rotate while another stays. Nothing is timestamped. JSON (Connect 2.x) only: type =
 * `event` (envelope-completed…), id = `eventId` when sent, else
 * `<data.envelopeId>:<event>:<generatedDateTime>`, else the body's sha256.
 */
import { createPrivateKey } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import { classifyStatus, foreignHostReason, json, networkFailure, readJsonBounded, send, textOf } from './http.ts';
import { isRecord, parseJsonObject, textAt } from './inbound/body.ts';
import { hmac, matchesAny, sha256Hex } from './inbound/crypto.ts';
import { accepted, badRequest, missingSecret, secretOf, unauthorized } from './inbound/results.ts';
import type {
  Credentials,
  DeliveryUpdate,
  FormatMistake,
  InboundEvent,
  InboundVerifier,
  OperationAdapter,
  OperationCallContext,
  ProviderDefinition,
  SessionAuthority,
  SessionResult,
  VerifyContext,
} from './types.ts';
import { E_SIGNATURE_COMMON_FIELDS, environmentOrigin, NO_WHITESPACE } from './types.ts';

const NAME = 'DocuSign';
const ORIGINS = { stage: 'https://account-d.docusign.com', production: 'https://account.docusign.com' };
const GRANT_ERRORS = new Map([
  ['consent_required', 'DocuSign needs consent for this integration key: the user must grant "signature impersonation" once'],
  ['invalid_grant', 'DocuSign refused the JWT grant: check the user ID, the RSA key pair and the environment'],
  ['invalid_client', 'DocuSign does not know this integration key in this environment'],
  ['unauthorized_client', 'DocuSign does not know this integration key in this environment'],
]);

/** DocuSign's JWT access tokens last an hour; used when an answer leaves `expires_in` out. */
const DEFAULT_EXPIRES_IN_SECONDS = 3600;

/**
 * Where DocuSign serves accounts: `https://{server}.docusign.net` (www, na2, na3, eu, au, ca… and
 * demo for the developer sandbox; docs.docusign.com "Requests and Responses",
 * developers.docusign.com/platform/auth/reference/user-info) and docusign.com (the account
 * servers account[-d].docusign.com, and newer API hosts).
 */
export const DOCUSIGN_DOMAINS: readonly string[] = ['docusign.net', 'docusign.com'];

/** Why DocuSign's tokens may not go to this userinfo `base_uri` (null when they may); names the host only. */
export function docusignHostProblem(baseUri: string): string | null {
  const why = foreignHostReason(baseUri, DOCUSIGN_DOMAINS);
  return why && `DocuSign userinfo names an account base_uri its tokens may not go to: ${why}`;
}

const refused = (reason: string, httpStatus: number | null = null): SessionResult => ({ ok: false, refused: true, httpStatus, reason });

/** A non-2xx answer of the auth server: refused when verification would call it permanent (400/401/403, other 4xx). */
function failedWith(status: number, reason?: string): SessionResult {
  const verdict = classifyStatus(NAME, status);
  const why = reason ?? (verdict.ok ? `${NAME} answered HTTP ${status}` : verdict.reason);
  return { ok: false, refused: !verdict.ok && verdict.permanent, httpStatus: status, reason: why };
}

/** PKCS#8 or PKCS#1 PEM → signing key; null when it is not an RSA private key. */
async function signingKey(pem: string) {
  try {
    const text = pem.replace(/\\n/g, '\n').trim();
    const pkcs8 = text.includes('BEGIN RSA PRIVATE KEY')
      ? createPrivateKey(text).export({ type: 'pkcs8', format: 'pem' }).toString()
      : text;
    return await importPKCS8(pkcs8, 'RS256');
  } catch {
    return null;
  }
}

const SIGNATURE_HEADER = /^x-docusign-signature-\d+$/;

export const docusignInbound: InboundVerifier = {
  verify(req, credentials) {
    const key = secretOf(credentials, 'connect_hmac_key');
    if (!key) return missingSecret('connect_hmac_key');
    const signatures = Object.entries(req.headers)
      .filter(([name, value]) => SIGNATURE_HEADER.test(name) && value)
      .map(([, value]) => value!.trim());
    if (signatures.length === 0) return unauthorized('missing X-DocuSign-Signature-1 header');
    if (!matchesAny(hmac('sha256', key, req.rawBody).toString('base64'), signatures)) {
      return unauthorized('no X-DocuSign-Signature-N matches the connect_hmac_key');
    }
    const body = parseJsonObject(req);
    if (!body.ok) return body;
    const type = textAt(body.value, 'event');
    if (!type) return badRequest('DocuSign Connect event has no event field');
    const envelopeId = textAt(body.value, 'data', 'envelopeId');
    const generated = textAt(body.value, 'generatedDateTime');
    const id = textAt(body.value, 'eventId') ?? (envelopeId && generated ? `${envelopeId}:${type}:${generated}` : sha256Hex(req.rawBody));
    return accepted([{ id, type, payload: body.value }]);
  },
};

interface UserInfo {
  accounts?: { account_id?: unknown; is_default?: unknown; base_uri?: unknown }[];
}

/** The account calls go to: `account_id` when set (the user must belong to it), else the user's default. */
function chooseAccount(user: UserInfo | null, accountId: Credentials[string] | undefined) {
  const accounts = Array.isArray(user?.accounts) ? user.accounts : [];
  if (accountId) return accounts.find((a) => a.account_id === accountId);
  return accounts.find((a) => a.is_default === true || a.is_default === 'true') ?? accounts[0];
}

/** The JWT grant, then userinfo: a token and the account's API base. Never throws. */
async function obtainSession(credentials: Credentials, ctx: VerifyContext): Promise<SessionResult> {
  const key = await signingKey(String(credentials.private_key ?? ''));
  if (!key) return refused('DocuSign private key is not a valid RSA private key PEM');
  const ownOrigin = environmentOrigin(credentials, ORIGINS);
  const authOrigin = ctx.origin(ownOrigin);
  // DOCUSIGN_API_BASE_URL set: a test or proxy stands in for DocuSign, hosts and all
  const overridden = authOrigin !== ownOrigin;
  const iat = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ scope: 'signature impersonation' })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(String(credentials.integration_key))
    .setSubject(String(credentials.user_id))
    .setAudience(new URL(authOrigin).host)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(key);
  try {
    const grant = await send(ctx, {
      method: 'POST',
      url: `${authOrigin}/oauth/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
    });
    const token = json.object(await readJsonBounded(grant));
    if (grant.status === 400) {
      return refused(GRANT_ERRORS.get(String(token.error)) ?? 'DocuSign refused the JWT grant (HTTP 400)', 400);
    }
    if (!grant.ok) return failedWith(grant.status);
    const accessToken = textOf(token.access_token);
    if (!accessToken)
      return { ok: false, refused: false, httpStatus: grant.status, reason: 'DocuSign answered the JWT grant without an access token' };
    const expiresIn = typeof token.expires_in === 'number' && token.expires_in > 0 ? token.expires_in : DEFAULT_EXPIRES_IN_SECONDS;
    const expiresAt = Date.now() + expiresIn * 1000;
    const info = await send(ctx, { url: `${authOrigin}/oauth/userinfo`, headers: { authorization: `Bearer ${accessToken}` } });
    const user = (await readJsonBounded(info)) as UserInfo | null;
    if (!info.ok) return failedWith(info.status);
    if (user === null)
      return { ok: false, refused: false, httpStatus: info.status, reason: 'DocuSign userinfo answer is not JSON or too large' };
    const account = chooseAccount(user, credentials.account_id);
    if (!account) {
      return refused(
        credentials.account_id ? 'DocuSign user has no access to the configured account_id' : 'DocuSign user has no account',
        info.status,
      );
    }
    const accountId = textOf(account.account_id);
    const baseUri = textOf(account.base_uri);
    if (!accountId || !baseUri) {
      return { ok: false, refused: false, httpStatus: info.status, reason: 'DocuSign userinfo names no account_id or base_uri' };
    }
    const foreign = overridden ? null : docusignHostProblem(baseUri);
    if (foreign) return refused(foreign, info.status);
    const apiBase = `${baseUri.replace(/\/+$/, '')}/restapi/v2.1/accounts/${encodeURIComponent(accountId)}`;
    return { ok: true, session: { accessToken, expiresAt, apiBase } };
  } catch (err) {
    const failure = networkFailure(NAME, err);
    return { ok: false, refused: false, httpStatus: null, reason: failure.ok ? 'DocuSign API unreachable' : failure.reason };
  }
}

export const docusignSession: SessionAuthority = { obtain: obtainSession };

/**
 * `{base_uri}/restapi/v2.1/accounts/{accountId}` from the session; without one (never, for a
 * provider with `session`), the environment's shared API host and the configured account.
 */
function accountBase(credentials: Credentials, ctx: OperationCallContext): string {
  if (ctx.session?.apiBase) return ctx.session.apiBase;
  const origin = ctx.origin(environmentOrigin(credentials, { stage: 'https://demo.docusign.net', production: 'https://www.docusign.net' }));
  return `${origin}/restapi/v2.1/accounts/${encodeURIComponent(String(credentials.account_id ?? ''))}`;
}

const bearer = (ctx: OperationCallContext) => ({ authorization: `Bearer ${ctx.session?.accessToken ?? ''}` });

/** The Connect events an envelope reports to the integration (the ones deliveryUpdate reads). */
export const ENVELOPE_EVENTS = ['envelope-sent', 'envelope-delivered', 'envelope-completed', 'envelope-declined', 'envelope-voided'];
/** DocuSign limits emailSubject to 100 characters. */
const SUBJECT_CHARS = 100;

/** The file's extension DocuSign converts by (`contract.pdf` → pdf); pdf when the name has none. */
function extensionOf(name: string): string {
  const match = /\.([A-Za-z0-9]{1,10})$/.exec(name);
  return match ? match[1]!.toLowerCase() : 'pdf';
}

const requestSignature: OperationAdapter = {
  request(input, credentials, ctx) {
    const name = String(input.documentName);
    const signers = (input.signers as { name: string; email: string }[]).map((s, i) => ({
      email: s.email,
      name: s.name,
      recipientId: String(i + 1),
      routingOrder: String(i + 1),
    }));
    const subject = `Please sign: ${name}`;
    const envelope: Record<string, unknown> = {
      emailSubject: subject.length > SUBJECT_CHARS ? `${subject.slice(0, SUBJECT_CHARS - 1)}…` : subject,
      ...(typeof input.message === 'string' ? { emailBlurb: input.message } : {}),
      documents: [{ documentBase64: String(input.documentBase64), name, fileExtension: extensionOf(name), documentId: '1' }],
      recipients: { signers },
      status: 'sent',
      eventNotification: {
        url: ctx.callbackUrl,
        requireAcknowledgment: 'true',
        includeHMAC: 'true',
        deliveryMode: 'SIM',
        eventData: { version: 'restv2.1', format: 'json' },
        events: ENVELOPE_EVENTS,
      },
    };
    return {
      method: 'POST',
      url: `${accountBase(credentials, ctx)}/envelopes`,
      headers: { ...bearer(ctx), ...json.headers },
      body: json.encode(envelope),
    };
  },
  parse(answer) {
    const body = json.object(answer.body);
    const envelopeId = textOf(body.envelopeId);
    if (!envelopeId) throw new Error('DocuSign answered without an envelopeId');
    return { providerReference: envelopeId, result: { envelopeId, status: textOf(body.status) ?? 'sent' } };
  },
};

const trackSignature: OperationAdapter = {
  request(input, credentials, ctx) {
    const id = encodeURIComponent(String(input.signatureReference));
    return { method: 'GET', url: `${accountBase(credentials, ctx)}/envelopes/${id}?include=recipients`, headers: bearer(ctx) };
  },
  parse(answer, { input }) {
    const body = json.object(answer.body);
    const envelopeId = textOf(body.envelopeId);
    const status = textOf(body.status);
    if (!envelopeId || !status) throw new Error('DocuSign answered without an envelopeId or status');
    const listed = json.object(body.recipients).signers;
    const signers = (Array.isArray(listed) ? listed : [])
      .filter(isRecord)
      .map((s) => ({ email: textOf(s.email) ?? '', status: textOf(s.status) ?? 'unknown' }));
    // the envelope id: callbacks still land on the request that created it (tracking.ts matches no follow-up)
    return { providerReference: String(input.signatureReference), result: { status, signers } };
  },
};

/** A Connect envelope event: the envelope's status from its summary, else from the event's name. */
export function docusignDeliveryUpdate(event: InboundEvent): DeliveryUpdate | null {
  if (!event.type.startsWith('envelope-')) return null;
  const envelopeId = textAt(event.payload, 'data', 'envelopeId');
  const status = textAt(event.payload, 'data', 'envelopeSummary', 'status') ?? event.type.slice('envelope-'.length);
  return envelopeId && status ? { providerReference: envelopeId, status } : null;
}

/** The GUID fields are not sensitive (stored in clear and returned): the private key must not land in them. */
const PEM_HERE: FormatMistake = {
  pattern: /-----BEGIN /,
  hint: 'this is a PEM key; it goes in private_key, never here, where it would be shown',
};

export const docusign: ProviderDefinition = {
  name: 'docusign',
  displayName: 'DocuSign',
  description: 'Electronic signatures with DocuSign eSignature (JWT grant), with HMAC-signed Connect events.',
  docsUrl: 'https://developers.docusign.com/platform/configuring-app',
  badge: { monogram: 'DS', color: '#4C00FF' },
  category: 'E_SIGNATURE',
  capabilities: ['request_signature', 'track_signature'],
  credentialSchema: [
    {
      key: 'integration_key',
      label: 'Integration key',
      type: 'STRING',
      sensitive: false,
      required: true,
      mistakes: [PEM_HERE, NO_WHITESPACE],
      description: "The app's integration key (client ID, a GUID) from Apps and Keys.",
    },
    {
      key: 'user_id',
      label: 'User ID',
      type: 'STRING',
      sensitive: false,
      required: true,
      mistakes: [PEM_HERE, NO_WHITESPACE],
      description: 'GUID of the user the integration impersonates (API Username in Apps and Keys).',
    },
    {
      key: 'account_id',
      label: 'Account ID',
      type: 'STRING',
      sensitive: false,
      required: false,
      mistakes: [PEM_HERE, NO_WHITESPACE],
      description: 'The API account ID to use; when set, the check confirms the user belongs to it.',
    },
    {
      key: 'private_key',
      label: 'RSA private key',
      type: 'STRING',
      sensitive: true,
      required: true,
      description: 'PEM of the RSA key pair registered on the integration key; signs the JWT grant.',
    },
    {
      key: 'connect_hmac_key',
      label: 'Connect HMAC key',
      type: 'STRING',
      sensitive: true,
      required: false,
      authenticates: false,
      mistakes: [NO_WHITESPACE],
      description: 'A Connect HMAC secret; verifies X-DocuSign-Signature-* on inbound Connect events.',
    },
    ...E_SIGNATURE_COMMON_FIELDS,
  ],
  verify: async (credentials, ctx) => {
    const got = await obtainSession(credentials, ctx);
    return got.ok ? { ok: true } : { ok: false, permanent: got.refused, reason: got.reason };
  },
  session: docusignSession,
  inbound: docusignInbound,
  operations: { request_signature: requestSignature, track_signature: trackSignature },
  deliveryUpdate: docusignDeliveryUpdate,
  // a signer opened it: after sent, before the outcomes (completed, declined, voided)
  deliveryStages: { delivered: 4 },
};
