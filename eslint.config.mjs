// ESLint 9 flat config: type-aware rules catch real bugs in async network
// and crypto code; per-folder import limits keep the pure core pure.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const pureFolders = [
  'src/core/**',
  'src/verify/**',
  'src/keys/**',
  'src/tlog/merkle.ts',
  'src/tlog/checkpoint.ts',
  'src/tlog/entry.ts',
  'src/oci/reference.ts',
  'src/oci/types.ts',
  'src/oci/cosign-layout.ts',
];

export default tseslint.config(
  {
    ignores: ['dist/**', 'build-*/**', 'node_modules/**', 'eslint.config.mjs'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              name: ['describe', 'it', 'test', 'suite'],
              package: 'node:test',
            },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_' },
      ],
      'no-console': 'error',
    },
  },
  {
    files: ['src/cli/**', 'tests/**', 'bench/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: pureFolders,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            'node:http',
            'node:https',
            'node:net',
            'node:fs',
            'node:fs/promises',
            'node:child_process',
            'undici',
          ],
          patterns: ['**/cli/**'],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'fetch'],
    },
  }
);
