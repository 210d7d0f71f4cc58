/**
 * The two mutations whose requests carry a document (requestSignature, trackSignature) may send
 * bodies up to LARGE_BODY_BYTES; every other request keeps MAX_BODY_BYTES. A body may pass the
 * normal limit only when it declares its length, its credentials are valid and may request
 * operations (checked before its first byte is read), and a slot is free (LARGE_BODIES_AT_ONCE per
 * process, each read within LARGE_BODY_READ_MS); once read it must be one request whose operation
 * is a mutation of exactly one of those fields, without an alias. docs/configuration.md ("Limits").
 */
import type { IncomingMessage } from 'node:http';
import { getOperationAST, Kind, parse } from 'graphql';
import type { Authenticator } from '../auth/viewer.ts';
import { type LargerLimit, MAX_BODY_BYTES } from './body.ts';

export const LARGE_BODY_BYTES = 10 * 1024 * 1024;
export const LARGE_BODY_FIELDS: ReadonlySet<string> = new Set(['requestSignature', 'trackSignature']);
/** Bodies over MAX_BODY_BYTES read at once by one process: 16 × 10 MiB of memory at most. */
export const LARGE_BODIES_AT_ONCE = 16;
/** How long one such body may take to arrive (a slow sender holds a slot no longer). */
export const LARGE_BODY_READ_MS = 60_000;
/** Tokens of the query text of such a request (its document travels in the variables). */
const QUERY_TOKENS = 2000;

export const LARGE_BODY_REFUSAL = `request bodies are limited to ${MAX_BODY_BYTES} bytes (${LARGE_BODY_BYTES} for ${[...LARGE_BODY_FIELDS].join(' or ')}, with credentials that may request operations)`;

/** The request's headers as the authenticator reads them. */
function headersOf(req: IncomingMessage): Headers {
  const get = (name: string) => {
    const value = req.headers[name.toLowerCase()];
    return typeof value === 'string' ? value : null;
  };
  return { get } as Headers;
}

/** The larger limit for one process's GraphQL requests. */
export function largeBodies(authenticate: Authenticator) {
  let reading = 0;
  const larger: LargerLimit = {
    limit: LARGE_BODY_BYTES,
    readWithinMs: LARGE_BODY_READ_MS,
    admit: () => {
      if (reading >= LARGE_BODIES_AT_ONCE) return false;
      reading++;
      return true;
    },
    release: () => {
      reading--;
    },
  };
  return {
    /** The larger limit when the request may use it; undefined keeps it to MAX_BODY_BYTES. */
    async limitFor(req: IncomingMessage): Promise<LargerLimit | undefined> {
      const length = Number(req.headers['content-length']);
      if (!(length > MAX_BODY_BYTES && length <= LARGE_BODY_BYTES)) return undefined;
      try {
        const viewer = await authenticate(headersOf(req));
        return viewer.scopes.has('operations:write') ? larger : undefined;
      } catch {
        // refused as too large; GraphQL never sees the credentials' problem
        return undefined;
      }
    },
  };
}

/** Whether a body over MAX_BODY_BYTES is one GraphQL request for exactly one LARGE_BODY_FIELDS mutation field. */
export function allowedLargeBody(body: Buffer): boolean {
  let request: unknown;
  try {
    request = JSON.parse(body.toString('utf8'));
  } catch {
    return false;
  }
  if (typeof request !== 'object' || request === null || Array.isArray(request)) return false;
  const { query, operationName } = request as { query?: unknown; operationName?: unknown };
  if (typeof query !== 'string' || query.length > MAX_BODY_BYTES) return false;
  try {
    const operation = getOperationAST(
      parse(query, { maxTokens: QUERY_TOKENS }),
      typeof operationName === 'string' ? operationName : undefined,
    );
    const [field, ...others] = operation?.operation === 'mutation' ? operation.selectionSet.selections : [];
    // one field, without an alias: one document, one operation
    return !others.length && field?.kind === Kind.FIELD && !field.alias && LARGE_BODY_FIELDS.has(field.name.value);
  } catch {
    return false;
  }
}
