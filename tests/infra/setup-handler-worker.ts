import { afterAll, beforeAll, vi } from 'vitest';
import { resetEventIds } from '../helpers/events';

/**
 * Setup file of the `handlers` project (vitest.config.ts), run for every file: its files share a worker (isolate:
 * false), where a file had a process of its own. Each file starts from a fresh registry of the repository's modules
 * (a handler and what it reads at load evaluated afresh, as in a process of its own; only node_modules stay loaded)
 * and leaves the process as it found it: environment, mocks of the process's output, timers.
 */
vi.resetModules();
beforeAll(resetEventIds);
afterAll(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});
