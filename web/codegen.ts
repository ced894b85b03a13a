import type { CodegenConfig } from '@graphql-codegen/cli';

// CODEGEN_OUT lets `npm run codegen:check` generate into a temporary folder
// and compare it with the committed src/gql/.
const out = process.env.CODEGEN_OUT ?? 'src/gql/';

const config: CodegenConfig = {
  schema: '../schema.graphql',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**/*'],
  ignoreNoDocuments: false,
  generates: {
    [out]: {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        // Plain strings instead of parsed ASTs: no graphql-js in the bundle.
        documentMode: 'string',
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
        scalars: {
          DateTime: 'string',
          Decimal: 'string',
          JSON: 'unknown',
          NaiveDate: 'string',
        },
      },
    },
  },
};

export default config;
