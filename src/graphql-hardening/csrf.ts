/**
 * CSRF prevention, @graphql-yoga/plugin-csrf-prevention's check: a request a browser could send
 * from another site without a CORS preflight (a GET, or a form, multipart or text/plain POST) runs
 * only with a header such a request cannot carry; a JSON POST passes untouched. Credentials here
 * travel only in such headers (Authorization, x-api-key; never cookies), so a GET that carries
 * them passes too: urql's and other clients' GET queries work with their defaults. Mutations stay
 * POST-only (Yoga), and other bodies still need the header. This module names the accepted headers and says in the error what to do
 * (docs/configuration.md, "Request limits and hardening").
 */
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** The header to send (any value): Yoga's own. */
export const CSRF_HEADER = 'x-graphql-yoga-csrf';

/** Accepted too: Apollo's two, so Apollo clients set up for Apollo Server's CSRF rule work as they are. */
export const CSRF_HEADERS = [CSRF_HEADER, 'apollo-require-preflight', 'x-apollo-operation-name'];

/** The credential headers: a cross-site form cannot set them, and a cross-site fetch that does is preflighted. */
const CREDENTIAL_HEADERS = ['authorization', 'x-api-key'];

function csrfRefused() {
  return new GraphQLError(
    `Refused as a possible cross-site request: send a POST with Content-Type: application/json, or add the header ${CSRF_HEADER}: 1 (a GET needs credentials or that header; form, multipart or text/plain bodies need the header)`,
    { extensions: { code: 'CSRF_HEADER_REQUIRED', http: { status: 403 } } },
  );
}

export function csrfPrevention(): Plugin {
  const library = useCSRFPrevention({ requestHeaders: CSRF_HEADERS });
  return {
    onRequestParse(payload) {
      const { request } = payload;
      if (request.method === 'GET' && CREDENTIAL_HEADERS.some((name) => request.headers.has(name))) return;
      try {
        return library.onRequestParse?.(payload);
      } catch {
        // the library throws one error, its refusal; ours says what to do
        throw csrfRefused();
      }
    },
  };
}
