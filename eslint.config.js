import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

// Workflow code runs in Temporal's deterministic sandbox: no Node modules, no NATS client, no kernel kit, no
// logger but the workflow's own (STYLE.md §4). Activities are imported as types only.
const forbiddenInWorkflows = [
  ...builtinModules.flatMap((name) => [name, `node:${name}`]),
  'nats',
  '@nats-io/*',
  '@kernos/service-kit',
  '@kernos/telemetry',
  '@temporalio/worker',
  '@temporalio/client',
  '@temporalio/activity',
  'openai',
  'neo4j-driver',
];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'packages/wire/src/gen/**', '.kernos/**', 'tools/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/src/workflows/**/*.ts', 'workflows/src/sdk/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: forbiddenInWorkflows, message: 'Workflow code must be deterministic: no Node modules or I/O clients (STYLE.md §4).' },
            { group: ['**/activities/**'], allowTypeImports: true, message: 'Import activities as types only (import type).' },
          ],
        },
      ],
    },
  },
);
