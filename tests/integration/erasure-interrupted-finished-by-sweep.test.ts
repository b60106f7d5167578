/**
 * An erasure that is interrupted and never retried (a failed DELETE nobody sent again; the consumer's erasure of a
 * visitor whose event was dead-lettered) is not left half done: the root's progress item is in GSI1 (`ERASING#<shard>`)
 * until it completes, and the sweep (AWS: the sweep Lambda; embedded: the same handler) finishes every erasure begun over
 * an hour before (`resumeInterruptedErasures`), one interrupted before its first tombstone too. The embedded engine
 * also finishes them at start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../infra/embedded/engine';
import type { DynamoCall } from '../../infra/embedded/faults';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { profileItemsNaming, startTestEngine } from '../helpers/engine';

describe('an erasure interrupted and never retried', () => {
  it('is finished by the sweep once it is over an hour old, even if no tombstone was written', async () => {
    const ID = 'sweep-erase-5531';
    const VISITOR = 'sweep-erase-visitor-5531';
    const EMAIL = 'sweep.erase.5531@example.org';
    const clock = new VirtualClock('2026-03-02T10:00:00Z');
    let failing = false;
    const engine = await startTestEngine({
      clock,
      sweepEveryMs: 0,
      logLevel: 'SILENT',
      faults: {
        // Every tombstone write fails: the progress items are in, no tombstone is.
        dynamo: (call: DynamoCall) => {
          const item = call.input.Item as Record<string, { S?: string }> | undefined;
          return failing && call.operation === 'PutItem' && item?.itemType?.S === 'tombstone' ? 'InternalServerError' : undefined;
        },
      },
    });
    try {
      const api = client(engine);
      await api.sendAndSettle({ type: 'identify', userId: ID, anonymousId: VISITOR, traits: { email: EMAIL } });
      failing = true;
      expect((await api.del(`/v1/customers/${ID}`)).status).toBeGreaterThanOrEqual(500);
      failing = false;
      expect(await profileItemsNaming(engine, [ID])).not.toEqual([]);

      // Not yet: an erasure under way may still be running.
      expect((await engine.sweep()).erasures).toBeUndefined();
      clock.advance(clock.now().getTime() + 2 * 3_600_000);
      await clock.idle();
      expect((await engine.sweep()).erasures).toEqual({ resumed: 1, failed: 0 });
      await engine.settle();
      expect(await profileItemsNaming(engine, [EMAIL, ID, VISITOR])).toEqual([]);
      expect((await engine.profiles.tombstone(ID, clock.now()))?.completedAt).toBeDefined();
    } finally {
      await engine.stop();
    }
  }, 90_000);

  it('is finished when the embedded engine starts again', async () => {
    const ID = 'start-erase-5532';
    const EMAIL = 'start.erase.5532@example.org';
    const dataDir = mkdtempSync(join(tmpdir(), 'rapport-erase-at-start-'));
    try {
      let failing = false;
      // Virtual time from now (the second engine runs at real time on the same folder): the failed deletes' retries
      // back off a real millisecond.
      const clock = new VirtualClock(Date.now());
      const first = await startTestEngine({
        dataDir,
        clock,
        sweepEveryMs: 0,
        logLevel: 'SILENT',
        faults: {
          // The erasure's deletes fail: its tombstones are written, it never completes.
          dynamo: (call: DynamoCall) => {
            const text = JSON.stringify(call.input);
            return failing && call.operation === 'BatchWriteItem' && text.includes(PROFILE_TABLE) && text.includes('DeleteRequest') && text.includes(`C#${ID}`) ? 'InternalServerError' : undefined;
          },
        },
      });
      await client(first).sendAndSettle({ type: 'identify', userId: ID, traits: { email: EMAIL } });
      failing = true;
      expect((await client(first).del(`/v1/customers/${ID}`)).status).toBeGreaterThanOrEqual(500);
      failing = false;
      expect(await first.profiles.tombstone(ID, clock.now()), 'the erasure began').toBeDefined();
      expect((await first.profiles.tombstone(ID, clock.now()))?.completedAt).toBeUndefined();
      await first.stop();

      const engine = await startTestEngine({ dataDir, sweepEveryMs: 0, logLevel: 'SILENT' });
      try {
        expect(await profileItemsNaming(engine, [EMAIL, ID])).toEqual([]);
        expect((await engine.profiles.tombstone(ID, new Date()))?.completedAt).toBeDefined();
      } finally {
        await engine.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
