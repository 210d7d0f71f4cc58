import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { adobeSign } from '../../src/providers/adobe-sign.ts';
import { certisign } from '../../src/providers/certisign.ts';
import { clicksign } from '../../src/providers/clicksign.ts';
import { d4sign } from '../../src/providers/d4sign.ts';
import { docusign } from '../../src/providers/docusign.ts';
import type { InboundRequest, ProviderDefinition } from '../../src/providers/types.ts';

// Signatures are computed here with node:crypto directly, independently of src/providers/inbound.
const NOW = new Date('2025-03-10T12:00:00Z');
const sha256 = (body: string) => createHash('sha256').update(body).digest('hex');
const hmacB64 = (key: string, data: string) => createHmac('sha256', key).update(data).digest('base64');
const hmacHex = (key: string, data: string) => createHmac('sha256', key).update(data).digest('hex');

function request(body: string, headers: Record<string, string | undefined>, contentType = 'application/json'): InboundRequest {
  return {
    method: 'POST',
    url: 'https://cp.example.com/hooks/x/tok_abc',
    headers: { 'content-type': contentType, ...headers },
    rawBody: Buffer.from(body),
  };
}

const verifier = (provider: ProviderDefinition) => (req: InboundRequest, credentials: Record<string, string>) =>
  provider.inbound!.verify(req, credentials, NOW);

describe('docusign inbound', () => {
  const KEY = 'mS2hWJ0wXcW1t9rF5kGdJ3yqH8nP4vZ6aB0cE2gI7kM=';
  const verify = verifier(docusign);
  const creds = { connect_hmac_key: KEY };
  const EVENT = {
    event: 'envelope-completed',
    apiVersion: 'v2.1',
    generatedDateTime: '2025-03-10T11:59:58.1234567Z',
    data: { accountId: 'a1', envelopeId: 'e7b1c8d2-0000-4000-8000-000000000001' },
  };
  const BODY = JSON.stringify(EVENT);

  it('accepts a valid X-DocuSign-Signature-1 and derives the id when no eventId is sent', () => {
    expect(verify(request(BODY, { 'x-docusign-signature-1': hmacB64(KEY, BODY) }), creds)).toEqual({
      ok: true,
      events: [
        {
          id: `${EVENT.data.envelopeId}:envelope-completed:${EVENT.generatedDateTime}`,
          type: 'envelope-completed',
          payload: EVENT,
        },
      ],
    });
  });

  it('uses eventId when present, and the body hash when nothing else identifies the event', () => {
    const withId = JSON.stringify({ ...EVENT, eventId: 'evt-42' });
    expect(verify(request(withId, { 'x-docusign-signature-1': hmacB64(KEY, withId) }), creds)).toMatchObject({
      ok: true,
      events: [{ id: 'evt-42' }],
    });
    const bare = JSON.stringify({ event: 'recipient-sent' });
    expect(verify(request(bare, { 'x-docusign-signature-1': hmacB64(KEY, bare) }), creds)).toMatchObject({
      ok: true,
      events: [{ id: sha256(bare) }],
    });
  });

  it('accepts when only the -2 signature (another active key) matches', () => {
    const headers = {
      'x-docusign-signature-1': hmacB64('an-older-key', BODY),
      'x-docusign-signature-2': hmacB64(KEY, BODY),
    };
    expect(verify(request(BODY, headers), creds)).toMatchObject({ ok: true });
  });

  it.each([
    ['a tampered body', request(BODY.replace('completed', 'voided'), { 'x-docusign-signature-1': hmacB64(KEY, BODY) })],
    ['another key', request(BODY, { 'x-docusign-signature-1': hmacB64('another-key', BODY) })],
    [
      'the key base64-decoded',
      request(BODY, {
        'x-docusign-signature-1': createHmac('sha256', Buffer.from(KEY, 'base64')).update(BODY).digest('base64'),
      }),
    ],
    ['a missing header', request(BODY, {})],
  ])('refuses %s with 401', (_, req) => {
    expect(verify(req, creds)).toMatchObject({ ok: false, status: 401 });
  });

  it('answers 400 to signed XML or a JSON body without an event', () => {
    const xml = '<DocuSignEnvelopeInformation/>';
    expect(verify(request(xml, { 'x-docusign-signature-1': hmacB64(KEY, xml) }, 'text/xml'), creds)).toMatchObject({
      ok: false,
      status: 400,
    });
    expect(verify(request(xml, { 'x-docusign-signature-1': hmacB64(KEY, xml) }), creds)).toMatchObject({
      ok: false,
      status: 400,
    });
    const noEvent = '{"data":{}}';
    expect(verify(request(noEvent, { 'x-docusign-signature-1': hmacB64(KEY, noEvent) }), creds)).toMatchObject({
      ok: false,
      status: 400,
    });
  });

  it('answers 401 when no connect_hmac_key is configured', () => {
    expect(verify(request(BODY, { 'x-docusign-signature-1': hmacB64(KEY, BODY) }), {})).toEqual({
      ok: false,
      status: 401,
      reason: 'no connect_hmac_key configured for this integration',
    });
  });
});

describe('clicksign inbound', () => {
  const SECRET = '1c3f5a7b9d2e4f60';
  const verify = verifier(clicksign);
  const creds = { hmac_secret: SECRET };
  const EVENT = {
    event: { name: 'sign', occurred_at: '2025-03-10T08:59:58.000-03:00', data: { signer: { email: 'a@example.com' } } },
    document: { key: '0b2a6c7e-1f3d-4a5b-8c9d-0e1f2a3b4c5d', status: 'running' },
  };
  const BODY = JSON.stringify(EVENT);
  const sig = (body: string, secret = SECRET) => `sha256=${hmacHex(secret, body)}`;

  it('accepts a valid Content-Hmac; id is <document.key>:<event.name>:<occurred_at>', () => {
    expect(verify(request(BODY, { 'content-hmac': sig(BODY), event: 'sign' }), creds)).toEqual({
      ok: true,
      events: [{ id: `${EVENT.document.key}:sign:${EVENT.event.occurred_at}`, type: 'sign', payload: EVENT }],
    });
  });

  it('falls back to the body hash when the document key or time is absent', () => {
    const body = JSON.stringify({ event: { name: 'auto_close' } });
    expect(verify(request(body, { 'content-hmac': sig(body) }), creds)).toMatchObject({
      ok: true,
      events: [{ id: sha256(body), type: 'auto_close' }],
    });
  });

  it.each([
    ['a tampered body', request(BODY.replace('sign', 'refusal'), { 'content-hmac': sig(BODY) })],
    ['another secret', request(BODY, { 'content-hmac': sig(BODY, 'other') })],
    ['a bare hex without sha256=', request(BODY, { 'content-hmac': hmacHex(SECRET, BODY) })],
    ['a missing header', request(BODY, {})],
  ])('refuses %s with 401', (_, req) => {
    expect(verify(req, creds)).toMatchObject({ ok: false, status: 401 });
  });

  it('answers 400 to signed bad JSON or a body without event.name', () => {
    for (const body of ['{"event":', '{"document":{"key":"k"}}']) {
      expect(verify(request(body, { 'content-hmac': sig(body) }), creds)).toMatchObject({ ok: false, status: 400 });
    }
  });

  it('answers 401 when no hmac_secret is configured', () => {
    expect(verify(request(BODY, { 'content-hmac': sig(BODY) }), {})).toEqual({
      ok: false,
      status: 401,
      reason: 'no hmac_secret configured for this integration',
    });
  });
});

describe('d4sign inbound', () => {
  const SECRET = 'd4s-mac-secret-9f8e7d';
  const UUID = '8a7f6e5d-4c3b-2a19-0807-f6e5d4c3b2a1';
  const verify = verifier(d4sign);
  const creds = { hmac_secret: SECRET };
  const sig = (uuid = UUID, secret = SECRET) => ({ 'content-hmac': `sha256=${hmacHex(secret, uuid)}` });
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const FORM = 'application/x-www-form-urlencoded';

  it('accepts a form POSTback signed over the uuid and relays only uuid and type_post', () => {
    const body = form({ uuid: UUID, type_post: '1', message: 'Documento finalizado', email: 'a@example.com' });
    expect(verify(request(body, sig(), FORM), creds)).toEqual({
      ok: true,
      events: [{ id: `${UUID}:1`, type: 'document.1', payload: { uuid: UUID, type_post: '1' } }],
    });
  });

  it('accepts the same as JSON', () => {
    const body = JSON.stringify({ uuid: UUID, type_post: '4', email: 'a@example.com' });
    expect(verify(request(body, sig()), creds)).toMatchObject({
      ok: true,
      events: [{ id: `${UUID}:4`, type: 'document.4' }],
    });
  });

  it.each([
    ['a signature for another document', request(form({ uuid: UUID, type_post: '1' }), sig('another-uuid'), FORM)],
    ['another secret', request(form({ uuid: UUID, type_post: '1' }), sig(UUID, 'other'), FORM)],
    [
      'a signature over the whole body',
      request(
        form({ uuid: UUID, type_post: '1' }),
        { 'content-hmac': `sha256=${hmacHex(SECRET, form({ uuid: UUID, type_post: '1' }))}` },
        FORM,
      ),
    ],
    ['a missing header', request(form({ uuid: UUID, type_post: '1' }), {}, FORM)],
  ])('refuses %s with 401', (_, req) => {
    expect(verify(req, creds)).toMatchObject({ ok: false, status: 401 });
  });

  it('answers 400 without a uuid, with an odd type_post, bad JSON or another content type', () => {
    expect(verify(request(form({ type_post: '1' }), sig(), FORM), creds)).toMatchObject({ ok: false, status: 400 });
    expect(verify(request(form({ uuid: UUID, type_post: '1.x y' }), sig(), FORM), creds)).toMatchObject({
      ok: false,
      status: 400,
    });
    expect(verify(request(form({ uuid: UUID }), sig(), FORM), creds)).toMatchObject({ ok: false, status: 400 });
    expect(verify(request('{"uuid":', sig()), creds)).toMatchObject({ ok: false, status: 400 });
    expect(verify(request(form({ uuid: UUID, type_post: '1' }), sig(), 'text/plain'), creds)).toMatchObject({
      ok: false,
      status: 400,
    });
  });

  it('answers 401 when no hmac_secret is configured', () => {
    expect(verify(request(form({ uuid: UUID, type_post: '1' }), sig(), FORM), {})).toEqual({
      ok: false,
      status: 401,
      reason: 'no hmac_secret configured for this integration',
    });
  });
});

describe('adobe_sign inbound', () => {
  const CLIENT_ID = 'CBJCHBCAABAAq2x0abcdefghijklmnop';
  const verify = verifier(adobeSign);
  const creds = { client_id: CLIENT_ID };
  const EVENT = {
    webhookId: 'w1',
    webhookNotificationId: 'n-0001',
    event: 'AGREEMENT_WORKFLOW_COMPLETED',
    eventDate: '2025-03-10T11:59:58Z',
    agreement: { id: 'CBJCHBCAABAA-agreement', status: 'SIGNED' },
  };
  const BODY = JSON.stringify(EVENT);

  it('accepts the right client id and echoes it back', () => {
    expect(verify(request(BODY, { 'x-adobesign-clientid': CLIENT_ID }), creds)).toEqual({
      ok: true,
      events: [{ id: 'n-0001', type: 'AGREEMENT_WORKFLOW_COMPLETED', payload: EVENT }],
      respond: { headers: { 'X-AdobeSign-ClientId': CLIENT_ID } },
    });
  });

  it('derives the id from the body when there is no webhookNotificationId', () => {
    const body = JSON.stringify({ event: 'AGREEMENT_ACTION_COMPLETED' });
    expect(verify(request(body, { 'x-adobesign-clientid': CLIENT_ID }), creds)).toMatchObject({
      ok: true,
      events: [{ id: sha256(body) }],
    });
  });

  it.each([
    ['another client id', { 'x-adobesign-clientid': `${CLIENT_ID}x` }],
    ['a missing header', {}],
  ])('refuses %s with 401', (_, headers) => {
    expect(verify(request(BODY, headers), creds)).toMatchObject({ ok: false, status: 401 });
  });

  it('answers 400 to bad JSON or a body without event', () => {
    for (const body of ['{"event"', '{"agreement":{}}']) {
      expect(verify(request(body, { 'x-adobesign-clientid': CLIENT_ID }), creds)).toMatchObject({
        ok: false,
        status: 400,
      });
    }
  });

  it('answers 401 when no client_id is configured', () => {
    expect(verify(request(BODY, { 'x-adobesign-clientid': CLIENT_ID }), {})).toEqual({
      ok: false,
      status: 401,
      reason: 'no client_id configured for this integration',
    });
  });
});

describe('certisign inbound (unsigned: the URL token is the only check)', () => {
  const verify = verifier(certisign);

  it('accepts any JSON object; type from the first plain event/status field; id is the body hash', () => {
    const body = JSON.stringify({ documentKey: 'k1', status: 'Concluded', type: 'not a plain token!' });
    expect(verify(request(body, {}), {})).toEqual({
      ok: true,
      events: [{ id: sha256(body), type: 'Concluded', payload: JSON.parse(body) }],
    });
    const noType = '{"documentKey":"k1"}';
    expect(verify(request(noType, {}), {})).toMatchObject({
      ok: true,
      events: [{ type: 'callback', id: sha256(noType) }],
    });
  });

  it('gives a resent callback the same id', () => {
    const body = '{"event":"document.signed","documentKey":"k1"}';
    const first = verify(request(body, {}), {});
    const again = verify(request(body, {}), {});
    expect(first.ok && again.ok && first.events[0]!.id === again.events[0]!.id).toBe(true);
  });

  it('answers 400 to bad JSON, a non-object or another content type', () => {
    expect(verify(request('{"status":', {}), {})).toMatchObject({ ok: false, status: 400 });
    expect(verify(request('["x"]', {}), {})).toMatchObject({ ok: false, status: 400 });
    expect(verify(request('status=ok', {}, 'application/x-www-form-urlencoded'), {})).toMatchObject({
      ok: false,
      status: 400,
    });
  });
});
