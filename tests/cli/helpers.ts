import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
/** The `rapport` bin (package.json), as `npx rapport` runs it. */
export const BIN = join(ROOT, 'infra', 'cli', 'rapport.mjs');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `rapport <argv>` as a child process (node on the bin, which registers
 * tsx), in `cwd` (the repository by default), so exit codes and the two
 * streams are the real ones. The environment is a clean one: not the
 * developer's engine settings.
 */
export function cli(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const env = cleanEnv(options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], { cwd: options.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Run `rapport <argv>` in this process: `run()`, what the bin calls once it has registered tsx, with
 * the same clean environment and `cwd` as `cli()`, and the two streams and the exit code it returns.
 * For tests of what a command prints and answers; the bin itself (exit codes as the shell sees them,
 * the Node check, the streams of a real process) stays covered by the tests that use `cli()`.
 * Saves the seconds a child takes to start tsx and load the compiler.
 */
export async function cliInProcess(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const { run } = await import('../../infra/cli/run');
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, cwd: options.cwd ?? ROOT, env: cleanEnv(options.env) });
  return { code, stdout, stderr };
}

function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, ...extra };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return env;
}

/** Per test: child processes start tsx and load the compiler; on a loaded 2-core CI machine that takes seconds. */
export const CHILD_PROCESS_TIMEOUT = 60_000;
/** Per test: an engine starts and a simulated span of hours runs at a scale that leaves seconds of slack. */
export const SIMULATION_TIMEOUT = 120_000;

export const lines = (text: string) => text.split('\n').filter((l) => l !== '');

/** A string as a literal in a RegExp. */
export const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
