/**
 * Plivo. One origin (trial accounts instead of a sandbox). Check: `GET /v1/Account/{auth_id}/`
 * with Basic `auth_id:auth_token`, the account's own details; the trailing slash is part of the
 * path. The Auth Token also signs inbound callbacks (`X-Plivo-Signature-V2`/`-V3`).
 *
 * Inbound: signature V3 only, as plivo-node's lib/utils/v3Security.js and plivo-go's
 * ComputeSignatureV3 compute it (docs.plivo.com/docs/voice/xml/request/validation):
 * base64 HMAC-SHA256, keyed with the Auth Token, of
 *   POST: `<scheme://host[:port]/path>` + (`?` + query pairs sorted, `k=v` joined by `&`, when
 *         there is a query) + (`?` or, after a query, `.`) + body params sorted by name as
 *         `name` + `value` with no delimiter (when there are any) + `.` + nonce
 *   GET:  the same base + `?` + the query and params merged and sorted as `k=v&…`, when there
 *         are any, + `.` + nonce
 * with the nonce from `X-Plivo-Signature-V3-Nonce`. A header may list several signatures,
 * comma-separated (one per active token); any may match. `X-Plivo-Signature-Ma-V3` is the same
 * scheme keyed with the main account's token, so it is accepted too when `auth_token` is that
 * token. V2 is refused: it signs only the URL and nonce, not the body. Nothing is timestamped.
 * Events: MessageUUID with Status → `message.<status>`, id `<uuid>:<status>`; an incoming message
 * (Text, no Status) → `message.received`, id MessageUUID.
 */
import { basicAuth, check, json, textOf } from './http.ts';
import { header, isForm, parseForm, textAt } from './inbound/body.ts';
import { hmac, matchesAny } from './inbound/crypto.ts';
import { accepted, badRequest, missingSecret, secretOf, unauthorized } from './inbound/results.ts';
import type { InboundVerifier, OperationAdapter, ProviderDefinition } from './types.ts';
import { NO_WHITESPACE, SMS_SENDER } from './types.ts';

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Pairs sorted by name, then by value, as every Plivo SDK sorts them. */
const sorted = (pairs: readonly (readonly [string, string])[]) => [...pairs].sort(([a, x], [b, y]) => byCodeUnit(a, b) || byCodeUnit(x, y));

/** The V3 signature Plivo sends for this request. */
export function plivoV3Signature(
  authToken: string,
  method: string,
  url: string,
  nonce: string,
  params: readonly (readonly [string, string])[],
): string {
  const withoutFragment = url.split('#', 1)[0]!;
  const at = withoutFragment.indexOf('?');
  const base = at < 0 ? withoutFragment : withoutFragment.slice(0, at);
  const isGet = method.toUpperCase() === 'GET';
  // GET merges the params into the query (the SDKs take them separately); POST signs them apart.
  const query = [...(at < 0 ? [] : new URLSearchParams(withoutFragment.slice(at + 1))), ...(isGet ? params : [])];
  const queryString = sorted(query)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  let signed = base;
  if (isGet) {
    if (queryString) signed += `?${queryString}`;
  } else {
    if (queryString || params.length > 0) signed += `?${queryString}`;
    if (queryString && params.length > 0) signed += '.';
    signed += sorted(params)
      .map(([k, v]) => k + v)
      .join('');
  }
  return hmac('sha256', authToken, `${signed}.${nonce}`).toString('base64');
}

export const plivoInbound: InboundVerifier = {
  verify(req, credentials) {
    const authToken = secretOf(credentials, 'auth_token');
    if (!authToken) return missingSecret('auth_token');
    const signatures = [header(req, 'x-plivo-signature-v3'), header(req, 'x-plivo-signature-ma-v3')]
      .flatMap((value) => value?.split(',') ?? [])
      .map((value) => value.trim());
    const nonce = header(req, 'x-plivo-signature-v3-nonce');
    if (signatures.length === 0 || !nonce) return unauthorized('missing X-Plivo-Signature-V3 or its nonce');
    if (!isForm(req)) return badRequest('expected a form body (application/x-www-form-urlencoded)');
    const params = req.method.toUpperCase() === 'GET' ? [] : parseForm(req);
    if (!matchesAny(plivoV3Signature(authToken, req.method, req.url, nonce, params), signatures)) {
      return unauthorized('X-Plivo-Signature-V3 does not match the auth_token');
    }
    const payload = Object.fromEntries(params);
    const uuid = textAt(payload, 'MessageUUID');
    const status = textAt(payload, 'Status');
    if (!uuid) return badRequest('not a Plivo message callback: no MessageUUID');
    if (status) return accepted([{ id: `${uuid}:${status}`, type: `message.${status}`, payload }]);
    if (typeof payload.Text === 'string') return accepted([{ id: uuid, type: 'message.received', payload }]);
    return badRequest('Plivo message callback has neither a Status nor a Text');
  },
};

/**
 * Sends an SMS: `POST /v1/Account/{auth_id}/Message/`, JSON `src`, `dst`, `text` and `url` (the
 * integration's inbound URL, where Plivo posts each status). Answers 202 with `message_uuid`, a
 * list of one id per message sent.
 */
export const plivoSendSms: OperationAdapter = {
  request(input, credentials, ctx) {
    const authId = String(credentials.auth_id);
    return {
      method: 'POST',
      url: `${ctx.origin('https://api.plivo.com')}/v1/Account/${encodeURIComponent(authId)}/Message/`,
      headers: { authorization: basicAuth(authId, String(credentials.auth_token)), ...json.headers },
      body: json.encode({ src: String(credentials.from_number), dst: String(input.to), text: String(input.body), url: ctx.callbackUrl }),
    };
  },
  parse(answer) {
    const body = json.object(answer.body);
    const uuids = Array.isArray(body.message_uuid) ? body.message_uuid.filter((u): u is string => typeof u === 'string') : [];
    if (!uuids[0]) throw new Error('Plivo answered without a message_uuid');
    return {
      providerReference: uuids[0],
      result: { messageId: uuids[0], messageIds: uuids, status: 'queued', apiId: textOf(body.api_id) ?? null },
    };
  },
};

export const plivo: ProviderDefinition = {
  name: 'plivo',
  displayName: 'Plivo',
  description: 'SMS through the Plivo Messaging API, with signed (V3) delivery callbacks.',
  docsUrl: 'https://plivo.com/docs/faq/account/account-management',
  badge: { monogram: 'P', color: '#323DFE' },
  category: 'COMMUNICATION',
  capabilities: ['send_sms'],
  credentialSchema: [
    {
      key: 'auth_id',
      label: 'Auth ID',
      type: 'STRING',
      sensitive: false,
      required: true,
      mistakes: [NO_WHITESPACE],
      description: 'Identifies the Plivo account or subaccount (MA… or SA…, shown on the console overview).',
    },
    {
      key: 'auth_token',
      label: 'Auth Token',
      type: 'STRING',
      sensitive: true,
      required: true,
      mistakes: [NO_WHITESPACE],
      description: "The account's Auth Token; authenticates API calls and signs inbound callbacks.",
    },
    {
      key: 'from_number',
      label: 'From number',
      type: 'STRING',
      sensitive: false,
      required: true,
      authenticates: false,
      ...SMS_SENDER,
      description: 'The Plivo number (E.164) or alphanumeric sender ID messages are sent from.',
    },
  ],
  verify: (credentials, ctx) => {
    const authId = String(credentials.auth_id);
    return check('Plivo', ctx, {
      url: `${ctx.origin('https://api.plivo.com')}/v1/Account/${encodeURIComponent(authId)}/`,
      headers: { authorization: basicAuth(authId, String(credentials.auth_token)) },
    });
  },
  inbound: plivoInbound,
  operations: { send_sms: plivoSendSms },
  deliveryUpdate(event) {
    const uuid = textAt(event.payload, 'MessageUUID');
    const status = textAt(event.payload, 'Status');
    return uuid && status ? { providerReference: uuid, status } : null;
  },
};
