/**
 * GraphQL Code Generator configuration of the typed client example (`npm run codegen`): the client
 * preset turns schema.graphql and operations.graphql into ./gql/ (checked in): a TypedDocumentNode
 * per operation, persisted-documents.json (the manifest a trusted-documents server loads), and
 * possible-types.ts (Apollo Client's cache needs it to match `... on Error`). test/integration/
 * codegen-client.test.ts fails when ./gql/ is not what this generates. Paths are
 * relative to the repository root, where npm runs scripts.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

export const OUTPUT_DIR = 'src/examples/client/gql/';
/** Each union's and interface's members, for Apollo Client's InMemoryCache (docs/clients.md). */
export const POSSIBLE_TYPES_FILE = `${OUTPUT_DIR}possible-types.ts`;

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/examples/client/operations.graphql'],
  ignoreNoDocuments: false,
  generates: {
    [OUTPUT_DIR]: {
      preset: 'client',
      presetConfig: {
        // A script reads whole results; masking only pays off with components owning fragments.
        fragmentMasking: false,
        persistedDocuments: true,
      },
      config: {
        // The repository's TypeScript settings: verbatimModuleSyntax and `.ts` import paths.
        useTypeImports: true,
        importExtension: '.ts',
        enumsAsTypes: true,
        scalars: {
          DateTime: 'string',
          JSON: 'unknown',
          JSONObject: 'Record<string, unknown>',
          URL: 'string',
        },
      },
    },
    [POSSIBLE_TYPES_FILE]: {
      plugins: ['fragment-matcher'],
      config: { useExplicitTyping: true, deterministic: true },
    },
  },
};

export default config;
