import { describe, expect, it } from 'vitest';
import { validateCapabilities, validateCredentialInput } from '../../src/integrations/credentials.ts';
import { findProvider, PROVIDERS } from '../../src/providers/catalog.ts';
import { authenticates, type CredentialField, type CredentialValue, type ProviderDefinition } from '../../src/providers/types.ts';

function provider(name: string): ProviderDefinition {
  const p = findProvider(name);
  if (!p) throw new Error(`no provider ${name}`);
  return p;
}

const stripe = provider('stripe');
const adobe = provider('adobe_sign');
const twilio = provider('twilio');

const STRIPE_OK = { publishable_key: 'pk_test_abc123', secret_key: 'sk_test_abc123' };
const ADOBE_OK = { access_token: 'token-123' };

describe('validateCredentialInput: configure', () => {
  it('accepts a complete input', () => {
    const { values, errors } = validateCredentialInput(stripe, STRIPE_OK, 'configure');
    expect(errors).toEqual([]);
    expect(values).toEqual(STRIPE_OK);
  });

  it('requires every required field, at path credentials.<key>', () => {
    const { errors } = validateCredentialInput(stripe, { publishable_key: 'pk_test_abc' }, 'configure');
    expect(errors).toEqual([{ path: ['credentials', 'secret_key'], message: 'is required' }]);

    const none = validateCredentialInput(stripe, {}, 'configure');
    expect(none.errors.map((e) => e.path)).toEqual([
      ['credentials', 'publishable_key'],
      ['credentials', 'secret_key'],
    ]);
  });

  it('uses the given path prefix', () => {
    const { errors } = validateCredentialInput(stripe, { publishable_key: 'pk_test_abc' }, 'configure', ['input', 'creds']);
    expect(errors.map((e) => e.path)).toEqual([['input', 'creds', 'secret_key']]);
  });

  it('null on a required field in configure is an error, reported once', () => {
    const { errors } = validateCredentialInput(stripe, { ...STRIPE_OK, secret_key: null }, 'configure');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toEqual(['credentials', 'secret_key']);
  });

  it('applies defaults: e-sign environment "stage", changeKeys false', () => {
    const { values, errors } = validateCredentialInput(adobe, ADOBE_OK, 'configure');
    expect(errors).toEqual([]);
    expect(values).toEqual({ access_token: 'token-123', environment: 'stage', changeKeys: false });
    expect(values).not.toHaveProperty('webhookCatcherEndpoint');
  });

  it('every e-signature provider defaults environment and changeKeys', () => {
    const esign = PROVIDERS.filter((p) => p.category === 'E_SIGNATURE');
    expect(esign.length).toBeGreaterThan(0);
    for (const p of esign) {
      const { values } = validateCredentialInput(p, {}, 'configure');
      expect(values.environment, p.name).toBe('stage');
      expect(values.changeKeys, p.name).toBe(false);
    }
  });

  it('given values win over defaults (including false-y ones)', () => {
    const { values, errors } = validateCredentialInput(adobe, { ...ADOBE_OK, environment: 'production', changeKeys: true }, 'configure');
    expect(errors).toEqual([]);
    expect(values).toMatchObject({ environment: 'production', changeKeys: true });
  });

  it('null on an optional field in configure falls back to its default', () => {
    const { values, errors } = validateCredentialInput(adobe, { ...ADOBE_OK, environment: null }, 'configure');
    expect(errors).toEqual([]);
    expect(values.environment).toBe('stage');
  });

  it('an unknown key is refused and the error lists the known keys', () => {
    const { errors } = validateCredentialInput(stripe, { ...STRIPE_OK, secretKey: 'sk_test_abc', sk_live_KeyAsSecret: 'x' }, 'configure');
    expect(errors).toHaveLength(1);
    // reported at the object: a key may be a secret too, so it is in neither the path nor the message
    expect(errors[0]!.path).toEqual(['credentials']);
    expect(errors[0]!.message).toMatch(/^has 2 fields that are not a stripe credential field \(known: /);
    expect(JSON.stringify(errors)).not.toMatch(/secretKey|KeyAsSecret/);
    expect(errors[0]!.message).toContain('stripe');
    for (const key of ['publishable_key', 'secret_key', 'webhook_secret']) expect(errors[0]!.message).toContain(key);
    expect(errors[0]!.message).not.toContain('sk_test_abc');
  });

  it.each([
    ['STRING given a number', stripe, { ...STRIPE_OK, secret_key: 42 }, 'secret_key', 'expected a string'],
    ['STRING given a boolean', stripe, { ...STRIPE_OK, publishable_key: true }, 'publishable_key', 'expected a string'],
    ['BOOLEAN given a string', adobe, { ...ADOBE_OK, changeKeys: 'true' }, 'changeKeys', 'expected true or false'],
    ['BOOLEAN given a number', adobe, { ...ADOBE_OK, changeKeys: 1 }, 'changeKeys', 'expected true or false'],
    ['ENUM given a boolean', adobe, { ...ADOBE_OK, environment: true }, 'environment', 'expected one of: stage, production'],
    ['URL given a number', adobe, { ...ADOBE_OK, webhookCatcherEndpoint: 1 }, 'webhookCatcherEndpoint', 'expected an http(s) URL'],
    [
      'URL given a non-URL',
      adobe,
      { ...ADOBE_OK, webhookCatcherEndpoint: 'not a url' },
      'webhookCatcherEndpoint',
      'expected an http(s) URL',
    ],
    [
      'URL with another scheme',
      adobe,
      { ...ADOBE_OK, webhookCatcherEndpoint: 'ftp://example.com/x' },
      'webhookCatcherEndpoint',
      'expected an http(s) URL',
    ],
    [
      'URL javascript:',
      adobe,
      { ...ADOBE_OK, webhookCatcherEndpoint: 'javascript:alert(1)' },
      'webhookCatcherEndpoint',
      'expected an http(s) URL',
    ],
  ] as const)('wrong type: %s', (_name, p, input, key, message) => {
    const { values, errors } = validateCredentialInput(p, input as Record<string, unknown>, 'configure');
    expect(errors).toEqual([{ path: ['credentials', key], message }]);
    expect(values).not.toHaveProperty(key);
  });

  it('accepts http and https URLs', () => {
    for (const url of ['https://hooks.example.com/adobe', 'http://localhost:8080/x']) {
      const { values, errors } = validateCredentialInput(adobe, { ...ADOBE_OK, webhookCatcherEndpoint: url }, 'configure');
      expect(errors).toEqual([]);
      expect(values.webhookCatcherEndpoint).toBe(url);
    }
  });

  it('an enum value outside the list names the allowed values', () => {
    const { errors } = validateCredentialInput(adobe, { ...ADOBE_OK, environment: 'sandbox' }, 'configure');
    expect(errors).toEqual([{ path: ['credentials', 'environment'], message: 'expected one of: stage, production' }]);
  });

  it('a pattern mismatch uses the patternHint and never echoes the value', () => {
    const canary = 'CANARY_pasted_password_9f8e7d';
    const { values, errors } = validateCredentialInput(twilio, { from_number: canary }, 'patch');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toEqual(['credentials', 'from_number']);
    expect(errors[0]!.message).toBe(`has the wrong format (${twilio.credentialSchema.find((f) => f.key === 'from_number')!.patternHint})`);
    expect(errors[0]!.message).not.toContain(canary);
    expect(errors[0]!.message).not.toContain('CANARY');
    expect(JSON.stringify(errors)).not.toContain('CANARY');
    expect(values).not.toHaveProperty('from_number');
  });

  it('no error message ever contains a submitted value', () => {
    const canary = 'CANARY-0xdeadbeef';
    const input = {
      access_token: 42,
      environment: canary,
      changeKeys: canary,
      webhookCatcherEndpoint: canary,
      [canary]: canary,
    };
    const { errors } = validateCredentialInput(adobe, input, 'configure');
    expect(errors.length).toBe(5);
    for (const e of errors) expect(e.message).not.toContain(canary);
  });

  it('refuses an empty or blank string', () => {
    for (const blank of ['', '   ']) {
      const { errors } = validateCredentialInput(adobe, { access_token: blank }, 'configure');
      expect(errors).toEqual([{ path: ['credentials', 'access_token'], message: 'must not be empty' }]);
    }
  });

  it('refuses a string longer than 8192 characters', () => {
    const { errors } = validateCredentialInput(adobe, { access_token: 'a'.repeat(8193) }, 'configure');
    expect(errors).toEqual([{ path: ['credentials', 'access_token'], message: 'must be at most 8192 characters' }]);
    expect(validateCredentialInput(adobe, { access_token: 'a'.repeat(8192) }, 'configure').errors).toEqual([]);
  });

  it('reports every problem at once', () => {
    const { errors } = validateCredentialInput(stripe, { publishable_key: 'sk_test_nope', bogus: 1 }, 'configure');
    expect(errors.map((e) => e.path.join('.')).sort()).toEqual(['credentials', 'credentials.publishable_key', 'credentials.secret_key']);
  });
});

describe('validateCredentialInput: patch', () => {
  it('takes any subset, with no defaults applied', () => {
    const { values, errors } = validateCredentialInput(adobe, { changeKeys: true }, 'patch');
    expect(errors).toEqual([]);
    expect(values).toEqual({ changeKeys: true });
  });

  it('does not require required fields', () => {
    const { values, errors } = validateCredentialInput(stripe, { webhook_secret: 'whsec_abc' }, 'patch');
    expect(errors).toEqual([]);
    expect(values).toEqual({ webhook_secret: 'whsec_abc' });
  });

  it('null clears an optional field', () => {
    const { values, errors } = validateCredentialInput(stripe, { webhook_secret: null }, 'patch');
    expect(errors).toEqual([]);
    expect(values).toEqual({ webhook_secret: null });
  });

  it('null on a required field is an error', () => {
    const { values, errors } = validateCredentialInput(stripe, { secret_key: null }, 'patch');
    expect(errors).toEqual([{ path: ['credentials', 'secret_key'], message: 'is required and cannot be cleared' }]);
    expect(values).not.toHaveProperty('secret_key');
  });

  it('an empty object is an error', () => {
    const { errors } = validateCredentialInput(stripe, {}, 'patch');
    expect(errors).toEqual([{ path: ['credentials'], message: 'must name at least one field to change' }]);
  });

  it('still checks types, patterns and unknown keys', () => {
    const { errors } = validateCredentialInput(stripe, { secret_key: 'pk_test_wrong', other: 'x' }, 'patch');
    expect(errors.map((e) => e.path)).toEqual([['credentials', 'secret_key'], ['credentials']]);
  });
});

describe('validateCapabilities', () => {
  it('defaults to all of the provider’s capabilities', () => {
    for (const requested of [undefined, null]) {
      const { capabilities, errors } = validateCapabilities(stripe, requested);
      expect(errors).toEqual([]);
      expect(capabilities).toEqual(['initiate_payment', 'process_refund', 'verify_payment']);
    }
  });

  it('the default is a copy, not the catalog array', () => {
    const { capabilities } = validateCapabilities(stripe, undefined);
    expect(capabilities).not.toBe(stripe.capabilities);
  });

  it('accepts a subset', () => {
    expect(validateCapabilities(stripe, ['verify_payment'])).toEqual({ capabilities: ['verify_payment'], errors: [] });
  });

  it('refuses an unsupported capability at enabledCapabilities.<index>', () => {
    const { errors } = validateCapabilities(stripe, ['verify_payment', 'send_sms', 'request_signature']);
    expect(errors.map((e) => e.path)).toEqual([
      ['enabledCapabilities', '1'],
      ['enabledCapabilities', '2'],
    ]);
    expect(errors[0]!.message).toMatch(/^stripe does not support this capability/);
    expect(errors[0]!.message).not.toContain('send_sms');
    expect(errors[0]!.message).toContain('initiate_payment, process_refund, verify_payment');
  });

  it('removes duplicates, keeping first-seen order', () => {
    const { capabilities, errors } = validateCapabilities(stripe, ['verify_payment', 'initiate_payment', 'verify_payment']);
    expect(errors).toEqual([]);
    expect(capabilities).toEqual(['verify_payment', 'initiate_payment']);
  });
});

describe('format checks: only what is surely wrong', () => {
  const errorsOf = (name: string, input: Record<string, unknown>, mode: 'configure' | 'patch' = 'patch') =>
    validateCredentialInput(provider(name), input, mode).errors;

  /** What example payloads carry: `<field>_placeholder`, or the first allowed value of a non-string. */
  function placeholder(field: CredentialField): CredentialValue {
    if (field.type === 'BOOLEAN') return false;
    if (field.type === 'ENUM') return field.enumValues![0]!;
    if (field.type === 'URL') return 'https://example.com/placeholder';
    return `${field.key}_placeholder`;
  }

  /**
   * The STRING fields whose `pattern` is a shape the provider requires, kept deliberately: they
   * refuse `<field>_placeholder`, so example payloads carry the value shown here.
   */
  const SHAPE_RULES: Record<string, { example: string; why: string }> = {
    'twilio.from_number': { example: '+15005550006', why: 'Twilio sends only from an E.164 number or an alphanumeric sender ID' },
    'plivo.from_number': { example: '+14155550123', why: 'Plivo sends only from an E.164 number or an alphanumeric sender ID' },
    'whatsapp_twilio.from_number': { example: 'whatsapp:+14155238886', why: 'a WhatsApp sender is always an E.164 number' },
    'd4sign.safe_uuid': { example: '06b3ddb1-abc9-4ab8-b944-0d7c940486af', why: 'a D4Sign id, put into a URL path: a UUID' },
    'stripe.publishable_key': {
      example: 'pk_test_placeholder',
      why: 'shown to everyone: only a publishable key (the spec’s own placeholder is pk_test_placeholder)',
    },
  };

  it('accepts the example payloads’ placeholders: `<field>_placeholder` in every field without a shape rule', () => {
    const withPattern = PROVIDERS.flatMap((p) => p.credentialSchema.filter((f) => f.pattern).map((f) => `${p.name}.${f.key}`));
    expect(withPattern.sort()).toEqual(Object.keys(SHAPE_RULES).sort());
    for (const p of PROVIDERS) {
      const input = Object.fromEntries(
        p.credentialSchema.map((f) => [f.key, SHAPE_RULES[`${p.name}.${f.key}`]?.example ?? placeholder(f)]),
      );
      const { errors, values } = validateCredentialInput(p, input, 'configure');
      expect(errors, p.name).toEqual([]);
      expect(values, p.name).toEqual(input);
    }
    // the ones the issue names, in the fields they were refused from
    expect(errorsOf('twilio', { account_sid: 'account_sid_placeholder' })).toEqual([]);
    expect(errorsOf('whatsapp_twilio', { account_sid: 'account_sid_placeholder', auth_token: 'auth_token_placeholder' })).toEqual([]);
    expect(errorsOf('stripe', { publishable_key: 'pk_test_placeholder', secret_key: 'sk_test_placeholder' })).toEqual([]);
    expect(errorsOf('stripe', { webhook_secret: 'whsec_placeholder', secret_key: 'rk_live_placeholder_2' })).toEqual([]);
    expect(errorsOf('sendgrid', { api_key: 'SG.placeholder' })).toEqual([]);
    expect(errorsOf('openai', { api_key: 'sk-proj-placeholder' })).toEqual([]);
  });

  it.each([
    ['stripe', 'publishable_key', 'STRIPE_SECRET_KEY=sk_live_abc'],
    ['stripe', 'publishable_key', '"sk_test_abc"'],
    ['sendgrid', 'webhook_verification_key', 'key:SG.abc.def'],
    ['openai', 'organization_id', 'org-1/sk-proj-abc'],
    ['openai', 'project_id', 'whsec_abc'],
  ])('%s.%s, stored in clear, refuses a secret anywhere in it: %j', (name, key, value) => {
    const errors = errorsOf(name, { [key]: value });
    expect(errors.map((e) => e.path.join('.'))).toContain(`credentials.${key}`);
    expect(errors.find((e) => e.path.join('.') === `credentials.${key}`)?.message).toMatch(/secret key .* stored in clear/);
    expect(JSON.stringify(errors), 'the value is never echoed').not.toContain(value);
  });

  it('a sender ID with a space before or after is refused; inner spaces are fine', () => {
    expect(errorsOf('twilio', { from_number: ' Acme' }).map((e) => e.path.join('.'))).toContain('credentials.from_number');
    expect(errorsOf('twilio', { from_number: 'Acme ' }).map((e) => e.path.join('.'))).toContain('credentials.from_number');
    expect(errorsOf('twilio', { from_number: 'Acme Co' }).map((e) => e.path.join('.'))).not.toContain('credentials.from_number');
  });

  it('each kept shape rule refuses the placeholder with its hint', () => {
    for (const [name, rule] of Object.entries(SHAPE_RULES)) {
      const [providerName, key] = name.split('.') as [string, string];
      const field = provider(providerName).credentialSchema.find((f) => f.key === key)!;
      expect(errorsOf(providerName, { [key]: `${key}_placeholder` }), `${name}: ${rule.why}`).toEqual([
        { path: ['credentials', key], message: `has the wrong format (${field.patternHint})` },
      ]);
    }
  });

  it('an SMS sender is an E.164 number or an alphanumeric sender ID; a WhatsApp sender only a number', () => {
    for (const name of ['twilio', 'plivo']) {
      for (const ok of ['+14155550123', 'Acme', 'ACME Bills', 'A', 'Shop24']) expect(errorsOf(name, { from_number: ok }), ok).toEqual([]);
      // no letter, over 11 characters, a character outside letters, digits and spaces
      for (const bad of ['12345', 'Acme Billing Co', 'Acme-Shop', 'Acmé']) {
        expect(
          errorsOf(name, { from_number: bad }).map((e) => e.path),
          bad,
        ).toEqual([['credentials', 'from_number']]);
      }
    }
    expect(errorsOf('whatsapp_twilio', { from_number: 'Acme' }).map((e) => e.path)).toEqual([['credentials', 'from_number']]);
  });

  it('the WhatsApp sender may leave out the whatsapp: prefix, which the send adds', () => {
    expect(errorsOf('whatsapp_twilio', { from_number: '+14155238886' })).toEqual([]);
    expect(errorsOf('whatsapp_twilio', { from_number: 'whatsapp:14155238886' }).map((e) => e.path)).toEqual([
      ['credentials', 'from_number'],
    ]);
  });

  /** Known slips: every `mistakes` entry of every field is one of them (checked below). */
  const SLIPS: [provider: string, key: string, value: string, hint: RegExp][] = [
    ['stripe', 'secret_key', 'pk_live_51Hx', /publishable key \(pk_…\); it goes in publishable_key/],
    ['stripe', 'secret_key', 'whsec_abc', /webhook signing secret \(whsec_…\); it goes in webhook_secret/],
    ['stripe', 'publishable_key', 'sk_live_51Hx', /secret or restricted key \(sk_…, rk_…\); it goes in secret_key/],
    ['stripe', 'publishable_key', 'rk_test_51Hx', /secret or restricted key/],
    ['stripe', 'publishable_key', 'whsec_abc', /webhook signing secret \(whsec_…\); it goes in webhook_secret, never here/],
    ['stripe', 'secret_key', 'sk_test_abc ', /contains whitespace/],
    ['stripe', 'secret_key', ' sk_test_abc', /contains whitespace/],
    ['stripe', 'publishable_key', 'pk_test_ abc', /contains whitespace/],
    ['stripe', 'webhook_secret', 'whsec_abc\n', /contains whitespace/],
    ['stripe', 'webhook_secret', 'sk_test_abc', /an API key \(pk_…, sk_…, rk_…\), not the endpoint's signing secret/],
    ['twilio', 'account_sid', `SK${'a1'.repeat(16)}`, /API key SID \(SK…\), not the Account SID \(AC…/],
    ['twilio', 'account_sid', 'ab'.repeat(16), /looks like an Auth Token \(32 hexadecimal characters and no prefix\)/],
    ['twilio', 'account_sid', 'AC 123', /contains whitespace/],
    ['whatsapp_twilio', 'account_sid', 'F0'.repeat(16), /looks like an Auth Token/],
    ['twilio', 'auth_token', `AC${'0'.repeat(32)}`, /this is a SID/],
    ['twilio', 'auth_token', 'abc\t', /contains whitespace/],
    ['twilio', 'from_number', '4155550199', /an E\.164 number \(\+ then 7 to 15 digits, the first not 0/],
    ['twilio', 'from_number', '+04155550123', /E\.164/],
    ['plivo', 'from_number', '+1 415 555 0123', /E\.164/],
    ['plivo', 'auth_id', 'MA 1', /contains whitespace/],
    ['plivo', 'auth_token', 'abc ', /contains whitespace/],
    ['sendgrid', 'api_key', 'sk-proj-abc', /an OpenAI API key \(sk-…\), not a SendGrid API key/],
    ['sendgrid', 'api_key', 'sk_live_51Hx', /a Stripe key \(pk_…, sk_…, rk_…\), not a SendGrid API key/],
    ['sendgrid', 'api_key', 'SG.abc def', /contains whitespace/],
    ['sendgrid', 'webhook_verification_key', 'SG.abc.def', /this is an API key \(SG\.…\)/],
    ['openai', 'api_key', 'SG.abc.def', /a SendGrid API key \(SG\.…\), not an OpenAI API key/],
    ['openai', 'api_key', 'sk_test_abc', /a Stripe key \(pk_…, sk_…, rk_…\), not an OpenAI API key/],
    ['openai', 'api_key', 'sk-abc\n', /contains whitespace/],
    ['openai', 'organization_id', 'sk-proj-abc', /this is an API key \(sk-…\); it goes in api_key/],
    ['openai', 'organization_id', 'org abc', /contains whitespace/],
    ['openai', 'project_id', 'sk-abc', /this is an API key/],
    ['openai', 'project_id', 'proj_ abc', /contains whitespace/],
    ['docusign', 'integration_key', '-----BEGIN RSA PRIVATE KEY-----\nMIIE', /this is a PEM key; it goes in private_key/],
    ['docusign', 'account_id', '-----BEGIN PRIVATE KEY-----', /PEM key/],
    ['docusign', 'user_id', '-----BEGIN PRIVATE KEY-----', /PEM key/],
    ['d4sign', 'safe_uuid', '../documents', /a UUID: 8-4-4-4-12 hexadecimal digits/],
    ['clicksign', 'access_token', 'abc def', /contains whitespace/],
  ];

  it.each(SLIPS)('%s.%s refuses a known slip: %j', (name, key, value, hint) => {
    const errors = errorsOf(name, { [key]: value });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toEqual(['credentials', key]);
    expect(errors[0]!.message).toMatch(/^has the wrong format/);
    expect(errors[0]!.message).toMatch(hint);
    expect(errors[0]!.message).not.toContain(value.trim());
  });

  it('a private key’s PEM keeps its line breaks, and a sender name its spaces', () => {
    expect(errorsOf('docusign', { private_key: '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n' })).toEqual([]);
    expect(errorsOf('sendgrid', { from_name: 'Acme Billing Team' })).toEqual([]);
  });

  it('every pattern has a hint whose examples match it', () => {
    for (const p of PROVIDERS) {
      for (const f of p.credentialSchema) {
        const name = `${p.name}.${f.key}`;
        if (f.pattern || f.mistakes) expect(f.type, name).toBe('STRING');
        if (!f.pattern) continue;
        expect(f.patternHint, name).toBeTruthy();
        const examples = [...f.patternHint!.matchAll(/e\.g\. ([^\s,)]+)/g)].map((m) => m[1]!);
        expect(examples.length, `${name}: its hint shows an example`).toBeGreaterThan(0);
        for (const example of examples) expect(errorsOf(p.name, { [f.key]: example }), `${name}: ${example}`).toEqual([]);
      }
    }
  });

  it('every mistake is a known slip that is refused with exactly its hint', () => {
    for (const p of PROVIDERS) {
      for (const f of p.credentialSchema) {
        // the slips listed for a field of this name (a shared field, e.g. account_sid, under any provider)
        const samples = [...SLIPS.filter(([, key]) => key === f.key).map(([, , value]) => value), 'a value with spaces'];
        for (const mistake of f.mistakes ?? []) {
          const messages = samples.map((value) => errorsOf(p.name, { [f.key]: value })[0]?.message);
          expect(messages, `${p.name}.${f.key}: ${mistake.hint}`).toContain(`has the wrong format: ${mistake.hint}`);
        }
      }
    }
  });
});

describe('which fields authenticate', () => {
  it('every provider declares its non-authenticating fields: inbound signing secrets, senders, settings', () => {
    const declared = Object.fromEntries(
      PROVIDERS.map((p) => [p.name, p.credentialSchema.filter((f) => !authenticates(f)).map((f) => f.key)]),
    );
    const settings = ['changeKeys', 'webhookCatcherEndpoint'];
    expect(declared).toEqual({
      stripe: ['publishable_key', 'webhook_secret'],
      twilio: ['from_number'],
      plivo: ['from_number'],
      whatsapp_twilio: ['from_number'],
      sendgrid: ['from_email', 'from_name', 'webhook_verification_key'],
      openai: [],
      docusign: ['connect_hmac_key', ...settings],
      clicksign: ['hmac_secret', ...settings],
      d4sign: ['hmac_secret', 'safe_uuid', ...settings],
      certisign: settings,
      adobe_sign: settings,
    });
  });

  it('a field authenticates unless it says otherwise', () => {
    expect(authenticates({})).toBe(true);
    expect(authenticates({ authenticates: true })).toBe(true);
    expect(authenticates({ authenticates: false })).toBe(false);
    // environment picks the origin every e-signature check runs against
    for (const p of PROVIDERS.filter((x) => x.category === 'E_SIGNATURE')) {
      expect(authenticates(p.credentialSchema.find((f) => f.key === 'environment')!), p.name).toBe(true);
    }
  });
});
