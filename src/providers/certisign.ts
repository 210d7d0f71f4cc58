/**
 * Certisign "Portal de Assinaturas" (API v2 behind Azure API Management). Sandbox and production
 * are separate gateways with separate subscription keys, sent as the `Token` header.
 *
 * Check (inferred: Certisign documents no side-effect-free authenticated read): `GET
 * /api/v2/document/package?key=<probe>` for a document that does not exist. The gateway refuses
 * an unknown subscription key with 401 before the backend (standard APIM behaviour); a valid key
 * reaches the backend, which answers 404 or 400 for the probe document, so those mean the key
 * was accepted. 2xx is accepted too; 5xx/429 are transient as usual.
 *
 * Inbound: Certisign signs nothing (no signing scheme is documented), so `inbound` verifies
 * nothing cryptographically and accepts any JSON object. The only check is the unguessable token
 * in the hook URL, done by the endpoint before this runs; the body is unauthenticated, so
 * consumers should re-fetch the document before acting on it. Type: the first of `event`,
 * `eventType`, `type`, `status`, `action` that is a plain token (letters, digits, `_.:-`, at most
 * 64), else `callback`; the bound keeps an unauthenticated body from choosing odd event types.
 * Id: the body's sha256, since no event id is documented.
 *
 * Operations: only upload and create are in the public catalogue (desenvolvedor.
 * portaldeassinaturas.com.br, "How the APIs work"); the rest is inferred from integrations seen
 * in public code and written beside each adapter. The API is ASP.NET behind APIM, assumed to
 * ignore JSON fields it does not know (its default), which `message` may be.
 */
import { classifyStatus, json, networkFailure, send, textOf } from './http.ts';
import { isRecord, parseJsonObject, textAt } from './inbound/body.ts';
import { sha256Hex } from './inbound/crypto.ts';
import { accepted } from './inbound/results.ts';
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

const ORIGINS = {
  stage: 'https://api-sbx.portaldeassinaturas.com.br',
  production: 'https://api.portaldeassinaturas.com.br',
};
const PROBE_DOCUMENT_KEY = 'credential-check';

const TYPE_FIELDS = ['event', 'eventType', 'type', 'status', 'action'];
const PLAIN_TOKEN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export const certisignInbound: InboundVerifier = {
  verify(req) {
    const body = parseJsonObject(req);
    if (!body.ok) return body;
    const type = TYPE_FIELDS.map((field) => textAt(body.value, field)).find((value) => value && PLAIN_TOKEN.test(value)) ?? 'callback';
    return accepted([{ id: sha256Hex(req.rawBody), type, payload: body.value }]);
  },
};

/**
 * The document id create answers (a number in what integrations show): a plain token, so nothing
 * in it (`/`, `.`, `?`, `&`…) can change the URLs it is later put in.
 */
const DOCUMENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

function apiCall(credentials: Credentials, ctx: OperationCallContext, path: string, body?: unknown): ProviderCall {
  const url = `${ctx.origin(environmentOrigin(credentials, ORIGINS))}/api/v2/${path}`;
  const token = String(credentials.api_token);
  if (body === undefined) return { method: 'GET', url, headers: { token, accept: 'application/json' } };
  return { method: 'POST', url, headers: { token, ...json.headers, accept: 'application/json' }, body: json.encode(body) };
}

/**
 * `POST /api/v2/document/upload` with `fileName` and `bytes` (the file as base64: .NET reads a
 * byte[] from a base64 string; the catalogue's example shows a number array) answers `uploadId`;
 * then `POST /api/v2/document/create` with `document { name, upload { id, name } }`, the
 * signers (all at `step` 1, so in parallel, `title` "Signer"; no CPF, which the portal asks
 * of a signer who has none registered when they sign — assumption), `callback` true (status
 * callbacks go to the URL registered on the subscription, not per request) and the message.
 * It answers `{ id, chave, signUrl, inProcessing }`: `id` is the document id callbacks and
 * flowActions use; `chave` is the package (download) key. No document exists before create
 * answers (an upload is a temporary file), so the first call names no `madeReference`.
 */
export const certisignRequestSignature: OperationAdapter = {
  request(input, credentials, ctx) {
    return apiCall(credentials, ctx, 'document/upload', {
      fileName: String(input.documentName),
      bytes: String(input.documentBase64),
    });
  },
  parse(answer, { step, input, credentials, ctx }) {
    const body = json.object(answer.body);
    if (step === 1) {
      const uploadId = textOf(body.uploadId);
      if (!uploadId) throw new Error('Certisign answered the upload without an uploadId');
      const name = String(input.documentName);
      const signers = (input.signers as { name: string; email: string }[]).map((s) => ({
        step: 1,
        title: 'Signer',
        name: s.name,
        email: s.email,
      }));
      const create: Record<string, unknown> = { document: { name, upload: { id: uploadId, name } }, signers, callback: true };
      if (typeof input.message === 'string') create.message = input.message;
      return { next: apiCall(credentials, ctx, 'document/create', create) };
    }
    const id = textAt(body, 'id');
    if (!id) throw new Error('Certisign answered the document creation without an id');
    if (!DOCUMENT_ID.test(id)) throw new Error('Certisign answered a document id that is not a plain id');
    return { providerReference: id, result: { envelopeId: id, status: body.inProcessing === true ? 'processing' : 'created' } };
  },
};

/**
 * `GET /api/v2/document/flowActions?id={id}` (not in the public catalogue; seen in integrations):
 * `{ steps: [{ order, status, attendees: [{ actionTaken, user { name, email } }] }] }`. A signer
 * whose `actionTaken` is true has signed ("signed", else "pending"); the document is "completed"
 * when every attendee has acted, else "pending". Certisign gives no status word of its own here.
 */
export const certisignTrackSignature: OperationAdapter = {
  request(input, credentials, ctx) {
    // the reference only ever goes into the query, encoded by URLSearchParams
    return apiCall(credentials, ctx, `document/flowActions?${new URLSearchParams({ id: String(input.signatureReference) })}`);
  },
  parse(answer, { input }) {
    const steps = json.object(answer.body).steps;
    if (!Array.isArray(steps)) throw new Error('Certisign answered flowActions without steps');
    const attendees = steps.filter(isRecord).flatMap((s) => (Array.isArray(s.attendees) ? s.attendees.filter(isRecord) : []));
    const signers = attendees.map((a) => ({
      email: textAt(a, 'user', 'email') ?? null,
      status: a.actionTaken === true ? 'signed' : 'pending',
    }));
    const status = signers.length > 0 && signers.every((s) => s.status === 'signed') ? 'completed' : 'pending';
    return { providerReference: String(input.signatureReference), result: { status, signers } };
  },
};

/**
 * Certisign documents no callback body. Assumed: the document id is `documentId`, `document.id`
 * or `id`, and the event type the inbound verifier read (its `event`/`status`… field) is the
 * status word; a body with neither names no operation.
 *
 * These callbacks are NOT signed: Certisign documents no signing scheme, so `certisignInbound`
 * checks nothing and the only protection is the unguessable token in the hook URL. They are
 * accepted anyway (refusing them would leave Certisign operations untracked); whoever learns the
 * URL can set the deliveryStatus of any of the integration's documents by id, so deliveryStatus
 * from Certisign is a hint and trackSignature (which asks Certisign) the authority.
 */
export function certisignDeliveryUpdate(event: InboundEvent): DeliveryUpdate | null {
  const p = event.payload;
  const reference = textAt(p, 'documentId') ?? textAt(p, 'document', 'id') ?? textAt(p, 'id');
  if (!reference || event.type === 'callback') return null;
  return { providerReference: reference, status: event.type.toLowerCase() };
}

/**
 * Where Certisign's words sit among the delivery stages (src/operations/tracking.ts), for those
 * the shared table lacks or places otherwise. Certisign documents no callback words, so these are
 * assumptions: the end of the flow in English or Portuguese (concluded, finished, concluido,
 * finalizado, cancelled, cancelado, recusado, expirado) is final; one signer's `signed`/`assinado`
 * and a view come before it. Any other word sits at the unknown stage (4), below the final ones.
 */
const DELIVERY_STAGES: Readonly<Record<string, number>> = {
  signed: 4,
  assinado: 4,
  viewed: 4,
  visualizado: 4,
  concluded: 5,
  finished: 5,
  completed: 5,
  concluido: 5,
  finalizado: 5,
  canceled: 5,
  cancelled: 5,
  cancelado: 5,
  refused: 5,
  rejected: 5,
  recusado: 5,
  expired: 5,
  expirado: 5,
};

export const certisign: ProviderDefinition = {
  name: 'certisign',
  displayName: 'Certisign',
  description: 'Electronic signatures with the Certisign Portal de Assinaturas (Brazil).',
  docsUrl: 'https://desenvolvedor.portaldeassinaturas.com.br/how-tos/started',
  badge: { monogram: 'CS', color: '#E30613' },
  category: 'E_SIGNATURE',
  capabilities: ['request_signature', 'track_signature'],
  credentialSchema: [
    {
      key: 'api_token',
      label: 'API token',
      type: 'STRING',
      sensitive: true,
      required: true,
      mistakes: [NO_WHITESPACE],
      description: 'The subscription key from the Portal de Assinaturas developer portal for the chosen environment.',
    },
    ...E_SIGNATURE_COMMON_FIELDS,
  ],
  verify: async (credentials, ctx) => {
    const origin = ctx.origin(environmentOrigin(credentials, ORIGINS));
    try {
      const response = await send(ctx, {
        url: `${origin}/api/v2/document/package?key=${PROBE_DOCUMENT_KEY}`,
        headers: { token: String(credentials.api_token) },
      });
      await response.body?.cancel();
      if (response.status === 400 || response.status === 404) return { ok: true };
      return classifyStatus('Certisign', response.status);
    } catch (err) {
      return networkFailure('Certisign', err);
    }
  },
  inbound: certisignInbound,
  operations: { request_signature: certisignRequestSignature, track_signature: certisignTrackSignature },
  deliveryUpdate: certisignDeliveryUpdate,
  deliveryStages: DELIVERY_STAGES,
};
