/** Which failures mean "the database is away, retry" (a typed 503) rather than a bug (a masked 500). */
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/errors.ts';

describe('isDatabaseUnavailable', () => {
  it('recognises refused, terminated and restarting connections, also as a cause', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(
      true,
    );
    expect(isDatabaseUnavailable(new Error('the database system is starting up'))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('pool timeout'), { code: 'P2024' }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('query failed', { cause: new Error('Connection terminated unexpectedly') }))).toBe(true);
    // pg, for a statement on a pooled client whose connection the server ended between statements
    expect(isDatabaseUnavailable(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
  });

  it('recognises Node’s own network errors from a raw pg connection, and each address of a host failing', () => {
    for (const code of ['ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']) {
      expect(isDatabaseUnavailable(Object.assign(new Error(`getaddrinfo ${code} db.internal`), { code })), code).toBe(true);
    }
    // Node 20 connecting to both addresses of localhost: an AggregateError with an empty message
    const both = new AggregateError(
      [
        Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' }),
        new Error('connect ECONNREFUSED 127.0.0.1:5432'),
      ],
      '',
    );
    expect(isDatabaseUnavailable(both)).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([new TypeError('not a network error')], ''))).toBe(false);
  });

  it('leaves everything else to the usual handling', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('Unique constraint failed'), { code: 'P2002' }))).toBe(false);
    expect(isDatabaseUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
