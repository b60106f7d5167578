/**
 * A hot customer: many events for one customer at once (one big batch, concurrent
 * batches) are all applied, once each, with no dead letters; and replays change
 * nothing whatever the events' timestamps (equal ones included). Driven through
 * the engine's HTTP API; redeliveries are put on the bus as EventBridge does.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redeliverIngested, useTestEngine } from '../helpers/engine';

const t = useTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });

const T0 = Date.UTC(2026, 10, 2, 9);
const order = (userId: string, n: number, at: string) => ({
  type: 'track',
  userId,
  event: 'Order Completed',
  messageId: `${userId}-o${n}`,
  timestamp: at,
  properties: { orderId: `${userId}-o${n}`, revenue: 1, currency: 'EUR' },
});
const deadLettersOf = async (userId: string) => {
  const { json } = await t.api.get('/v1/admin/dead-letters');
  return (json.deadLetters as unknown as Array<{ event: { detail: { userId?: string } } }>).filter((d) => d.event.detail.userId === userId);
};
const timelineCount = async (userId: string) => {
  const { json } = await t.api.get(`/v1/customers/${userId}/events?limit=1000`);
  return (json.events as unknown as unknown[]).length;
};

describe('a hot customer', () => {
  it('one signed batch of 500 orders for one customer: 500 orders applied, 0 dead letters', async () => {
    const batch = Array.from({ length: 500 }, (_, i) => order('hot-1', i, new Date(T0 + i * 1000).toISOString()));
    const { accepted } = await t.api.sendAndSettle(batch);
    expect(accepted).toHaveLength(500);

    const profile = await t.api.customer('hot-1');
    expect(await deadLettersOf('hot-1')).toEqual([]);
    expect(profile.stats.orderCount).toBe(500);
    expect(profile.stats.eventCount).toBe(500);
    expect(profile.stats.totalRevenue).toBe(500);
  }, 120_000);

  it('concurrent batches for one customer, with redeliveries among them: every event applied once, 0 dead letters', async () => {
    const batches = Array.from({ length: 4 }, (_, b) => Array.from({ length: 150 }, (_, i) => order('hot-2', b * 150 + i, new Date(T0 + (b * 150 + i) * 1000).toISOString())));
    await Promise.all(batches.map((batch) => t.api.send(batch)));
    // While the consumer works through them, EventBridge redelivers 50 of them (at least once, in no order).
    const ingested = t.engine.bus.log.filter((e) => e.source === 'rapport.ingest' && (e.detail as { userId?: string }).userId === 'hot-2');
    for (let i = 0; i < 50; i += 10) {
      t.engine.bus.putEvents(ingested.slice(i * 7, i * 7 + 10).map((e) => ({ Source: e.source, DetailType: e['detail-type'], Detail: JSON.stringify(e.detail), Time: new Date(e.time) })));
    }
    await t.engine.settle();

    const profile = await t.api.customer('hot-2');
    expect(await deadLettersOf('hot-2')).toEqual([]);
    expect(profile.stats.orderCount).toBe(600);
    expect(profile.stats.eventCount).toBe(600);
  }, 120_000);

  it('250 orders with one timestamp, then 3 of them redelivered on the bus: still 250', async () => {
    const at = new Date(T0).toISOString();
    const orders = Array.from({ length: 250 }, (_, i) => order('hot-3', i, at));
    // In small batches, one after the other: this case is about replays, not contention.
    for (let i = 0; i < orders.length; i += 10) await t.api.sendAndSettle(orders.slice(i, i + 10));
    expect((await t.api.customer('hot-3')).stats.orderCount).toBe(250);

    for (const n of [0, 1, 249]) await redeliverIngested(t.engine, `hot-3-o${n}`);

    const profile = await t.api.customer('hot-3');
    expect(profile.stats.orderCount).toBe(250);
    expect(profile.stats.eventCount).toBe(250);
    expect(await timelineCount('hot-3')).toBe(250);
    expect(await deadLettersOf('hot-3')).toEqual([]);
  }, 120_000);

  it('property: any orders at a few equal timestamps, sent shuffled, then redelivered in part and shuffled, count once each', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 210, max: 260 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
        fc.integer({ min: 1, max: 60 }),
        async (count, distinctTimes, revenues, redelivered) => {
          const userId = `hot-prop-${run++}`;
          const orders = Array.from({ length: count }, (_, i) => ({
            ...order(userId, i, new Date(T0 + (i % distinctTimes) * 60_000).toISOString()),
            properties: { orderId: `${userId}-o${i}`, revenue: revenues[i % revenues.length]! % 100, currency: 'EUR' },
          }));
          const shuffled = shuffle(orders, revenues);
          await Promise.all([0, 1, 2].map((b) => t.api.send(shuffled.filter((_, i) => i % 3 === b))));
          // At least once, in no order: some of them again on the bus while the first deliveries are applied.
          const ingested = t.engine.bus.log.filter((e) => e.source === 'rapport.ingest' && (e.detail as { userId?: string }).userId === userId);
          const again = shuffle(ingested, revenues).slice(0, redelivered);
          for (let i = 0; i < again.length; i += 10) {
            t.engine.bus.putEvents(again.slice(i, i + 10).map((e) => ({ Source: e.source, DetailType: e['detail-type'], Detail: JSON.stringify(e.detail), Time: new Date(e.time) })));
          }
          await t.engine.settle();

          const profile = await t.api.customer(userId);
          expect(await deadLettersOf(userId)).toEqual([]);
          expect(profile.stats.orderCount).toBe(count);
          expect(profile.stats.eventCount).toBe(count);
          expect(profile.stats.totalRevenue).toBe(orders.reduce((sum, o) => sum + o.properties.revenue, 0));
        },
      ),
      { numRuns: 2, seed: 11 },
    );
  }, 240_000);
});

/** A deterministic shuffle (the numbers drive it). */
function shuffle<T>(items: readonly T[], numbers: readonly number[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = numbers[i % numbers.length]! % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
