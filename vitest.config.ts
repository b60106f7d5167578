import { defineConfig } from 'vitest/config';

/**
 * The scenarios that also run on the twin (issue 13): the embedded engine with every AWS call of
 * its functions authorised by their roles in the synthesized template (tests/twin).
 */
export const TWIN_SCENARIOS = [
  'tests/integration/journeys.test.ts',
  'tests/integration/profile-alias.test.ts',
  'tests/integration/erasure-race.test.ts',
  'tests/integration/consent-order.test.ts',
  'tests/integration/ingest.test.ts',
  'tests/integration/profile.test.ts',
  'tests/integration/reliability/channel-failure.test.ts',
  'tests/integration/reliability/step-functions.test.ts',
  'tests/integration/wait-for-order.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: {
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_DEV: 'false',
    },
    projects: [
      { extends: true, test: { name: 'unit', include: ['tests/**/*.test.ts'], exclude: ['tests/twin/**'] } },
      { extends: true, test: { name: 'twin', include: ['tests/twin/**/*.test.ts', ...TWIN_SCENARIOS], globalSetup: ['tests/twin/global-setup.ts'] } },
    ],
  },
});
