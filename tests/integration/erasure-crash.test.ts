/**
 * Found by the audit of issue 10 ("no file of the data folder holds the customer's id, email ..."; README, Privacy: erasure:
 * "dynalite's files [are clean] once the engine has stopped"). The engine rewrites dynalite's LevelDB files
 * with live entries only on a clean stop after an erasure, because a compaction may leave a deleted value in
 * a table file (infra/embedded/engine.ts: `dynamo.close({ rewrite: erasedSinceStart })`). `erasedSinceStart`
 * lives in memory: if the engine is killed after DELETE answered (a crash, an OOM kill, a laptop's power),
 * the engine restarted on the same folder and stopped cleanly does not rewrite, and the erased customer's
 * data stays in the files for good (until LevelDB happens to compact that range). Fixed: the rewrite owed is
 * a marker file in the data folder, written before the erasure answers, removed after a clean stop's rewrite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { filesNaming } from '../helpers/data-folder';
import { startTestEngine, TEST_SECRET } from '../helpers/engine';
import { startEngineProcess } from '../helpers/engine-process';
import { eventually } from '../helpers/journeys';
import { post, signedRequest } from '../helpers/webhook';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const ID = 'aud-crash-7751';
const EMAIL = 'aud.crash.7751@example.org';

describe('an erasure, then a crash', () => {
  it('leaves no file naming the customer once the engine restarted and stopped cleanly', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-audit-erasure-crash-'));
    dirs.push(dataDir);
    const first = await startEngineProcess(dataDir);
    try {
      const events = [
        { type: 'identify', userId: ID, traits: { email: EMAIL, name: 'Aud Crash' } },
        ...Array.from({ length: 20 }, (_, i) => ({ type: 'track', userId: ID, event: 'Product Viewed', properties: { productId: `p-${i}`, note: EMAIL } })),
        { type: 'identify', userId: 'aud-crash-stays', traits: { email: 'stays.7751@example.org' } },
      ];
      const res = await post(`${first.url}/v1/events`, signedRequest(TEST_SECRET, { batch: events }));
      expect(res.status, res.text).toBe(202);
      await eventually(async () => (await fetch(`${first.url}/v1/customers/${ID}`)).status === 200 && ((await (await fetch(`${first.url}/v1/customers/${ID}`)).json()) as { stats: { eventCount: number } }).stats.eventCount === 21, 'profile applied', 60_000);
      const erased = await fetch(`${first.url}/v1/customers/${ID}`, { method: 'DELETE' });
      expect(erased.status).toBe(200);
    } finally {
      await first.kill();
    }

    const again = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT' });
    expect((await fetch(`${again.url}/v1/customers/${ID}`)).status).toBe(404);
    await again.stop();
    expect(filesNaming(dataDir, [ID, EMAIL])).toEqual([]);
  }, 180_000);
});
