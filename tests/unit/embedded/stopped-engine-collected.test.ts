/**
 * A stopped engine is garbage: nothing process-wide keeps its stores. Test files that share a worker (isolate: false)
 * start and stop engines one after the other in one process; an engine kept alive by the process keeps its whole
 * dynalite store (every item, as Buffers: 1.1 GB of ArrayBuffers after the 10,000-event reliability test) for the
 * rest of the worker's life.
 *
 * How it broke: the AWS SDK reads the shared config files (~/.aws/config, ~/.aws/credentials) once per process and
 * keeps the read's promise (@smithy/core's `filePromises`). Without those files (CI, a bare machine) the promise is
 * rejected with ENOENT, and the Error's captured async stack holds the closures of the calls that were waiting on
 * the read: those of the first in-process client's configuration lookups, whose context holds that client's
 * configuration, its request handler and, through it, the engine's dynalite store. The first engine of a process
 * was never collected.
 *
 * Fix: in-process.ts starts that read when it is loaded, outside any engine, and the engine's clients wait for it
 * (`sharedConfigFilesRead`), so the kept promise's stack holds no engine.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';

// Before the SDK is loaded: no shared config files, as on CI, whatever this machine's home holds.
vi.hoisted(() => {
  // (vi.hoisted runs before the imports: no `join` here.)
  const missing = `${process.cwd()}/.no-aws-config-${process.pid}-${Date.now()}`;
  process.env.AWS_CONFIG_FILE = `${missing}/config`;
  process.env.AWS_SHARED_CREDENTIALS_FILE = `${missing}/credentials`;
});

import { startTestEngine } from '../../helpers/engine';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Start an engine, write through it, stop it: a weak reference to its DynamoDB client's request handler (which holds the store). */
async function startedAndStopped(customer: string): Promise<WeakRef<object>> {
  const engine = await startTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });
  const res = await fetch(`${engine.url}/v1/customers/${customer}`);
  expect(res.status).toBe(404);
  const handler = (engine.dynamo.client.config as { requestHandler: object }).requestHandler;
  await engine.stop();
  return new WeakRef(handler);
}

/** Collected once the current job's WeakRef targets are released (the next macrotask) and a full GC ran. */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    if (ref.deref() === undefined) return true;
  }
  return false;
}

describe('a stopped engine', () => {
  it('is collected: the first engine of the process, and the next one', async () => {
    const first = await startedAndStopped('first');
    const second = await startedAndStopped('second');
    expect(await collected(second), 'the second engine').toBe(true);
    expect(await collected(first), 'the first engine of the process').toBe(true);
  });
});
