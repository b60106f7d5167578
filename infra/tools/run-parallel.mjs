#!/usr/bin/env node
// `node infra/tools/run-parallel.mjs test:unit check`: runs the named npm scripts at the same time and
// exits non-zero if any failed. The check (tsc and type-aware ESLint over one TypeScript program, infra/tools/check.mjs)
// runs on one core, and vitest leaves a core idle for part of its run (files waiting on child processes, a browser,
// real time): side by side on a 2-core machine they take little more than the longer of them instead of both in a row.
// The first script's output is printed as it comes (vitest's progress); each other script's output is printed
// whole, in the order given, once the first has ended and it has too (no interleaving).
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import process from 'node:process';

const scripts = process.argv.slice(2);
if (scripts.length === 0) {
  process.stderr.write('usage: node infra/tools/run-parallel.mjs <npm script> [<npm script> ...]\n');
  process.exit(2);
}
const npm = process.env.npm_execpath;
const runs = scripts.map(
  (name, index) =>
    new Promise((resolve) => {
      const started = Date.now();
      const live = index === 0;
      // The npm that runs this script (npm_execpath) runs the others, with the same Node.
      const stdio = ['ignore', live ? 'inherit' : 'pipe', live ? 'inherit' : 'pipe'];
      const child = npm ? spawn(process.execPath, [npm, 'run', name], { stdio }) : spawn('npm', ['run', name], { stdio });
      const output = [];
      child.stdout?.on('data', (chunk) => output.push(chunk));
      child.stderr?.on('data', (chunk) => output.push(chunk));
      child.once('error', (error) => resolve({ name, code: 1, output: [Buffer.from(`${error.message}\n`)], seconds: 0 }));
      child.once('close', (code, signal) => resolve({ name, code: code ?? (signal ? 1 : 0), output, seconds: (Date.now() - started) / 1000 }));
    }),
);
let failed = 0;
for (const run of runs) {
  const { name, code, output, seconds } = await run;
  process.stdout.write(`> ${name} (${seconds.toFixed(1)} s)${code === 0 ? '' : `: failed, exit ${code}`}\n`);
  process.stdout.write(Buffer.concat(output));
  if (code !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
