// Lint: typescript-eslint's recommended rules, plus the architecture rules: the core
// (shared/ outside adapters/ and runtime/) never imports a cloud SDK, a telemetry SDK or an
// adapter; use cases reach the store only through the domain services' verbs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const CLOUD_SDKS = [
  '@aws-sdk/*',
  '@azure/*',
  '@google-cloud/*',
  '@smithy/*',
  '@aws-lambda-powertools/*',
  '@opentelemetry/*',
  'aws-lambda',
  'classic-level',
];

const CORE_PATTERNS = [
  {
    group: CLOUD_SDKS,
    message:
      'The core is cloud-agnostic: cloud and telemetry SDKs belong in shared/adapters/ and a runtime composition root.',
  },
  {
    group: ['**/adapters/**', '**/runtime/**'],
    message: 'The core talks to the world through ports (shared/core/ports.ts), never through an adapter.',
  },
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      '.serverless/',
      '.esbuild/',
      'coverage/',
      '.coordinator-data/',
      'test-artifacts/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
      },
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['shared/core/**/*.ts', 'shared/http/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: CORE_PATTERNS }] },
  },
  {
    files: ['shared/core/usecases/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...CORE_PATTERNS,
            {
              group: ['**/services/records'],
              message:
                'Use cases change records through the registry and the task ledger (domain verbs), not the raw store.',
            },
          ],
        },
      ],
    },
  },
);
