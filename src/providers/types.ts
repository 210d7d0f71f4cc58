/**
 * What a provider is to the control plane: catalog data (category, capabilities, the
 * credential schema) and how to check credentials against its real API. One file per provider
 * in this folder, registered in `catalog.ts`; nothing else changes to add one.
 */

export type ProviderCategory = 'PAYMENT' | 'COMMUNICATION' | 'EMAIL' | 'E_SIGNATURE' | 'AI';
export type CredentialFieldType = 'STRING' | 'BOOLEAN' | 'ENUM' | 'URL';
export type CredentialValue = string | boolean;
export type Credentials = Readonly<Record<string, CredentialValue>>;

export interface CredentialField {
  key: string;
  label: string;
  type: CredentialFieldType;
  /** Sensitive values are encrypted at rest and never returned: they resolve to null. */
  sensitive: boolean;
  required: boolean;
  enumValues?: readonly string[];
  description?: string;
  /** Applied when the field is absent on configure. */
  defaultValue?: CredentialValue;
  /**
   * STRING only: a shape every valid value has because the provider requires it in that shape (an
   * SMS sender: E.164 or an alphanumeric sender ID), checked on input. Left out of keys, tokens and
   * ids, even where the provider issues them with a prefix: `mistakes` refuses keys of another kind,
   * and verification judges the rest (an example payload's `<field>_placeholder` is accepted).
   */
  pattern?: RegExp;
  /** Said in the validation error when `pattern` does not match: the rule `pattern` checks, with its examples ("e.g. …") matching it. */
  patternHint?: string;
  /**
   * STRING only: shapes a value must NOT have, each a known slip (a secret key pasted where the
   * publishable one goes, whitespace copied with a key). Checked before `pattern`; the first match
   * is reported with its hint.
   */
  mistakes?: readonly FormatMistake[];
  /**
   * Whether the provider's authentication uses it: verification or the operations' credentials
   * (keys, tokens, account ids, the `environment` that picks the origin they are checked against).
   * A change to an authenticating field re-verifies the integration; a change to the others (inbound
   * signing secrets, sender settings, changeKeys…) is stored without re-verifying. Default true, so
   * a new field re-verifies unless declared otherwise.
   */
  authenticates?: boolean;
}

/** A shape a credential value must not have, and what to say when it does (never the value). */
export interface FormatMistake {
  pattern: RegExp;
  hint: string;
}

/** Whether changing `field` needs a new verification (CredentialField.authenticates). */
export function authenticates(field: Pick<CredentialField, 'authenticates'>): boolean {
  return field.authenticates !== false;
}

/** Whitespace inside or around a key, token or id: copied with it, never part of it. */
export const NO_WHITESPACE: FormatMistake = {
  pattern: /\s/,
  hint: 'contains whitespace (a space, tab or line break); keys, tokens and ids have none',
};

/**
 * Other providers' key shapes: a key of one of these kinds in another provider's field is a slip
 * (a `mistakes` entry), while a value of no known shape is left to verification.
 */
export const KEY_SHAPES = {
  /** Stripe's publishable, secret and restricted keys. */
  stripe: /^(pk|sk|rk)_(test|live)_/,
  /** OpenAI's secret keys (sk-proj-…, sk-svcacct-…, sk-admin-…, legacy sk-…). */
  openai: /^sk-/,
  /** SendGrid's API keys, SG.<id>.<secret>. */
  sendgrid: /^SG\./,
} as const;

/**
 * A secret of a known kind anywhere in a value (a pasted `.env` line, quotes around a key): Stripe's
 * secret and restricted keys and webhook secrets, OpenAI's and SendGrid's API keys. Checked on every
 * field that is not sensitive, since those are stored in clear and returned (src/integrations/credentials.ts).
 */
export const SECRET_ANYWHERE: FormatMistake = {
  pattern: /(?:^|[^A-Za-z0-9])(?:(?:sk|rk)_(?:test|live)_|whsec_|sk-|SG\.)/,
  hint: 'holds what looks like a secret key (sk_…, rk_…, whsec_…, sk-…, SG.…); secrets go in their sensitive field, never here, where the value is stored in clear and shown',
};

/**
 * The sender of an SMS (Twilio `From`, Plivo `src`): an E.164 number, or an alphanumeric sender ID
 * as both providers document it (at most 11 letters, digits or spaces, at least one letter).
 */
export const SMS_SENDER = {
  pattern: /^(?:\+[1-9]\d{6,14}|(?=[A-Za-z0-9 ]{1,11}$)(?! )[A-Za-z0-9 ]*[A-Za-z][A-Za-z0-9 ]*(?<! ))$/,
  patternHint:
    'an E.164 number (+ then 7 to 15 digits, the first not 0, e.g. +14155550123) or an alphanumeric sender ID (1 to 11 letters, digits or inner spaces, at least one letter, e.g. Acme)',
} as const;

/** A monogram badge the service draws as the provider's logo (src/providers/logos.ts). */
export interface ProviderBadge {
  /** One to three letters. */
  monogram: string;
  /** Background colour, `#rrggbb`: the provider's brand colour. */
  color: string;
}

/** The outcome of a credential check. `permanent` failures are not retried. */
export type VerifyResult = { ok: true } | { ok: false; permanent: boolean; reason: string };

export interface VerifyContext {
  /** The API origin to call: the `<PROVIDER>_API_BASE_URL` override or the provider's own. */
  origin(defaultOrigin: string): string;
  /** Aborts the call at the verification timeout. */
  signal: AbortSignal;
}

export interface ProviderDefinition {
  /** Fixed public name (`stripe`, `adobe_sign`…), also the `<NAME>_API_BASE_URL` prefix. */
  name: string;
  displayName: string;
  /** One sentence saying what the provider is, for catalog listings. */
  description: string;
  /** The provider's own documentation on finding the credentials its schema asks for (https). */
  docsUrl: string;
  /** The logo the service draws and serves itself: no external images (src/providers/logos.ts). */
  badge: ProviderBadge;
  category: ProviderCategory;
  capabilities: readonly string[];
  credentialSchema: readonly CredentialField[];
  /** Calls a cheap authenticated endpoint of the real API with the real auth scheme. */
  verify(credentials: Credentials, ctx: VerifyContext): Promise<VerifyResult>;
  /** Checks the provider's own signature on its callbacks; absent when it sends none to us. */
  inbound?: InboundVerifier;
  /** How each capability it serves calls its real API (src/operations/ runs them). */
  operations?: Readonly<Record<string, OperationAdapter>>;
  /** Reads a delivery status update for an operation out of one of its verified inbound events. */
  deliveryUpdate?(event: InboundEvent): DeliveryUpdate | null;
  /**
   * Where this provider's own status words sit among the delivery stages (src/operations/tracking.ts),
   * lower-cased, where they differ from the shared table: DocuSign's `delivered` (a signer opened
   * it) comes before `completed`.
   */
  deliveryStages?: Readonly<Record<string, number>>;
  /**
   * Providers whose API takes short-lived access tokens obtained from the stored credentials
   * (DocuSign's JWT grant, Acrobat Sign's refresh token): operations and verification obtain one
   * here; src/operations/sessions.ts keeps it, sealed with the credentials, until near its expiry.
   */
  session?: SessionAuthority;
}

/** Short-lived access to a provider's API, obtained from the stored credentials. */
export interface ProviderSession {
  accessToken: string;
  /** When it stops working, in epoch milliseconds (the provider's `expires_in` from when it answered). */
  expiresAt: number;
  /**
   * The API origin (and base path) the provider assigned to the account, when it assigns one:
   * DocuSign's `base_uri` from userinfo, Acrobat Sign's `api_access_point` from baseUris.
   */
  apiBase?: string;
}

/**
 * `refused`: the provider refused the credentials (an invalid grant, a revoked refresh token): the
 * operation treats it as a 401 (the integration goes to ERROR and the next candidate is tried),
 * verification as a permanent failure. Otherwise (network, 5xx, 429) it is transient.
 */
export type SessionResult =
  | { ok: true; session: ProviderSession }
  | { ok: false; refused: boolean; httpStatus: number | null; reason: string };

export interface SessionAuthority {
  /** Obtains a new session from the credentials, calling the provider's real token endpoint. Never throws. */
  obtain(credentials: Credentials, ctx: VerifyContext): Promise<SessionResult>;
}

/** What an operation call knows besides the input and the credentials. */
export interface OperationCallContext {
  /** The API origin to call: the `<PROVIDER>_API_BASE_URL` override or the provider's own. */
  origin(defaultOrigin: string): string;
  /** The operation's public id (sent where the provider echoes an id of ours back). */
  operationId: string;
  /** Where the provider should post status callbacks for this integration (its inboundWebhookUrl). */
  callbackUrl: string;
  /** The provider's current session, for providers with `session` (always set for them, absent for the others). */
  session?: ProviderSession;
}

/** One HTTP request to a provider's API. */
export interface ProviderCall {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  /** Text, or bytes (a multipart upload). */
  body?: string | Uint8Array<ArrayBuffer>;
}

/** An answer's headers by name, case-insensitive (a `Headers` is one). */
export interface AnswerHeaders {
  get(name: string): string | null;
}

/** A provider's 2xx answer, its body parsed as JSON when it is JSON. */
export interface ProviderAnswer {
  status: number;
  headers: AnswerHeaders;
  body: unknown;
}

/** The outcome of a successful call: the provider's id of what it did, and the capability's result. */
export interface OperationOutcome {
  providerReference: string | null;
  result: Record<string, unknown>;
}

/**
 * A capability that takes several calls (upload the document, then create the envelope): what the
 * previous answer leads to. `carry` is handed to the next `parse` (ids the next steps need).
 */
export interface NextCall {
  next: ProviderCall;
  carry?: Readonly<Record<string, unknown>>;
  /**
   * The provider's id of what the calls so far made (the document created at step 1), kept as the
   * operation's providerReference if a later call fails, so the tenant can find and cancel it.
   */
  madeReference?: string;
}

/** What `parse` knows besides the answer: where in a sequence of calls it is. */
export interface StepContext {
  /** 1 for the answer to `request`, 2 for the answer to the first `next`… */
  step: number;
  /** What the previous step carried (empty on step 1). */
  carry: Readonly<Record<string, unknown>>;
  input: Readonly<Record<string, unknown>>;
  credentials: Credentials;
  ctx: OperationCallContext;
}

export interface OperationAdapter {
  /** The request the real API expects for this input (already validated for the capability). */
  request(input: Readonly<Record<string, unknown>>, credentials: Credentials, ctx: OperationCallContext): ProviderCall;
  /**
   * Reads a 2xx answer: the outcome, or the next call when the capability takes several (at most
   * MAX_STEPS in all, src/operations/call.ts). Throws when the answer is not what the API documents
   * (the operation fails PROVIDER_REJECTED, no failover).
   */
  parse(answer: ProviderAnswer, step: StepContext): OperationOutcome | NextCall;
}

/** A callback saying what became of an operation: matched by the provider's reference, or by our operation id. */
export interface DeliveryUpdate {
  providerReference?: string;
  /** The operation's public id, where the provider echoes one back (SendGrid's custom_args). */
  operationId?: string;
  status: string;
}

/** One callback as the provider sent it to `POST /hooks/<provider>/<token>`. */
export interface InboundRequest {
  method: string;
  /** The full public URL the provider called (PUBLIC_URL + path + query), as the provider signed it. */
  url: string;
  /** Lower-cased header names. */
  headers: Readonly<Record<string, string | undefined>>;
  rawBody: Buffer;
}

export interface InboundEvent {
  /** The provider's own event id, used to drop duplicates; derived deterministically when the provider sends none. */
  id: string;
  /** The provider's event type, e.g. "payment_intent.succeeded"; relayed as provider.<name>.<type>. */
  type: string;
  payload: Record<string, unknown>;
}

/**
 * 401: the signature is missing, wrong, made with another secret or too old, or the secret is
 * not configured. 400: a signed body that is not what the provider sends. Reasons never carry a
 * secret or a signature.
 */
export type InboundResult =
  | {
      ok: true;
      events: InboundEvent[];
      /** Optional response the provider expects (Adobe Sign echoes its client id). */
      respond?: { headers?: Record<string, string>; body?: string };
    }
  | { ok: false; status: 400 | 401; reason: string };

export interface InboundVerifier {
  verify(req: InboundRequest, credentials: Credentials, now: Date): InboundResult;
  /**
   * A provider's GET check of the endpoint when it is registered (Acrobat Sign): answered
   * without storing anything; providers without one get 405 for GET.
   */
  handshake?(req: InboundRequest, credentials: Credentials): InboundResult;
}

/** The fields every e-signature provider takes in addition to its own (see CONTRACT.md). */
export const E_SIGNATURE_COMMON_FIELDS: readonly CredentialField[] = [
  {
    key: 'environment',
    label: 'Environment',
    type: 'ENUM',
    sensitive: false,
    required: false,
    enumValues: ['stage', 'production'],
    defaultValue: 'stage',
    description: "Which of the provider's origins to use: its sandbox (stage) or live (production) API.",
    // every e-signature provider checks its credentials against the origin this picks
  },
  {
    key: 'changeKeys',
    label: 'Normalise event keys',
    type: 'BOOLEAN',
    sensitive: false,
    required: false,
    authenticates: false,
    defaultValue: false,
    description: 'When true, relayed inbound events have their payload keys converted to camelCase.',
  },
  {
    key: 'webhookCatcherEndpoint',
    label: 'Webhook catcher endpoint',
    type: 'URL',
    sensitive: false,
    required: false,
    authenticates: false,
    description:
      "Where the provider is told to send its callbacks, when a proxy sits in front of this service; defaults to the integration's inboundWebhookUrl.",
  },
];

/** The sandbox or live origin an e-signature integration's `environment` selects. */
export function environmentOrigin(credentials: Credentials, origins: { stage: string; production: string }): string {
  return credentials.environment === 'production' ? origins.production : origins.stage;
}
