#!/usr/bin/env node
// The `rapport` command (package.json "bin", so `npx rapport` in the repository runs it):
// checks the Node version, registers tsx (the repository's TypeScript runs as is) and starts the CLI.
import process from 'node:process';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`rapport: needs Node 24 or later, this is ${process.version}; run it as \`npx rapport\` or \`npm run rapport --\` in the repository (they use the project's Node)\n`);
  process.exit(2);
}
const { register } = await import('tsx/esm/api');
register();
await import('./main.ts');
