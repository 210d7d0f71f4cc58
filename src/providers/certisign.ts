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
 */
import { classifyStatus, networkFailure, send } from './http.ts';
import { parseJsonObject, textAt } from './inbound/body.ts';
import { sha256Hex } from './inbound/crypto.ts';
import { accepted } from './inbound/results.ts';
import type { InboundVerifier, ProviderDefinition } from './types.ts';
import { E_SIGNATURE_COMMON_FIELDS, environmentOrigin } from './types.ts';

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

export const certisign: ProviderDefinition = {
  name: 'certisign',
  displayName: 'Certisign',
  category: 'E_SIGNATURE',
  capabilities: ['request_signature', 'track_signature'],
  credentialSchema: [
    {
      key: 'api_token',
      label: 'API token',
      type: 'STRING',
      sensitive: true,
      required: true,
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
};
