import { defineConfig } from 'vitest/config';

/**
 * Three projects, run with `vitest run --project <name>`:
 * - unit: pure code, no network;
 * - integration: against DynamoDB Local, started once by the global setup;
 * - infrastructure: CDK assertions and cdk-nag on the synthesised stack.
 */
export default defineConfig({
  test: {
    // Two cores: one more worker than that only makes DynamoDB Local (Java) and
    // the tests fight for the CPU and turns generous timeouts into flakes.
    maxWorkers: 2,
    minWorkers: 1,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Some domain tests build 10,000- and 100,000-node maps; a shared CI machine can take seconds.
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'infrastructure',
          include: ['test/infrastructure/**/*.test.ts'],
          // Synthesising a stack bundles every handler with esbuild.
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
