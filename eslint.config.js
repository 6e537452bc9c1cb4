import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.local/**', 'coverage/**', 'test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', fetch: 'readonly', AbortSignal: 'readonly', AbortController: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', performance: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Configuration is read in exactly one place (libs/config/app-config.ts).
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read settings through libs/config (loadConfig), never process.env.' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@aws-sdk/*', '@smithy/*'], message: 'Only libs/storage talks to S3.' },
            { group: ['bullmq'], message: 'Only libs/queue talks to BullMQ.' },
          ],
        },
      ],
    },
  },
  { files: ['libs/config/app-config.ts', 'test/support/**', 'bench/**'], rules: { 'no-restricted-properties': 'off' } },
  { files: ['libs/storage/**', 'bench/**'], rules: { 'no-restricted-imports': 'off' } },
  { files: ['libs/queue/**'], rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['@aws-sdk/*'], message: 'Only libs/storage talks to S3.' }] }] } },
  { files: ['**/*.js'], languageOptions: { sourceType: 'module' } },
);
