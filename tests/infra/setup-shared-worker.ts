import { afterAll, beforeAll } from 'vitest';
import { resetEventIds } from '../helpers/events';
import { removeAssemblies } from './synth';

/**
 * Setup file of the `cdk` project (vitest.config.ts), run for every file: its files share a worker's modules
 * (isolate: false), so tests/infra/synth.ts and the helpers are evaluated once per worker. This removes the
 * file's cloud assemblies when it ends, as synth.ts's own `afterAll` does where each file has its own modules,
 * and resets what a helper counts per process.
 */
beforeAll(resetEventIds);
afterAll(removeAssemblies);
