/**
 * Stopping the engine lets its process end, also with runs waiting for an event: a
 * stopped execution's callback task leaves no timer behind (it used to keep the
 * process alive for the wait's timeout, in real time: `npm run cost` hung after
 * printing its figures).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('engine stop', () => {
  it('ends the process although a run was waiting for an event', () => {
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'engine-stop.ts')], { encoding: 'utf8', timeout: 60_000 });
    expect(child.stdout).toContain('running: ["running"]');
    expect(child.stdout).toContain('stopped');
    expect(child.signal, 'the process had to be killed: something kept it alive after stop').toBeNull();
    expect(child.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(45_000);
  }, 70_000);
});
