// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', '.rapport/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-properties': [
        'error',
        { object: 'it', property: 'only', message: 'Do not commit focused tests.' },
        { object: 'describe', property: 'only', message: 'Do not commit focused tests.' },
        { object: 'test', property: 'only', message: 'Do not commit focused tests.' },
        { object: 'it', property: 'skip', message: 'Do not commit skipped tests.' },
        { object: 'describe', property: 'skip', message: 'Do not commit skipped tests.' },
        { object: 'test', property: 'skip', message: 'Do not commit skipped tests.' },
      ],
    },
  },
  {
    // Type-aware rules: a promise nobody awaits (or awaited where a value was
    // meant) loses errors and ordering silently; these are the bugs a
    // type-check alone cannot see.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    // @cloud-copilot/iam-simulate (and its iam-* packages) are AGPL: a devDependency for the twin test
    // tier only. No code that ships (functions, shared, workflows, infra, bench) may import them.
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    ignores: ['tests/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@cloud-copilot/*'], message: 'AGPL: @cloud-copilot packages are for tests only (tests/twin).' }] }],
    },
  },
  {
    // Dependencies point one way: nothing in functions/ or shared/ may import the CDK.
    files: ['functions/**/*.ts', 'shared/**/*.ts', 'workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'], message: 'Runtime code must not import the CDK.' },
            { group: ['@cloud-copilot/*'], message: 'AGPL: @cloud-copilot packages are for tests only (tests/twin).' },
          ],
        },
      ],
    },
  },
);
