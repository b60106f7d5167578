import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The scenarios that also run on the twin (issue 13): the embedded engine with every AWS call of
 * its functions authorised by their roles in the synthesized template (tests/twin). They run in the
 * `twin` project with tests/twin's files but TWIN_BUNDLE_TESTS, sharing a worker's modules (isolate:
 * false) as they do in the `engine` project: the engine's module graph and the IAM simulator load once
 * per worker instead of once per file. These 20 files, 2 cores, load 6–7 (2026-12-07): 71.8 s of CPU
 * with a process per file, 42.5 s sharing a worker; tests/twin's six others, load 3–5: 32.3 s, 25.6 s.
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
  'tests/integration/ses-feedback.test.ts',
  'tests/integration/suppression-hold.test.ts',
  // An address's holds: written by ingest and the SES feedback function, read by the step, deleted by erasure.
  'tests/integration/unsubscribed-address-other-record.test.ts',
  // An address's denial the profile consumer records (an unsubscribe accepted before the identify bringing the address applied).
  'tests/integration/unsubscribe-before-address-known.test.ts',
  // An erased id's late denial leaves the address denied for the record still having it (ingest); erasures of every record with an address at once free it.
  'tests/integration/late-denial-keeps-address-denial.test.ts',
  // An erased record's late complaint (SES feedback) and late denial (consumer) kept for a live record with the address: GSI3 read.
  'tests/integration/late-complaint-erased-shared.test.ts',
  'tests/integration/late-denial-races-live-denial.test.ts',
  // A tool's bounce suppresses the address it names (ingest); a topic left for the address (ingest, step, erasure).
  'tests/integration/tool-bounce-after-move.test.ts',
  'tests/integration/topic-leave-shared-address.test.ts',
  'tests/integration/parallel-erasures-free-address.test.ts',
  // A phone number's holds (SMS, WhatsApp): its holders listed under it, read strongly consistently by erasure.
  'tests/integration/shared-phone-stop.test.ts',
  'tests/integration/broadcasts.test.ts',
  'tests/integration/broadcast-cursor-erasure.test.ts',
  'tests/integration/erasure-interrupted-finished-by-sweep.test.ts',
  // Cross-sell: the consumer's counts and the step's reads of them, under the roles the stack grants.
  'tests/integration/cross-sell.test.ts',
  // Visitor ids past the profile's list: the evicted visitor's mark (consumer) and its denial's hold under the customer (ingest).
  'tests/integration/visitor-cap-evicts-oldest.test.ts',
  // A customer found gone by a hold's writer (ingest) or a failed profile write (consumer): the address settled as the
  // erasure settles it (listing, holders by listing and GSI3, the address's items, the pointer).
  'tests/integration/late-denial-keeps-former-address-found.test.ts',
  'tests/integration/failed-write-keeps-former-address-found.test.ts',
  'tests/integration/erasure-rechecks-late-holder.test.ts',
  // A dropped event's undo takes back only the holds it caused: ingest carries a replaced restriction's causes over
  // (a put), the consumer adds its events to a restriction its write was refused over (an update).
  'tests/integration/retried-drop-keeps-replaced-denial.test.ts',
  'tests/integration/retried-drop-takes-new-life-bounce.test.ts',
];

/**
 * The twin's files that load functions' bundles into their process (environment, `Date`, the HTTP agent; see
 * tests/twin/bundles.ts): the `twin-bundles` project, a process per file.
 */
export const TWIN_BUNDLE_TESTS = ['tests/twin/all-bundles.test.ts', 'tests/twin/bundled-step.test.ts'];

/**
 * The CDK tests: each synthesises stacks and asserts on the templates (no engine, no handler, no environment
 * read at import). They run in the `cdk` project, whose files share a worker's modules (isolate: false), so
 * aws-cdk-lib (seconds to import) is loaded once per worker instead of once per file. The handler tests of
 * tests/infra (aws-*.test.ts, metrics-stage.test.ts: environment stubbed before a handler loads) are HANDLER_TESTS.
 */
export const CDK_TESTS = [
  'tests/infra/app.test.ts',
  'tests/infra/broadcasts-stack.test.ts',
  'tests/infra/channels-stack.test.ts',
  'tests/infra/bundles.test.ts',
  'tests/infra/cfn-lint.test.ts',
  'tests/infra/feedback-stack.test.ts',
  'tests/infra/firewall.test.ts',
  'tests/infra/journey-stacks.test.ts',
  'tests/infra/ingest-stack.test.ts',
  'tests/infra/journeys-stack.test.ts',
  'tests/infra/logical-ids.test.ts',
  'tests/infra/nag.test.ts',
  'tests/infra/observability-stack.test.ts',
  'tests/infra/profile-stack.test.ts',
  'tests/infra/props.test.ts',
  'tests/infra/scale.test.ts',
  'tests/infra/stages.test.ts',
  'tests/infra/topology.test.ts',
];

/**
 * The handler tests of tests/infra: each sets the environment a function reads at load (vi.stubEnv) and imports its
 * handler afresh (vi.resetModules), against local stand-ins of the AWS APIs. They run in the `handlers` project,
 * whose files share a worker (isolate: false): its setup file gives each file a fresh registry of the repository's
 * modules and restores the environment, mocks and timers after it, so node_modules (the AWS SDK, Powertools)
 * load once per worker instead of once per file. These 17 files, 2 cores, load 5–7 (2026-12-07): 73.6 s of CPU
 * with a process per file, 30.2 s sharing a worker.
 */
export const HANDLER_TESTS = ['tests/infra/aws-*.test.ts', 'tests/infra/metrics-stage.test.ts'];

/**
 * The unit tests that start no engine (tests/unit but its embedded/ folder: the engine's parts, process-wide
 * caches and fake timers): pure functions, dynalite at most. They run in the `pure` project, whose files share
 * a worker's modules (isolate: false): a worker per core for all of them instead of a process per file.
 */
const PURE_UNIT_TESTS = ['tests/unit/*.test.ts', 'tests/unit/!(embedded)/**/*.test.ts'];

/**
 * The scenario tests: each file starts its own engines (dynalite, the bus, the executor) on virtual time and stops
 * them. They run in the `engine` project, whose files share a worker's modules (isolate: false): the engine's
 * module graph (the AWS SDK, dynalite, the journeys' compiler) is loaded once per worker instead of once per file,
 * and its process-wide caches stay warm. A file that stubs a module's export or the process's output restores it
 * (vi.restoreAllMocks) before it ends. A stopped engine must be garbage: nothing process-wide may keep it
 * (tests/unit/embedded/stopped-engine-collected.test.ts). Measured on 2 cores, 206 files, 2026-12-07 (the machine
 * shared, load 7–16): `vitest run --project engine` 465 s, 329 s of CPU; the same files isolated 1,037 s, 604 s of CPU.
 */
const ENGINE_TESTS = ['tests/integration/**/*.test.ts', 'tests/cli/**/*.test.ts', 'tests/demo/**/*.test.ts'];

/**
 * The files that take longest, longest first (seconds in a full run on 2 cores, load ~9, 2026-12-06): they start
 * before every other file, so that the last minutes of a run are not one worker alone on a long file. Vitest's own
 * order (the durations of the last run, or the largest files first on a clean clone such as CI's) puts
 * duplicates.test.ts, most of a run's time on one worker, wherever its size falls.
 */
export const LONGEST_FIRST = [
  'tests/integration/reliability/duplicates.test.ts', // 475 s: 10,000 deliveries through one engine
  'tests/twin/all-bundles.test.ts', // 75 s: the stack synthesized with every bundle
  'tests/demo/demo.test.ts', // 47 s
  'tests/integration/durable-executions.test.ts', // 46 s: engines as child processes, real time
];

/**
 * aws-cdk-lib's built-in CloudFormation validation (a WASM engine run at every synth since 2.27x) is off in tests:
 * it costs seconds of CPU to start in each process that synthesizes and more for each template, and by default it
 * only writes warnings to a report in the cloud assembly (its errors are downgraded; synth never fails on them),
 * which no test reads. What the tests check of the templates (assertions, cdk-nag, cfn-lint) is unchanged.
 * Also set by the twin's global setup, which synthesizes in vitest's own process.
 */
export const NO_BUILTIN_CFN_VALIDATION = { CDK_VALIDATION: 'false' } as const;

class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const index = LONGEST_FIRST.findIndex((file) => spec.moduleId.endsWith(`/${file}`));
      return index === -1 ? LONGEST_FIRST.length : index;
    };
    // Stable: the listed files first (each project's copy of one), every other file in vitest's order.
    return sorted.map((spec, position) => ({ spec, position })).sort((a, b) => rank(a.spec) - rank(b.spec) || a.position - b.position).map(({ spec }) => spec);
  }
}

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Vitest's default for `vitest run` is one worker per core less one: a single worker on the 2-core
    // machines CI and the team use, so every file waited for the one before it. Most files spend much of
    // their time waiting (child processes starting, engines answering over HTTP), so a worker per core
    // keeps both busy; the engine tests run on virtual time, which the load of the other worker cannot skew.
    // The `engine`, `cdk` and `pure` projects share a worker's modules between files (see ENGINE_TESTS, CDK_TESTS,
    // PURE_UNIT_TESTS), the `handlers` project a worker (HANDLER_TESTS); the other files (tests/ui, tests/unit/embedded,
    // the rest of tests/infra that is not CDK_TESTS) keep their own process (isolate, forks).
    maxWorkers: Math.max(2, availableParallelism()),
    sequence: { sequencer: LongestFirstSequencer },
    env: {
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_DEV: 'false',
      ...NO_BUILTIN_CFN_VALIDATION,
    },
    projects: [
      { extends: true, test: { name: 'unit', include: ['tests/**/*.test.ts'], exclude: ['tests/twin/**', ...CDK_TESTS, ...HANDLER_TESTS, ...PURE_UNIT_TESTS, ...ENGINE_TESTS] } },
      { extends: true, test: { name: 'handlers', include: HANDLER_TESTS, isolate: false, setupFiles: ['tests/infra/setup-handler-worker.ts'] } },
      { extends: true, test: { name: 'engine', include: ENGINE_TESTS, isolate: false, setupFiles: ['tests/unit/setup-shared-worker.ts'] } },
      { extends: true, test: { name: 'pure', include: PURE_UNIT_TESTS, isolate: false, setupFiles: ['tests/unit/setup-shared-worker.ts'] } },
      { extends: true, test: { name: 'cdk', include: CDK_TESTS, isolate: false, setupFiles: ['tests/infra/setup-shared-worker.ts'] } },
      // Both twin projects name the same global setup: the stack is synthesized once for them (tests/twin/global-setup.ts).
      {
        extends: true,
        test: {
          name: 'twin',
          include: ['tests/twin/**/*.test.ts', ...TWIN_SCENARIOS],
          exclude: TWIN_BUNDLE_TESTS,
          isolate: false,
          setupFiles: ['tests/unit/setup-shared-worker.ts'],
          globalSetup: ['tests/twin/global-setup.ts'],
        },
      },
      { extends: true, test: { name: 'twin-bundles', include: TWIN_BUNDLE_TESTS, globalSetup: ['tests/twin/global-setup.ts'] } },
    ],
  },
});
