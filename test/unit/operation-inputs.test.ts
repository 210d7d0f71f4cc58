/** Operation inputs: the stored shape and every refusal, with where it is. */
import { describe, expect, it } from 'vitest';
import { providerMessage, scrubbed } from '../../src/operations/call.ts';
import { checkOperationInput, checkOperationOptions } from '../../src/operations/capabilities.ts';
import { routeCandidateIds } from '../../src/routing/choose.ts';

const paths = (errors: { path: string[] }[]) => errors.map((e) => e.path.join('.'));

describe('checkOperationInput', () => {
  it('keeps a payment with its currency in lower case, and refuses amounts that are not whole minor units', () => {
    expect(checkOperationInput('initiate_payment', { amount: 1999, currency: 'USD', customerEmail: 'ana@example.com' })).toEqual({
      input: { amount: 1999, currency: 'usd', customerEmail: 'ana@example.com' },
      errors: [],
    });
    for (const amount of [0, -5, 19.99, 100_000_000]) {
      expect(paths(checkOperationInput('initiate_payment', { amount, currency: 'usd' }).errors)).toEqual(['amount']);
    }
    for (const currency of ['us', 'dollars', 'xyz', '']) {
      expect(paths(checkOperationInput('initiate_payment', { amount: 1, currency }).errors)).toEqual(['currency']);
    }
    expect(paths(checkOperationInput('initiate_payment', { amount: 1, currency: 'eur', customerEmail: 'nope' }).errors)).toEqual([
      'customerEmail',
    ]);
  });

  it('takes provider references of letters, digits, _ and - only (one path segment as they stand)', () => {
    expect(checkOperationInput('process_refund', { paymentReference: 'pi_3Mtw', amount: 500 })).toEqual({
      input: { paymentReference: 'pi_3Mtw', amount: 500 },
      errors: [],
    });
    for (const ref of ['', '..', '.', 'pi_1.x', 'pi_1/../../v1/charges', 'pi 1', 'x'.repeat(256), 'pi_1?expand=x', 'a:b']) {
      expect(paths(checkOperationInput('verify_payment', { paymentReference: ref }).errors)).toEqual(['paymentReference']);
      expect(paths(checkOperationInput('track_signature', { signatureReference: ref }).errors)).toEqual(['signatureReference']);
    }
  });

  it('checks a signature request: the file name, standard base64, and each signer with where it is', () => {
    const valid = { documentName: 'contract.pdf', documentBase64: 'JVBERi0xLjQK', signers: [{ name: 'Ana', email: 'ana@example.com' }] };
    expect(checkOperationInput('request_signature', valid)).toEqual({ input: valid, errors: [] });
    const { errors } = checkOperationInput('request_signature', {
      documentName: '../etc/passwd',
      documentBase64: 'JVBER i0x',
      signers: [
        { name: 'Ana', email: 'ana@example.com' },
        { name: '', email: 'ANA@example.com' },
        { name: 'Bo', email: 'bo' },
      ],
      message: 'a\u0000b',
    });
    expect(paths(errors)).toEqual(['documentName', 'documentBase64', 'signers.1.name', 'signers.1.email', 'signers.2.email', 'message']);
    expect(paths(checkOperationInput('request_signature', { ...valid, signers: [] }).errors)).toEqual(['signers']);
    const many = Array.from({ length: 21 }, (_, i) => ({ name: `S${i}`, email: `s${i}@example.com` }));
    expect(paths(checkOperationInput('request_signature', { ...valid, signers: many }).errors)).toEqual(['signers']);
  });

  it('keeps a valid SMS as given', () => {
    expect(checkOperationInput('send_sms', { to: '+14155550123', body: 'Your code is 1234\nThanks' })).toEqual({
      input: { to: '+14155550123', body: 'Your code is 1234\nThanks' },
      errors: [],
    });
  });

  it('refuses numbers that are not E.164, empty or long bodies and control characters', () => {
    for (const to of ['14155550123', '+0123456789', '+1415555012345678', '+1 415 555 0123', '']) {
      expect(paths(checkOperationInput('send_sms', { to, body: 'x' }).errors)).toEqual(['to']);
    }
    expect(paths(checkOperationInput('send_whatsapp', { to: '+14155550123', body: '' }).errors)).toEqual(['body']);
    expect(checkOperationInput('send_sms', { to: '+14155550123', body: 'x'.repeat(1601) }).errors[0]!.message).toBe(
      'must be at most 1600 characters (got 1601)',
    );
    // 1600 characters, counted as characters (not UTF-16 units)
    expect(checkOperationInput('send_sms', { to: '+14155550123', body: '😀'.repeat(1600) }).errors).toEqual([]);
    expect(paths(checkOperationInput('send_sms', { to: '+14155550123', body: 'a\u0007b' }).errors)).toEqual(['body']);
  });

  it('checks every email recipient, the subject line and that there is a body', () => {
    const { input, errors } = checkOperationInput('send_email', {
      to: ['ana@example.com', 'not an address', 'ANA@example.com'],
      subject: 'two\nlines',
    });
    expect(paths(errors)).toEqual(['to.1', 'to.2', 'subject', 'text']);
    expect(input).toEqual({ to: ['ana@example.com', 'not an address', 'ANA@example.com'], subject: 'two\nlines' });
    expect(paths(checkOperationInput('send_email', { to: [], subject: 's', html: '<p>x</p>' }).errors)).toEqual(['to']);
    const many = Array.from({ length: 51 }, (_, i) => `u${i}@example.com`);
    expect(paths(checkOperationInput('send_email', { to: many, subject: 's', text: 't' }).errors)).toEqual(['to']);
  });

  it('keeps only the AI fields given, and checks models and token counts', () => {
    expect(checkOperationInput('generate_text', { prompt: 'Hi', model: null, maxOutputTokens: null }).input).toEqual({ prompt: 'Hi' });
    expect(paths(checkOperationInput('generate_text', { prompt: 'Hi', model: 'gpt 4', maxOutputTokens: 0 }).errors)).toEqual([
      'model',
      'maxOutputTokens',
    ]);
    expect(checkOperationInput('create_embedding', { input: 'text', model: 'text-embedding-3-large' })).toEqual({
      input: { input: 'text', model: 'text-embedding-3-large' },
      errors: [],
    });
  });

  it('refuses a capability operations do not run', () => {
    expect(paths(checkOperationInput('teleport', {}).errors)).toEqual(['capability']);
  });
});

describe('checkOperationOptions', () => {
  it('takes visible ASCII keys up to 255 characters and waits of 0 to 30 seconds', () => {
    expect(checkOperationOptions({ idempotencyKey: '7c9e6679-7425-40de-944b-e07fc1f90ae7', waitSeconds: 30 })).toEqual([]);
    for (const idempotencyKey of ['', 'has space', 'é', 'k'.repeat(256)]) {
      expect(paths(checkOperationOptions({ idempotencyKey }))).toEqual(['idempotencyKey']);
    }
    expect(paths(checkOperationOptions({ waitSeconds: 31 }))).toEqual(['waitSeconds']);
    expect(paths(checkOperationOptions({ waitSeconds: -1 }))).toEqual(['waitSeconds']);
  });
});

describe('routeCandidateIds', () => {
  it('lists each rule’s primary then fallback, rules in resolution order, each integration once', () => {
    const rule = (id: string, integrationId: string, fallbackIntegrationId: string | null, priority: number, isDefault = false) => ({
      id,
      integrationId,
      fallbackIntegrationId,
      priority,
      isDefault,
    });
    expect(routeCandidateIds([rule('r2', 'b', 'a', 10), rule('r1', 'c', null, 50), rule('r3', 'a', 'd', 100, true)])).toEqual([
      'a',
      'd',
      'b',
      'c',
    ]);
  });
});

describe('provider error messages', () => {
  it('reads Twilio, SendGrid, OpenAI and Plivo error bodies', () => {
    expect(providerMessage({ code: 21211, message: "The 'To' number is not valid." })).toBe("The 'To' number is not valid.");
    expect(providerMessage({ errors: [{ message: 'The from address does not match a verified Sender Identity.' }] })).toBe(
      'The from address does not match a verified Sender Identity.',
    );
    expect(providerMessage({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } })).toBe(
      'Incorrect API key provided',
    );
    expect(providerMessage({ api_id: 'x', error: 'invalid dst' })).toBe('invalid dst');
    expect(providerMessage('plain text')).toBeUndefined();
  });

  it('removes credential values and control characters, and cuts long messages', () => {
    expect(scrubbed('key sk-abcdef is wrong\r\n', ['sk-abcdef'])).toBe('key [redacted] is wrong');
    expect(scrubbed('x'.repeat(400), [])).toHaveLength(301);
  });
});
