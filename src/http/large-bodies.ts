/**
 * The two mutations whose requests carry a document (requestSignature, trackSignature) may send
 * bodies up to LARGE_BODY_BYTES; every other request keeps MAX_BODY_BYTES. A body passes the
 * normal limit only when it names credentials and a slot is free (at most LARGE_BODIES_AT_ONCE per
 * process), and once read it must be one request whose operation is a mutation of those fields
 * only. docs/configuration.md ("Limits").
 */

import type { IncomingMessage } from 'node:http';
import { getOperationAST, Kind, parse } from 'graphql';
import { type LargerLimit, MAX_BODY_BYTES } from './body.ts';

export const LARGE_BODY_BYTES = 10 * 1024 * 1024;
export const LARGE_BODY_FIELDS: ReadonlySet<string> = new Set(['requestSignature', 'trackSignature']);
/** Bodies over MAX_BODY_BYTES read at once by one process: 16 × 10 MiB of memory at most. */
export const LARGE_BODIES_AT_ONCE = 16;
/** Tokens of the query text of such a request (its document travels in the variables). */
const QUERY_TOKENS = 2000;

export const LARGE_BODY_REFUSAL = `request bodies are limited to ${MAX_BODY_BYTES} bytes (${LARGE_BODY_BYTES} for ${[...LARGE_BODY_FIELDS].join(' and ')})`;

/** The larger limit for one process's GraphQL requests. */
export function largeBodies(): { limitFor(req: IncomingMessage): LargerLimit | undefined } {
  let reading = 0;
  const larger: LargerLimit = {
    limit: LARGE_BODY_BYTES,
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
    // an anonymous request never gets past the normal limit
    limitFor: (req) => (req.headers.authorization || req.headers['x-api-key'] ? larger : undefined),
  };
}

/** Whether a body over MAX_BODY_BYTES is one GraphQL request for a mutation of LARGE_BODY_FIELDS only. */
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
    return (
      operation?.operation === 'mutation' &&
      operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && LARGE_BODY_FIELDS.has(s.name.value))
    );
  } catch {
    return false;
  }
}
