import { setTimeout as realDelay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { scheduleBatches } from '../../../infra/embedded/batches';
import { VirtualClock } from '../../../infra/embedded/virtual-time';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const item = (id: string, ms: number, pad = 0) => ({ id, at: T0 + ms, pad: 'x'.repeat(pad) });
type Item = ReturnType<typeof item>;

describe('scheduleBatches', () => {
  it('sends each instant’s items together, in time order (ties in their given order), split by count and bytes, at their time', async () => {
    const clock = new VirtualClock(T0);
    const sent: Array<[number, string[]]> = [];
    const items = [item('c1', 2000), item('a1', 1000), item('c2', 2000), item('a2', 1000), item('a3', 1000), item('b1', 1500, 500), item('b2', 1500, 500), item('c3', 2000)];
    const batches = scheduleBatches(clock, items, {
      at: (i) => i.at,
      maxItems: 2,
      maxBytes: 600,
      send: async (batch: Item[]) => void sent.push([clock.now().getTime() - T0, batch.map((i) => i.id)]),
    });
    expect(batches.pending).toBe(8);
    await clock.run();
    batches.check();
    expect(sent).toEqual([
      [1000, ['a1', 'a2']],
      [1000, ['a3']],
      [1500, ['b1']], // b1 and b2 together are over 600 bytes
      [1500, ['b2']],
      [2000, ['c1', 'c2']],
      [2000, ['c3']],
    ]);
    expect([batches.handled, batches.pending]).toEqual([8, 0]);
  });

  it('holds the clock until a batch is answered, however long that takes in real time', async () => {
    const clock = new VirtualClock(T0);
    const log: string[] = [];
    scheduleBatches(clock, [item('a', 0)], {
      at: (i) => i.at,
      send: async () => {
        await realDelay(30);
        log.push(`answered at +${clock.now().getTime() - T0}`);
      },
    });
    clock.schedule(T0 + 1, () => log.push(`next timer at +${clock.now().getTime() - T0}`));
    await clock.run();
    expect(log).toEqual(['answered at +0', 'next timer at +1']);
  });

  it('backs off on the clock between attempts, to the millisecond, letting timers due meanwhile run first', async () => {
    const clock = new VirtualClock(T0);
    const log: string[] = [];
    const batches = scheduleBatches(clock, [item('a', 0)], {
      at: (i) => i.at,
      send: async (_batch, attempt) => {
        log.push(`attempt ${attempt} at +${clock.now().getTime() - T0}`);
        if (attempt < 3) throw new Error('503');
      },
      retryIn: (_error, attempt) => 1000 * 2 ** (attempt - 1),
    });
    clock.schedule(T0 + 500, () => log.push('other timer at +500'));
    await clock.run();
    batches.check();
    expect(log).toEqual(['attempt 1 at +0', 'other timer at +500', 'attempt 2 at +1000', 'attempt 3 at +3000']);
    expect(batches.pending).toBe(0);
  });

  it('a batch that fails for good is thrown by check(), and the batches due after it are not sent', async () => {
    const clock = new VirtualClock(T0);
    const sent: string[] = [];
    const boom = new Error('the engine answered 500');
    const batches = scheduleBatches(clock, [item('a', 0), item('b', 10), item('c', 20)], {
      at: (i) => i.at,
      send: (batch) => {
        sent.push(batch[0]!.id);
        // Thrown at once, not rejected: it fails the batch all the same.
        if (batch[0]!.id === 'b') throw boom;
        return Promise.resolve();
      },
      retryIn: (_error, attempt) => (attempt < 2 ? 5 : undefined),
    });
    await clock.run();
    expect(sent).toEqual(['a', 'b', 'b']);
    expect(batches.failure).toBe(boom);
    expect(() => batches.check()).toThrow(boom);
    expect(batches.pending).toBe(0);
  });
});
