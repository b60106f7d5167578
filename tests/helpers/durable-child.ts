import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Engine } from '../../infra/embedded/engine';
import { eventually } from './journeys';

const FIXTURE = join(import.meta.dirname, '..', 'integration', 'fixtures', 'durable-engine.ts');
const children: ChildProcess[] = [];

/** Kill every child `startDurableChild` started that is still running (an `afterEach` of a crash test). */
export function killDurableChildren(): void {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export interface DurableChild {
  /** The engine's URL only (it runs in another process). */
  engine: Engine;
  /** Lines the engine printed so far. */
  lines: string[];
  /** SIGKILL: no shutdown, no flush; resolves once the process is gone. */
  kill(): Promise<void>;
}

/**
 * The durable fixture engine (tests/integration/fixtures/durable-engine.ts, its environment documented
 * there) as a child process on `dataDir`; resolves once it listens.
 */
export async function startDurableChild(dataDir: string, env: Record<string, string>): Promise<DurableChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { env: { ...process.env, DURABLE_DATA_DIR: dataDir, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await eventually(() => lines.find((l) => l.startsWith('READY ')) ?? (child.exitCode !== null && 'exited'), 'the engine to listen', 40_000);
  if (ready === 'exited') throw new Error(`the engine exited with ${child.exitCode}`);
  return {
    engine: { url: ready.slice('READY '.length) } as Engine,
    lines,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
