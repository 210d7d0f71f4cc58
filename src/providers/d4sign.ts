/**
 * D4Sign (Brazil). Sandbox and production are separate hosts. Every call authenticates in the
 * query string: `tokenAPI`, plus `cryptKey` when the account has it enabled. Check: `GET
 * /api/v1/account/balance`, a read with no side effects (the status D4Sign gives a bad token,
 * 400/401/403, is undocumented; all are permanent failures). Inbound POSTbacks carry
 * `Content-Hmac: sha256=<hex>`, an HMAC-SHA256 of the document UUID keyed with `hmac_secret`.
 *
 * Inbound (docapi.d4sign.com.br/v2.0/docs/segurança-de-webhook): D4Sign signs only the
 * document's `uuid`, NOT the body. So the signature proves which document the callback is about
 * and nothing else: anyone who has seen one signed callback for a document can replay its header
 * with any other `type_post` for that document. Only `uuid` and `type_post` are therefore
 * relayed (the rest of the body, e.g. `message`, is dropped unread), `type_post` must be a plain
 * token, and consumers should re-fetch the document's status from the API before acting on it.
 * Body: form or JSON with `uuid` and `type_post`; type = `document.<type_post>`, id =
 * `<uuid>:<type_post>`.
 *
 * Operations (docapi.d4sign.com.br): JSON bodies, `tokenAPI`/`cryptKey` in the query as above;
 * errors are `{ "message": … }`. A signature request is several calls (see the adapter).
 */
import { documentMediaType } from './clicksign.ts';
import { check, json, textOf } from './http.ts';
import type { Fields, Parsed } from './inbound/body.ts';
import { header, isForm, isRecord, parseForm, parseJsonObject, textAt } from './inbound/body.ts';
import { hmac, safeEqual } from './inbound/crypto.ts';
import { accepted, badRequest, missingSecret, secretOf, unauthorized } from './inbound/results.ts';
import type {
  Credentials,
  DeliveryUpdate,
  InboundEvent,
  InboundRequest,
  InboundVerifier,
  OperationAdapter,
  OperationCallContext,
  ProviderCall,
  ProviderDefinition,
} from './types.ts';
import { E_SIGNATURE_COMMON_FIELDS, environmentOrigin, NO_WHITESPACE } from './types.ts';

const ORIGINS = { stage: 'https://sandbox.d4sign.com.br', production: 'https://secure.d4sign.com.br' };

/** Bounds what an unsigned field can put into a relayed event type. */
const TYPE_POST = /^[A-Za-z0-9_-]{1,32}$/;

const fieldsOf = (req: InboundRequest): Parsed<Fields> =>
  isForm(req) ? { ok: true, value: Object.fromEntries(parseForm(req)) } : parseJsonObject(req);

export const d4signInbound: InboundVerifier = {
  verify(req, credentials) {
    const secret = secretOf(credentials, 'hmac_secret');
    if (!secret) return missingSecret('hmac_secret');
    const given = header(req, 'content-hmac');
    if (!given) return unauthorized('missing Content-Hmac header');
    // The uuid is the signed message, so the body has to be read before the check.
    const body = fieldsOf(req);
    if (!body.ok) return body;
    const uuid = textAt(body.value, 'uuid');
    if (!uuid) return badRequest('D4Sign POSTback has no uuid');
    const expected = `sha256=${hmac('sha256', secret, uuid).toString('hex')}`;
    if (!safeEqual(expected, given.toLowerCase())) return unauthorized('Content-Hmac does not match the hmac_secret');
    const typePost = textAt(body.value, 'type_post');
    if (!typePost || !TYPE_POST.test(typePost)) return badRequest('D4Sign POSTback has no valid type_post');
    return accepted([{ id: `${uuid}:${typePost}`, type: `document.${typePost}`, payload: { uuid, type_post: typePost } }]);
  },
};

/** D4Sign's document and safe ids: UUIDs, the only shape put into a path beside the tokens in the query. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A uuid of D4Sign's answer, checked: anything else (`../`, `?`…) is not what the API documents. */
function uuidOf(value: unknown, what: string): string {
  const uuid = textOf(value);
  if (!uuid) throw new Error(`D4Sign answered without ${what}`);
  if (!UUID.test(uuid)) throw new Error(`D4Sign answered ${what} that is not a UUID`);
  return uuid;
}

function authQuery(credentials: Credentials): URLSearchParams {
  const query = new URLSearchParams({ tokenAPI: String(credentials.token_api) });
  if (credentials.crypt_key) query.set('cryptKey', String(credentials.crypt_key));
  return query;
}

function apiCall(credentials: Credentials, ctx: OperationCallContext, path: string, body?: Record<string, unknown>): ProviderCall {
  const url = `${ctx.origin(environmentOrigin(credentials, ORIGINS))}/api/v1/${path}?${authQuery(credentials)}`;
  if (body === undefined) return { method: 'GET', url, headers: { accept: 'application/json' } };
  return { method: 'POST', url, headers: { ...json.headers, accept: 'application/json' }, body: json.encode(body) };
}

/** D4Sign answers some objects wrapped in a one-element array. */
const unwrap = (body: unknown): Record<string, unknown> => json.object(Array.isArray(body) ? body[0] : body);

/**
 * One signer of `createlist`: sign (`act` 1) by email token, no ICP-Brasil certificate, not in
 * person, no ID document or selfie, no attachments. D4Sign's list takes no name: the signer
 * types it when signing.
 */
const listEntry = (email: string) => ({
  email,
  act: '1',
  foreign: '0',
  certificadoicpbr: '0',
  assinatura_presencial: '0',
  docauth: '0',
  docauthandselfie: '0',
  embed_methodauth: 'email',
  embed_smsnumber: '',
  upload_allow: '0',
  upload_obs: '',
});

/**
 * `GET /safes` (only when no `safe_uuid` is configured: the first safe is used), `POST
 * /documents/{safe}/uploadbinary` (`base64_binary_file`, `mime_type`, `name`) answering the
 * document `uuid`, `POST /documents/{uuid}/webhooks` (`url`: the callback URL, so this
 * document's POSTbacks reach us), `POST /documents/{uuid}/createlist`
 * with every signer, then `POST /documents/{uuid}/sendtosigner` (`message`, `skip_email` 0,
 * `workflow` 0: all sign in parallel; `tokenAPI` in the body too, as that endpoint documents).
 */
export const d4signRequestSignature: OperationAdapter = {
  request(input, credentials, ctx) {
    if (!credentials.safe_uuid) return apiCall(credentials, ctx, 'safes');
    return upload(input, credentials, ctx, String(credentials.safe_uuid));
  },
  parse(answer, { carry, input, credentials, ctx }) {
    const phase = carry.phase ?? (credentials.safe_uuid ? 'upload' : 'safes');
    const documentUuid = String(carry.uuid);
    const documentPath = (action: string) => `documents/${encodeURIComponent(documentUuid)}/${action}`;
    // once uploaded the document exists at D4Sign: a later failure names it (madeReference)
    const next = (call: ProviderCall, nextPhase: string, extra: Record<string, unknown> = {}) => {
      const made = textOf(extra.uuid ?? carry.uuid);
      return { next: call, carry: { ...carry, ...extra, phase: nextPhase }, ...(made ? { madeReference: made } : {}) };
    };
    switch (phase) {
      case 'safes': {
        const safe = uuidOf(unwrap(answer.body).uuid_safe, 'a safe uuid (uuid_safe) to store the document in');
        return next(upload(input, credentials, ctx, safe), 'upload');
      }
      case 'upload': {
        const uuid = uuidOf(unwrap(answer.body).uuid, 'the uploaded document uuid');
        const webhook = { url: ctx.callbackUrl };
        return next(apiCall(credentials, ctx, `documents/${encodeURIComponent(uuid)}/webhooks`, webhook), 'webhook', { uuid });
      }
      case 'webhook': {
        const signers = (input.signers as { email: string }[]).map((s) => listEntry(s.email));
        return next(apiCall(credentials, ctx, documentPath('createlist'), { signers }), 'list');
      }
      case 'list': {
        const body: Record<string, unknown> = { skip_email: '0', workflow: '0', tokenAPI: String(credentials.token_api) };
        if (typeof input.message === 'string') body.message = input.message;
        return next(apiCall(credentials, ctx, documentPath('sendtosigner'), body), 'send');
      }
      default:
        return { providerReference: documentUuid, result: { envelopeId: documentUuid, status: 'sent' } };
    }
  },
};

function upload(input: Readonly<Record<string, unknown>>, credentials: Credentials, ctx: OperationCallContext, safe: string) {
  const base64 = String(input.documentBase64);
  return apiCall(credentials, ctx, `documents/${encodeURIComponent(safe)}/uploadbinary`, {
    base64_binary_file: base64,
    mime_type: documentMediaType(base64).mediaType,
    name: String(input.documentName),
  });
}

/**
 * `GET /documents/{uuid}/list`: the document (`statusName`, D4Sign's own words, e.g.
 * "Aguardando Assinaturas") with its signers under `list`, each `signed` "1" or "0" (read as
 * "signed" or "pending"). The docs show `list` as one object; an array is read too.
 */
export const d4signTrackSignature: OperationAdapter = {
  request(input, credentials, ctx) {
    // the capability's input check already keeps the reference to letters, digits, _ and -
    return apiCall(credentials, ctx, `documents/${encodeURIComponent(String(input.signatureReference))}/list`);
  },
  parse(answer, { input }) {
    const document = unwrap(answer.body);
    const status = textOf(document.statusName) ?? textAt(document, 'statusId');
    if (!status) throw new Error('D4Sign answered without the document status');
    const list = Array.isArray(document.list) ? document.list : [document.list];
    const signers = list.filter(isRecord).map((s) => ({
      email: textOf(s.email) ?? null,
      status: textAt(s, 'signed') === '1' ? 'signed' : 'pending',
    }));
    const reference = textOf(document.uuidDoc) ?? String(input.signatureReference);
    return { providerReference: reference, result: { status, signers } };
  },
};

/**
 * POSTback `type_post` (docapi "Webhooks"): 1 the document is finished (all signed), 2 an email
 * could not be delivered, 3 the document was canceled, 4 a signer signed. Others change nothing.
 */
const DELIVERY_STATUS = new Map([
  ['1', 'completed'],
  ['2', 'undelivered'],
  ['3', 'canceled'],
  ['4', 'signed'],
]);

/**
 * Where these statuses sit among the delivery stages (src/operations/tracking.ts): an email that
 * could not reach one signer (2) and one signer's signature (4) happen while the document is
 * still open, so they sit before its end; finished (1) and canceled (3) are final. The shared
 * table puts `undelivered` among outcomes, which would let it replace `completed`.
 */
const DELIVERY_STAGES = { undelivered: 4, signed: 4, completed: 5, canceled: 5 };

export function d4signDeliveryUpdate(event: InboundEvent): DeliveryUpdate | null {
  const uuid = textAt(event.payload, 'uuid');
  const status = DELIVERY_STATUS.get(textAt(event.payload, 'type_post') ?? '');
  return uuid && status ? { providerReference: uuid, status } : null;
}

export const d4sign: ProviderDefinition = {
  name: 'd4sign',
  displayName: 'D4Sign',
  description: 'Electronic signatures with D4Sign (Brazil), with HMAC-signed POSTback callbacks.',
  docsUrl: 'https://docapi.d4sign.com.br/docs',
  badge: { monogram: 'D4', color: '#0A5EA8' },
  category: 'E_SIGNATURE',
  capabilities: ['request_signature', 'track_signature'],
  credentialSchema: [
    {
      key: 'token_api',
      label: 'API token',
      type: 'STRING',
      sensitive: true,
      required: true,
      mistakes: [NO_WHITESPACE],
      description: 'The tokenAPI from the Dev API menu of the chosen environment.',
    },
    {
      key: 'crypt_key',
      label: 'Crypt key',
      type: 'STRING',
      sensitive: true,
      required: false,
      mistakes: [NO_WHITESPACE],
      description: 'The cryptKey from the Dev API menu; needed only when enabled on the account.',
    },
    {
      key: 'hmac_secret',
      label: 'Webhook HMAC secret',
      type: 'STRING',
      sensitive: true,
      required: false,
      authenticates: false,
      mistakes: [NO_WHITESPACE],
      description: "The account's Secret Key MAC; verifies the Content-Hmac header of inbound POSTbacks.",
    },
    {
      key: 'safe_uuid',
      label: 'Safe UUID',
      type: 'STRING',
      sensitive: false,
      required: false,
      // where documents are filed, not how the account authenticates
      authenticates: false,
      description: 'The safe (cofre) documents sent for signature are stored in; the first safe of the account when absent.',
      // it goes into a URL path: a UUID, so nothing in it can step out of that path
      pattern: UUID,
      patternHint: 'a UUID: 8-4-4-4-12 hexadecimal digits, e.g. 06b3ddb1-abc9-4ab8-b944-0d7c940486af',
    },
    ...E_SIGNATURE_COMMON_FIELDS,
  ],
  verify: (credentials, ctx) =>
    check('D4Sign', ctx, {
      url: `${ctx.origin(environmentOrigin(credentials, ORIGINS))}/api/v1/account/balance?${authQuery(credentials)}`,
      headers: { accept: 'application/json' },
    }),
  inbound: d4signInbound,
  operations: { request_signature: d4signRequestSignature, track_signature: d4signTrackSignature },
  deliveryUpdate: d4signDeliveryUpdate,
  deliveryStages: DELIVERY_STAGES,
};
