/**
 * Certisign "Portal de Assinaturas" (API v2 behind Azure API Management). Sandbox and production
 * are separate gateways with separate subscription keys, sent as the `Token` header.
 *
 * Check (inferred: Certisign documents no side-effect-free authenticated read): `GET
 * /api/v2/document/package?key=<probe>` for a document that does not exist. The gateway refuses
 * an unknown subscription key with 401 before the backend (standard APIM behaviour); a valid key
 * reaches the backend, which answers 404 or 400 for the probe document, so those mean the key
 * was accepted. 2xx is accepted too; 5xx/429 are transient as usual.
 */
import { classifyStatus, networkFailure, send } from './http.ts';
import { E_SIGNATURE_COMMON_FIELDS, environmentOrigin } from './types.ts';
import type { ProviderDefinition } from './types.ts';

const ORIGINS = {
  stage: 'https://api-sbx.portaldeassinaturas.com.br',
  production: 'https://api.portaldeassinaturas.com.br',
};
const PROBE_DOCUMENT_KEY = 'credential-check';

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
};
