/**
 * Clicksign (Brazil), API v3 "Envelope". Sandbox and production are separate hosts with separate
 * tokens. Check: `GET /api/v3/envelopes?page[size]=1`, the docs' own authentication test, with
 * the raw token in `Authorization` (v3 takes no Bearer prefix) and the JSON:API media type; a
 * missing or invalid token answers 401. Inbound webhooks carry `Content-Hmac: sha256=<hex>`,
 * an HMAC-SHA256 of the body keyed with the webhook's secret (`hmac_secret`).
 *
 * Inbound (developers.clicksign.com/v2.1/docs/seguranca-de-webhooks): the `Content-Hmac` hex
 * HMAC of the raw body as above; the `Event` header is not signed and is ignored. Nothing is
 * timestamped. Body `{ event: { name, occurred_at, … }, document: { key, … } }`: type =
 * event.name, id = `<document.key>:<event.name>:<event.occurred_at>`, else the body's sha256.
 *
 * Operations use API v1 (documents, signers, lists, notifications), not the v3 envelopes the
 * check reads: an envelope is activated with `PATCH /api/v3/envelopes/{id}`, a method
 * ProviderCall does not have, and v1's document key is what the webhooks above carry. The same
 * account token is assumed to serve both versions (v1 takes it as the `access_token` query
 * parameter, as the docs' own v3 browser test does too).
 */
import { check, json, textOf } from './http.ts';
import { header, isRecord, parseJsonObject, textAt } from './inbound/body.ts';
import { hmac, safeEqual, sha256Hex } from './inbound/crypto.ts';
import { accepted, badRequest, missingSecret, secretOf, unauthorized } from './inbound/results.ts';
import type {
  Credentials,
  DeliveryUpdate,
  InboundEvent,
  InboundVerifier,
  OperationAdapter,
  OperationCallContext,
  ProviderCall,
  ProviderDefinition,
} from './types.ts';
import { E_SIGNATURE_COMMON_FIELDS, environmentOrigin, NO_WHITESPACE } from './types.ts';

const ORIGINS = { stage: 'https://sandbox.clicksign.com', production: 'https://app.clicksign.com' };

export const clicksignInbound: InboundVerifier = {
  verify(req, credentials) {
    const secret = secretOf(credentials, 'hmac_secret');
    if (!secret) return missingSecret('hmac_secret');
    const given = header(req, 'content-hmac');
    if (!given) return unauthorized('missing Content-Hmac header');
    const expected = `sha256=${hmac('sha256', secret, req.rawBody).toString('hex')}`;
    if (!safeEqual(expected, given.toLowerCase())) return unauthorized('Content-Hmac does not match the hmac_secret');
    const body = parseJsonObject(req);
    if (!body.ok) return body;
    const type = textAt(body.value, 'event', 'name');
    if (!type) return badRequest('Clicksign webhook has no event.name');
    const documentKey = textAt(body.value, 'document', 'key');
    const occurredAt = textAt(body.value, 'event', 'occurred_at');
    const id = documentKey && occurredAt ? `${documentKey}:${type}:${occurredAt}` : sha256Hex(req.rawBody);
    return accepted([{ id, type, payload: body.value }]);
  },
};

/** What the leading bytes of a base64 document say it is (the types the e-signature APIs take); PDF when unsure. */
export function documentMediaType(base64: string): { mediaType: string; extension: string } {
  const head = Buffer.from(base64.slice(0, 16), 'base64');
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47)) return { mediaType: 'image/png', extension: 'png' };
  if (starts(0xff, 0xd8, 0xff)) return { mediaType: 'image/jpeg', extension: 'jpg' };
  if (starts(0x50, 0x4b, 0x03, 0x04)) {
    return { mediaType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', extension: 'docx' };
  }
  if (starts(0xd0, 0xcf, 0x11, 0xe0)) return { mediaType: 'application/msword', extension: 'doc' };
  return { mediaType: 'application/pdf', extension: 'pdf' };
}

type Signer = { name: string; email: string };

const V1_HEADERS = { ...json.headers, accept: 'application/json' };

function v1Call(credentials: Credentials, ctx: OperationCallContext, method: 'GET' | 'POST', path: string, body?: unknown): ProviderCall {
  const query = new URLSearchParams({ access_token: String(credentials.access_token) });
  return {
    method,
    url: `${ctx.origin(environmentOrigin(credentials, ORIGINS))}/api/v1/${path}?${query}`,
    headers: method === 'GET' ? { accept: 'application/json' } : V1_HEADERS,
    ...(body === undefined ? {} : { body: json.encode(body) }),
  };
}

/**
 * Clicksign's keys are UUIDs; any plain token is taken (letters, digits, `-`, `_`), nothing that
 * could change a URL they are later put in (`/`, `.`, `?`, `%`…).
 */
const KEY = /^[A-Za-z0-9_-]{1,64}$/;

/** `field` of the object v1 answers under `name` (`{ document: { key } }`…), a plain key. */
function keyOf(body: unknown, name: string, field = 'key'): string {
  const key = textOf(json.object(json.object(body)[name])[field]);
  if (!key) throw new Error(`Clicksign answered without ${name}.${field}`);
  if (!KEY.test(key)) throw new Error(`Clicksign answered a ${name}.${field} that is not a plain key`);
  return key;
}

/**
 * `POST /api/v1/documents` (`path` "/<name>.<ext>", `content_base64` as a data URI, auto_close so
 * the document closes once all have signed); then per signer `POST /api/v1/signers` (email
 * auth, email delivery) and `POST /api/v1/lists` (sign_as "sign", refusable); then, once all are
 * listed, per signer `POST /api/v1/notifications` with the list's request_signature_key and the
 * message (the docs put the message there when signing is not sequenced). 1 + 3 calls per
 * signer. Every call after the first carries the document key as `madeReference`: a document
 * whose signers or notifications then fail still exists at Clicksign, and the failed operation
 * names it so the tenant can find and cancel it.
 */
export const clicksignRequestSignature: OperationAdapter = {
  request(input, credentials, ctx) {
    const base64 = String(input.documentBase64);
    const { mediaType, extension } = documentMediaType(base64);
    const name = String(input.documentName).replaceAll('/', '-');
    const path = `/${name.toLowerCase().endsWith(`.${extension}`) ? name : `${name}.${extension}`}`;
    return v1Call(credentials, ctx, 'POST', 'documents', {
      document: { path, content_base64: `data:${mediaType};base64,${base64}`, auto_close: true },
    });
  },
  parse(answer, { carry, input, credentials, ctx }) {
    const signers = input.signers as Signer[];
    const message = typeof input.message === 'string' ? input.message : undefined;
    const signerCall = (index: number) => {
      const signer = signers[index]!;
      return v1Call(credentials, ctx, 'POST', 'signers', {
        signer: { email: signer.email, name: signer.name, auths: ['email'], delivery: 'email' },
      });
    };
    const notify = (requestSignatureKey: string) =>
      v1Call(credentials, ctx, 'POST', 'notifications', {
        request_signature_key: requestSignatureKey,
        ...(message === undefined ? {} : { message }),
      });
    if (carry.phase === undefined) {
      const document = json.object(json.object(answer.body).document);
      const documentKey = keyOf(answer.body, 'document');
      const status = textOf(document.status) ?? 'running';
      return { next: signerCall(0), carry: { documentKey, status, index: 0, keys: [], phase: 'signer' }, madeReference: documentKey };
    }
    const index = Number(carry.index);
    const documentKey = String(carry.documentKey);
    const keys = carry.keys as string[];
    if (carry.phase === 'signer') {
      const list = { document_key: documentKey, signer_key: keyOf(answer.body, 'signer'), sign_as: 'sign', refusable: true };
      return { next: v1Call(credentials, ctx, 'POST', 'lists', { list }), carry: { ...carry, phase: 'list' }, madeReference: documentKey };
    }
    if (carry.phase === 'list') {
      const requestSignatureKey = keyOf(answer.body, 'list', 'request_signature_key');
      const next = { ...carry, keys: [...keys, requestSignatureKey] };
      // nobody is notified before every signer is on the list
      if (index + 1 < signers.length) {
        return { next: signerCall(index + 1), carry: { ...next, index: index + 1, phase: 'signer' }, madeReference: documentKey };
      }
      return { next: notify(next.keys[0]!), carry: { ...next, index: 0, phase: 'notify' }, madeReference: documentKey };
    }
    if (index + 1 < keys.length) {
      return { next: notify(keys[index + 1]!), carry: { ...carry, index: index + 1 }, madeReference: documentKey };
    }
    return { providerReference: documentKey, result: { envelopeId: documentKey, status: String(carry.status) } };
  },
};

/**
 * `GET /api/v1/documents/{key}`: the document's `status` (running, closed, canceled) and its
 * signers. v1 gives a signer no status word: one whose `signature.signed_at` is set has signed
 * ("signed"), else "pending" (assumption from the documented document view).
 */
export const clicksignTrackSignature: OperationAdapter = {
  request(input, credentials, ctx) {
    // the capability's input check already keeps the reference to letters, digits, _ and -
    return v1Call(credentials, ctx, 'GET', `documents/${encodeURIComponent(String(input.signatureReference))}`);
  },
  parse(answer) {
    const document = json.object(json.object(answer.body).document);
    const key = textOf(document.key);
    const status = textOf(document.status);
    if (!key || !status) throw new Error('Clicksign answered without document.key and document.status');
    const signers = (Array.isArray(document.signers) ? document.signers : []).filter(isRecord).map((s) => ({
      email: textOf(s.email) ?? null,
      status: textAt(s, 'signature', 'signed_at') ? 'signed' : 'pending',
    }));
    return { providerReference: key, result: { status, signers } };
  },
};

/** Webhook event names that say what became of the signature request, and the status each sets. */
const DELIVERY_STATUS = new Map([
  ['sign', 'signed'],
  ['refusal', 'refused'],
  ['close', 'closed'],
  ['auto_close', 'closed'],
  ['cancel', 'canceled'],
  ['deadline', 'expired'],
]);

/**
 * Where these statuses sit among the delivery stages (src/operations/tracking.ts), stated here so
 * they hold whatever the shared table becomes: one signer's `signed` before the document's end;
 * closed, refused, canceled and expired (a deadline closes or cancels the document) are final.
 */
const DELIVERY_STAGES = { signed: 4, closed: 5, refused: 5, canceled: 5, expired: 5 };

/** A webhook names the document by `document.key`; other events (upload, add_signer…) say nothing of the outcome. */
export function clicksignDeliveryUpdate(event: InboundEvent): DeliveryUpdate | null {
  const status = DELIVERY_STATUS.get(event.type);
  const key = textAt(event.payload, 'document', 'key');
  return status && key ? { providerReference: key, status } : null;
}

export const clicksign: ProviderDefinition = {
  name: 'clicksign',
  displayName: 'Clicksign',
  description: 'Electronic signatures with Clicksign (Brazil), with HMAC-signed webhooks.',
  docsUrl: 'https://developers.clicksign.com/docs/access-token',
  badge: { monogram: 'C', color: '#1C4EF0' },
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
      description: "The account's API access token for the chosen environment (Settings → API).",
    },
    {
      key: 'hmac_secret',
      label: 'Webhook HMAC secret',
      type: 'STRING',
      sensitive: true,
      required: false,
      authenticates: false,
      mistakes: [NO_WHITESPACE],
      description: "The webhook's HMAC SHA256 secret; verifies the Content-Hmac header of inbound events.",
    },
    ...E_SIGNATURE_COMMON_FIELDS,
  ],
  verify: (credentials, ctx) =>
    check('Clicksign', ctx, {
      // `page[size]=1` with its brackets percent-encoded, as URLSearchParams writes it.
      url: `${ctx.origin(environmentOrigin(credentials, ORIGINS))}/api/v3/envelopes?page%5Bsize%5D=1`,
      headers: { authorization: String(credentials.access_token), accept: 'application/vnd.api+json' },
    }),
  inbound: clicksignInbound,
  operations: { request_signature: clicksignRequestSignature, track_signature: clicksignTrackSignature },
  deliveryUpdate: clicksignDeliveryUpdate,
  deliveryStages: DELIVERY_STAGES,
};
