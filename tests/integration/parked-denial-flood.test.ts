/**
 * Fixed (a group reads parked denials only where a new life is or begins in it). The break, from audit 8:
 * Audit 8 (issue 10, parked denials vs a hostile sender): every back-dated denial of an erased customer received after
 * the erasure, while they have no new life, is parked beside the tombstone, with no bound on how many. And each one is
 * parked by an attempt that first reads every denial parked for that customer so far (`parkedDenials`, before the
 * events are folded): N denials cost N²/2 item reads. A sender (or a replay) that floods an erased id with
 * `Unsubscribed` events (distinct messageIds, one batch request holds 500) makes the consumer's reads, time and
 * DynamoDB bill grow with the square, and leaves N items (each timed as long as the tombstone) for the comeback to
 * fold in and delete in one write.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { useTestEngine } from '../helpers/engine';

const clock = new VirtualClock('2026-03-02T10:00:00Z');
const t = useTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });

describe('a flood of back-dated denials of an erased customer', () => {
  it('costs item reads in proportion to the flood, not its square', async () => {
    const id = 'a8-park-flood';
    await t.api.send([{ type: 'identify', userId: id, traits: { email: `${id}@example.org` } }]);
    await clock.idle();
    const erasureBegan = clock.now().getTime();
    expect((await t.api.del(`/v1/customers/${id}`)).status).toBe(200);
    clock.advance(clock.now().getTime() + 60_000);
    await clock.idle();

    let itemsRead = 0;
    const store = t.engine.profiles;
    const original = store.parkedDenials.bind(store);
    store.parkedDenials = async (...args: Parameters<typeof original>) => {
      const parked = await original(...args);
      itemsRead += parked.length;
      return parked;
    };
    const N = 400;
    const at = new Date(erasureBegan - 1_000).toISOString();
    for (let i = 0; i < N; i += 100) {
      await t.api.send(Array.from({ length: 100 }, (_, j) => ({ type: 'track', userId: id, messageId: `${id}-${i + j}`, event: 'Unsubscribed', properties: { channel: 'email' }, timestamp: at })));
      await clock.idle();
    }
    await t.engine.settle();
    // Linear: a few reads of each parked denial at most.
    expect(itemsRead, `parked-denial items read to park ${N} denials`).toBeLessThanOrEqual(4 * N);
  }, 60_000);
});
