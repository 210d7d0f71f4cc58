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
 */
import { check } from './http.ts';
import type { Fields, Parsed } from './inbound/body.ts';
import { header, isForm, parseForm, parseJsonObject, textAt } from './inbound/body.ts';
import { hmac, safeEqual } from './inbound/crypto.ts';
import { accepted, badRequest, missingSecret, secretOf, unauthorized } from './inbound/results.ts';
import type { InboundRequest, InboundVerifier, ProviderDefinition } from './types.ts';
import { E_SIGNATURE_COMMON_FIELDS, environmentOrigin } from './types.ts';

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

export const d4sign: ProviderDefinition = {
  name: 'd4sign',
  displayName: 'D4Sign',
  category: 'E_SIGNATURE',
  capabilities: ['request_signature', 'track_signature'],
  credentialSchema: [
    {
      key: 'token_api',
      label: 'API token',
      type: 'STRING',
      sensitive: true,
      required: true,
      description: 'The tokenAPI from the Dev API menu of the chosen environment.',
    },
    {
      key: 'crypt_key',
      label: 'Crypt key',
      type: 'STRING',
      sensitive: true,
      required: false,
      description: 'The cryptKey from the Dev API menu; needed only when enabled on the account.',
    },
    {
      key: 'hmac_secret',
      label: 'Webhook HMAC secret',
      type: 'STRING',
      sensitive: true,
      required: false,
      description: "The account's Secret Key MAC; verifies the Content-Hmac header of inbound POSTbacks.",
    },
    ...E_SIGNATURE_COMMON_FIELDS,
  ],
  verify: (credentials, ctx) => {
    const query = new URLSearchParams({ tokenAPI: String(credentials.token_api) });
    if (credentials.crypt_key) query.set('cryptKey', String(credentials.crypt_key));
    return check('D4Sign', ctx, {
      url: `${ctx.origin(environmentOrigin(credentials, ORIGINS))}/api/v1/account/balance?${query}`,
      headers: { accept: 'application/json' },
    });
  },
  inbound: d4signInbound,
};
