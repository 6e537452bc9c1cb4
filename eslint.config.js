import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// sharp, fluent-ffmpeg and exif-reader are used by one file only (libs/media/media.repository.ts),
// which also is the only code in libs/media that spawns ffmpeg, ffprobe or heif-convert.
const MEDIA_TOOLS = { group: ['sharp', 'fluent-ffmpeg', 'exif-reader'], message: 'Only libs/media/media.repository.ts uses sharp, fluent-ffmpeg and exif-reader; ask libs/media.' };

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
            MEDIA_TOOLS,
          ],
        },
      ],
    },
  },
  { files: ['libs/config/app-config.ts', 'test/support/**', 'bench/**'], rules: { 'no-restricted-properties': 'off' } },
  { files: ['libs/storage/**', 'bench/**'], rules: { 'no-restricted-imports': 'off' } },
  { files: ['libs/queue/**'], rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['@aws-sdk/*'], message: 'Only libs/storage talks to S3.' }, MEDIA_TOOLS] }] } },
  {
    files: ['libs/media/**'],
    ignores: ['libs/media/media.repository.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'node:child_process', message: 'Only libs/media/media.repository.ts spawns tools.' },
            { name: 'child_process', message: 'Only libs/media/media.repository.ts spawns tools.' },
          ],
          patterns: [
            { group: ['@aws-sdk/*', '@smithy/*'], message: 'Only libs/storage talks to S3.' },
            { group: ['bullmq'], message: 'Only libs/queue talks to BullMQ.' },
            MEDIA_TOOLS,
          ],
        },
      ],
    },
  },
  {
    files: ['libs/media/media.repository.ts'],
    rules: {
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
  { files: ['**/*.js'], languageOptions: { sourceType: 'module' } },
);
