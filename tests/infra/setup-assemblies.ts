import { afterAll } from 'vitest';
import { removeAssemblies } from './synth';

/**
 * Setup file of the `cdk` project (vitest.config.ts): its files share modules in a worker (isolate: false),
 * so tests/infra/synth.ts is evaluated once per worker; this runs for every file and removes the file's
 * cloud assemblies when it ends, as synth.ts's own `afterAll` does where each file has its own modules.
 */
afterAll(removeAssemblies);
