import { beforeAll } from 'vitest';
import { resetEventIds } from '../helpers/events';

/**
 * Setup file of the `pure` project (vitest.config.ts), run for every file: its files share a worker's modules
 * (isolate: false), so what a helper module counts per process is reset per file, as in a file of its own.
 */
beforeAll(resetEventIds);
