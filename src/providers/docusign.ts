/**
 * DocuSign eSignature, JWT grant. The auth host follows the environment (`account-d` for the
 * developer sandbox). Check, as DocuSign's own SDKs do it: sign an RS256 JWT (iss = integration
 * key, sub = user ID, aud = the bare auth host, scope "signature impersonation", 1 h), exchange it
 * at `POST /oauth/token`, then `GET /oauth/userinfo` with the token to confirm the user and, when
 * set, that `account_id` is one of the user's accounts. DocuSign answers a refused grant with 400
 * `consent_required` or `invalid_grant`. Connect webhooks are signed with `connect_hmac_key`
 * (`X-DocuSign-Signature-1`: base64 HMAC-SHA256 of the body).
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
import { classifyStatus, networkFailure, send } from './http.ts';
import { parseJsonObject, textAt } from './inbound/body.ts';
import { hmac, matchesAny, sha256Hex } from './inbound/crypto.ts';
import { accepted, badRequest, missingSecret, secretOf, unauthorized } from './inbound/results.ts';
import type { InboundVerifier, ProviderDefinition, VerifyResult } from './types.ts';
import { E_SIGNATURE_COMMON_FIELDS, environmentOrigin } from './types.ts';

const NAME = 'DocuSign';
const ORIGINS = { stage: 'https://account-d.docusign.com', production: 'https://account.docusign.com' };
const GRANT_ERRORS = new Map([
  ['consent_required', 'DocuSign needs consent for this integration key: the user must grant "signature impersonation" once'],
  ['invalid_grant', 'DocuSign refused the JWT grant: check the user ID, the RSA key pair and the environment'],
  ['invalid_client', 'DocuSign does not know this integration key in this environment'],
  ['unauthorized_client', 'DocuSign does not know this integration key in this environment'],
]);

const permanent = (reason: string): VerifyResult => ({ ok: false, permanent: true, reason });

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

export const docusign: ProviderDefinition = {
  name: 'docusign',
  displayName: 'DocuSign',
  category: 'E_SIGNATURE',
  capabilities: ['request_signature', 'track_signature'],
  credentialSchema: [
    {
      key: 'integration_key',
      label: 'Integration key',
      type: 'STRING',
      sensitive: false,
      required: true,
      description: "The app's integration key (client ID, a GUID) from Apps and Keys.",
    },
    {
      key: 'user_id',
      label: 'User ID',
      type: 'STRING',
      sensitive: false,
      required: true,
      description: 'GUID of the user the integration impersonates (API Username in Apps and Keys).',
    },
    {
      key: 'account_id',
      label: 'Account ID',
      type: 'STRING',
      sensitive: false,
      required: false,
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
      description: 'A Connect HMAC secret; verifies X-DocuSign-Signature-* on inbound Connect events.',
    },
    ...E_SIGNATURE_COMMON_FIELDS,
  ],
  verify: async (credentials, ctx) => {
    const key = await signingKey(String(credentials.private_key ?? ''));
    if (!key) return permanent('DocuSign private key is not a valid RSA private key PEM');
    const authOrigin = ctx.origin(environmentOrigin(credentials, ORIGINS));
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
      const token = (await grant.json().catch(() => null)) as { access_token?: unknown; error?: unknown } | null;
      if (grant.status === 400) {
        return permanent(GRANT_ERRORS.get(String(token?.error)) ?? 'DocuSign refused the JWT grant (HTTP 400)');
      }
      if (!grant.ok) return classifyStatus(NAME, grant.status);
      if (typeof token?.access_token !== 'string') {
        return { ok: false, permanent: false, reason: 'DocuSign answered the JWT grant without an access token' };
      }
      const info = await send(ctx, {
        url: `${authOrigin}/oauth/userinfo`,
        headers: { authorization: `Bearer ${token.access_token}` },
      });
      const user = (await info.json().catch(() => null)) as { accounts?: { account_id?: unknown }[] } | null;
      if (!info.ok) return classifyStatus(NAME, info.status);
      const accountId = credentials.account_id;
      if (accountId && !user?.accounts?.some((a) => a.account_id === accountId)) {
        return permanent('DocuSign user has no access to the configured account_id');
      }
      return { ok: true };
    } catch (err) {
      return networkFailure(NAME, err);
    }
  },
  inbound: docusignInbound,
};
