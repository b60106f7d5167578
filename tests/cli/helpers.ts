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
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, ...options.env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
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

/** Per test: child processes start tsx and load the compiler; on a loaded 2-core CI machine that takes seconds. */
export const CHILD_PROCESS_TIMEOUT = 60_000;
/** Per test: an engine starts and a simulated span of hours runs at a scale that leaves seconds of slack. */
export const SIMULATION_TIMEOUT = 120_000;

export const lines = (text: string) => text.split('\n').filter((l) => l !== '');

/** A string as a literal in a RegExp. */
export const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
