/**
 * GraphQL Code Generator configuration of the typed client example (`npm run codegen`): the client
 * preset turns schema.graphql and operations.graphql into ./gql/ (checked in): a TypedDocumentNode
 * per operation, and persisted-documents.json, the manifest a trusted-documents server loads.
 * test/integration/codegen-client.test.ts fails when ./gql/ is not what this generates. Paths are
 * relative to the repository root, where npm runs scripts.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

export const OUTPUT_DIR = 'src/examples/client/gql/';

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
  },
};

export default config;
