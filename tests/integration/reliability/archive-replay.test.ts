/**
 * A redelivery or an archive replay of an event older than the profile's
 * applied-message window (its last 200 messageIds) is still recognised: the
 * timeline, where every applied event is written, knows it. A genuinely new
 * event with an old timestamp still counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPLIED_MAX } from '../../../functions/profile';
import type { Engine } from '../../../infra/embedded/engine';
import { client } from '../../helpers/client';
import { redeliverIngested, startTestEngine } from '../../helpers/engine';

let engine: Engine;
let api: ReturnType<typeof client>;
beforeAll(async () => {
  engine = await startTestEngine({ sweepEveryMs: 0, logLevel: 'SILENT' });
  api = client(engine);
});
afterAll(() => engine.stop());

const base = Date.UTC(2026, 9, 1);
const at = (minute: number) => new Date(base + minute * 60_000).toISOString();
const order = (who: { userId?: string; anonymousId?: string }, n: number) => ({ type: 'track', ...who, event: 'Order Completed', messageId: `${who.userId ?? who.anonymousId}-o${n}`, timestamp: at(n), properties: { orderId: `o${n}`, revenue: 1, currency: 'EUR' } });

async function sendAll(events: unknown[]): Promise<void> {
  for (let i = 0; i < events.length; i += 100) await api.sendAndSettle(events.slice(i, i + 100));
}

describe('replays older than the applied-message window', () => {
  it('are not counted again, whether applied to the customer or to the visitor they were before', async () => {
    // Two orders as a visitor, the identify that merges them, then more orders than the window holds.
    await sendAll([order({ anonymousId: 'rp-visitor' }, 0), order({ anonymousId: 'rp-visitor' }, 1)]);
    await api.sendAndSettle({ type: 'identify', userId: 'rp-user', anonymousId: 'rp-visitor', messageId: 'rp-identify', timestamp: at(2), traits: { email: 'rp@example.com' } });
    await sendAll(Array.from({ length: APPLIED_MAX + 5 }, (_, n) => order({ userId: 'rp-user' }, n + 3)));
    const before = await api.customer('rp-user');
    expect(before.stats.orderCount).toBe(APPLIED_MAX + 7);

    await redeliverIngested(engine, 'rp-user-o3'); // the customer's first order, 205 messages back
    await redeliverIngested(engine, 'rp-visitor-o0'); // a visitor order, applied before the merge
    const after = await api.customer('rp-user');
    expect(after.stats.orderCount).toBe(before.stats.orderCount);
    expect(after.stats.totalRevenue).toBe(before.stats.totalRevenue);

    // A new order that only arrives now, with an old timestamp, is not a replay: it counts.
    await api.sendAndSettle({ ...order({ userId: 'rp-user' }, 1), messageId: 'rp-user-late' });
    expect((await api.customer('rp-user')).stats.orderCount).toBe(before.stats.orderCount + 1);
  }, 120_000);
});
