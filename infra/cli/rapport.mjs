#!/usr/bin/env node
// The `rapport` command: registers tsx (the repository's TypeScript runs as is) and starts the CLI.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
