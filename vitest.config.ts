import { defineConfig } from 'vitest/config';

// Two tiers (STYLE.md §7): unit tests sit beside the code and need nothing running; integration tests live in
// test/ folders and run against the real servers that the global setup starts once (or reuses).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // ESLint and the workflow bundle load slowly on a busy 2-core machine; 5 s is not enough there.
          testTimeout: 30_000,
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'workflows/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.int.test.ts', 'services/*/test/**/*.int.test.ts', 'workflows/test/**/*.int.test.ts'],
          environment: 'node',
          globalSetup: ['packages/testkit/src/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // The real servers are shared: files run one after another in one fork so they do not fight over them.
          // Modules are fresh per file, but process-wide globals (OpenTelemetry's) are not: code must not rely on them.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true, isolate: true } },
        },
      },
    ],
  },
});
