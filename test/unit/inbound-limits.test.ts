import { describe, expect, it } from 'vitest';
import { INBOUND_LIMITS, inboundEventProblem } from '../../src/inbound/limits.ts';

const event = (patch: Partial<{ id: string; type: string; payload: Record<string, unknown> }> = {}) => ({
  id: 'evt_1',
  type: 'charge.refunded',
  payload: {},
  ...patch,
});

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

describe('inboundEventProblem', () => {
  it.each([
    'payment_intent.succeeded',
    'envelope-completed',
    'AGREEMENT_WORKFLOW_COMPLETED',
    'message.delivered',
    'document:signed',
    '9',
    `a.B_c:d-${'9'.repeat(192)}`,
  ])('accepts the type %j', (type) => {
    expect(inboundEventProblem([event({ type })])).toBeNull();
  });

  it.each([
    ['', /letters, digits/],
    ['.charge', /letters, digits/],
    ['charge refunded', /letters, digits/],
    ['charge/refunded', /letters, digits/],
    ['charge.\u2028', /letters, digits/],
    ['caf\u00e9', /letters, digits/],
    ['x'.repeat(201), /at most 200 characters/],
  ])('refuses the type %j', (type, message) => {
    expect(inboundEventProblem([event({ type })])).toMatch(message);
  });

  it('bounds the id: 1 to 256 characters without control characters', () => {
    expect(inboundEventProblem([event({ id: 'i'.repeat(INBOUND_LIMITS.idLength) })])).toBeNull();
    expect(inboundEventProblem([event({ id: 'i'.repeat(INBOUND_LIMITS.idLength + 1) })])).toMatch(/id must be 1 to 256/);
    expect(inboundEventProblem([event({ id: '' })])).toMatch(/id must be 1 to 256/);
    expect(inboundEventProblem([event({ id: 'evt\n1' })])).toMatch(/control characters/);
    expect(inboundEventProblem([event({ id: 'evt\udc001' })])).toMatch(/lone UTF-16 surrogates/);
    expect(inboundEventProblem([event({ id: 'evt\ud83d\ude00' })])).toBeNull();
  });

  it('bounds the payload: 256 KiB as JSON, 32 levels deep', () => {
    const pad = (n: number) => ({ p: 'x'.repeat(n - '{"p":""}'.length) });
    expect(inboundEventProblem([event({ payload: pad(INBOUND_LIMITS.payloadBytes) })])).toBeNull();
    expect(inboundEventProblem([event({ payload: pad(INBOUND_LIMITS.payloadBytes + 1) })])).toMatch(/at most 256 KiB/);
    expect(inboundEventProblem([event({ payload: nested(32) })])).toBeNull();
    expect(inboundEventProblem([event({ payload: nested(33) })])).toMatch(/more than 32 levels/);
    // far deeper than any stack would take, checked without recursion
    expect(inboundEventProblem([event({ payload: nested(200_000) })])).toMatch(/more than 32 levels/);
  });

  it('names the event at fault in a batch', () => {
    expect(inboundEventProblem([event(), event({ type: 'bad type' })])).toMatch(/^event 1 type/);
    expect(inboundEventProblem([])).toBeNull();
  });
});
