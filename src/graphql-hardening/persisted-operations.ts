/**
 * Trusted documents at request time (@graphql-yoga/plugin-persisted-operations): a request names
 * a document of the TRUSTED_DOCUMENTS manifest by its id, as graphql-codegen's documentation
 * sends it (`extensions.persistedQuery.sha256Hash`, Apollo's format, `version: 1`) or as GraphQL
 * over HTTP's persisted documents appendix does (`documentId`, in the body or in a GET's URL).
 * With TRUSTED_DOCUMENTS_ONLY a request carrying a document's text is refused; otherwise both
 * kinds run. A trusted document is validated and limited like any other.
 */
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import type { TrustedDocumentsConfig } from '../config.ts';
import { documentKey } from './trusted-documents.ts';

/** GraphiQL's document when only trusted documents run: it can send none (not even its schema query). */
export const GRAPHIQL_TRUSTED_ONLY_NOTE = `# This server runs only trusted documents (TRUSTED_DOCUMENTS_ONLY=true): the operations of
# its first-party clients, named by their hash. GraphiQL sends documents as text, its schema
# query included, so here it can run nothing and shows the refusal (PERSISTED_QUERY_ID_REQUIRED).
# Explore the API on an instance without TRUSTED_DOCUMENTS_ONLY.
`;

/** The document id a request names, if it names one. */
export function requestedDocumentId(params: GraphQLParams & { documentId?: unknown }, request: Request): string | null {
  const persistedQuery = params.extensions?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | undefined;
  if (persistedQuery?.version === 1 && typeof persistedQuery.sha256Hash === 'string') return persistedQuery.sha256Hash;
  if (typeof params.documentId === 'string') return params.documentId;
  return request.method === 'GET' ? new URL(request.url).searchParams.get('documentId') : null;
}

export function trustedDocumentsPlugin({ documents, only }: TrustedDocumentsConfig): Plugin {
  return usePersistedOperations({
    allowArbitraryOperations: !only,
    extractPersistedOperationId: (params, request) => requestedDocumentId(params, request),
    getPersistedOperation: (id) => documents.get(documentKey(id)) ?? null,
    customErrors: {
      // Apollo's code: its persisted-queries link then sends the document's text, which runs
      // unless only trusted documents do
      notFound: ({ params, request }) =>
        new GraphQLError(`PersistedQueryNotFound: no trusted document has the id ${requestedDocumentId(params, request)}`, {
          extensions: { code: 'PERSISTED_QUERY_NOT_FOUND', http: { status: 404 } },
        }),
      keyNotFound: () =>
        new GraphQLError(
          only
            ? 'No document named: send a trusted document id in extensions.persistedQuery.sha256Hash (or documentId)'
            : 'No document: send it in "query", or a trusted document id in extensions.persistedQuery.sha256Hash (or documentId)',
          { extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED', http: { status: 400 } } },
        ),
      persistedQueryOnly: () =>
        new GraphQLError(
          'Only trusted documents run here (TRUSTED_DOCUMENTS_ONLY): send the id of a document of the manifest in extensions.persistedQuery.sha256Hash instead of its text',
          { extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED', http: { status: 400 } } },
        ),
    },
  });
}
