/**
 * GraphQL Code Generator for the console (`npm run codegen:console`): the client preset reads the
 * graphql() documents in console/src and schema.graphql, and writes console/src/gql/ (checked in).
 * test/integration/console-browser.test.ts fails when gql/ is not what this generates. Paths are
 * relative to the repository root, where npm runs scripts.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

export const CONSOLE_GQL_DIR = 'console/src/gql/';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['console/src/**/*.tsx', 'console/src/**/*.ts', '!console/src/gql/**'],
  ignoreNoDocuments: false,
  generates: {
    [CONSOLE_GQL_DIR]: {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown', JSONObject: 'Record<string, unknown>', URL: 'string' },
      },
    },
  },
};

export default config;
