/**
 * `rapport` on the command line (`npm run rapport -- <command>`, or the
 * `rapport.mjs` launcher): runs a command with the process's streams, then
 * exits with its code (0 ok, 1 failed, 2 usage, 3 engine unreachable).
 */
import { run } from './run';

// The embedded engine's Powertools: no metrics output, only errors (a simulation prints its own report).
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

const code = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
// Exit once the output is flushed: a simulation may leave timers of stopped runs behind.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
