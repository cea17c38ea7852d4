import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Dependencies point one way: core <- app (use cases, their ports and errors) <- adapters
// (outbound), and app <- the entry side (handlers, inbound protocols, local, lib). A wrong-way
// import fails lint, which `npm test` runs (test/architecture/layers.test.ts).
const ENTRY_SIDE = [
  '**/handlers/**',
  '**/handlers',
  '**/inbound/**',
  '**/inbound',
  '**/local/**',
  '**/lib/**',
  '**/bin/**',
];
const layer = (message, group) => ({
  'no-restricted-imports': ['error', { patterns: [{ group, message }] }],
});

export default tseslint.config(
  { ignores: ['node_modules', 'cdk.out', 'coverage', '.local', 'client/dist', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `const { hash: _hash, ...rest } = record` leaves a field out on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { varsIgnorePattern: '^_', argsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['lambdas/**/*.ts', 'lib/**/*.ts', 'bin/**/*.ts', 'local/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  {
    files: ['lambdas/core/**/*.ts'],
    rules: layer('The core is pure: it imports nothing but itself and libraries.', [
      '**/app/**',
      '**/adapters/**',
      '**/compliance/**',
      ...ENTRY_SIDE,
      'node:fs',
      'node:fs/*',
      'node:net',
      'node:http',
      'node:https',
      'node:child_process',
      '@aws-sdk/*',
    ]),
  },
  {
    files: ['lambdas/app/**/*.ts'],
    rules: layer('Use cases depend on ports they own, never on adapters or the entry side.', [
      '**/adapters/**',
      '**/compliance/**',
      ...ENTRY_SIDE,
    ]),
  },
  {
    // esbuild cannot shake `import { z }` (zod's namespace as one value): every locale came along,
    // 260 KB compiled at each cold start. Property accesses on `import * as z` are shaken.
    files: ['lambdas/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value='zod'] ImportSpecifier[imported.name='z']",
          message: "Import zod as `import * as z from 'zod'`, so the bundle leaves out what is unused.",
        },
      ],
    },
  },
  {
    files: ['lambdas/adapters/**/*.ts'],
    rules: layer(
      'Outbound adapters implement ports: from app/ they take only ports and errors, and never the entry side.',
      ['**/app/*', '!**/app/ports', '!**/app/errors', '**/compliance/**', ...ENTRY_SIDE],
    ),
  },
);
