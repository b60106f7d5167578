/**
 * Attribution on the embedded engine, on virtual time: a conversion (Order Completed by default) is credited
 * to the last Rapport message the customer got within the window before it (last touch, 5 days by default),
 * once, whatever the bus redelivers; not after the window, and not to a message sent after the order
 * happened (imported history). `GET /v1/journeys/{id}/stats` shows it in total, per step and per channel.
 */
import { describe, expect, it } from 'vitest';
import type { AttributionView } from '../../functions/journeys';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { redeliverIngested, useTestEngine } from '../helpers/engine';
import { outboxFor } from '../helpers/journeys';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.parse('2026-03-02T10:00:00Z');
const at = (ms: number) => new Date(ms).toISOString();

describe('attribution', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });

  const welcome = async () => ((await world.api.get('/v1/journeys/welcome/stats')).json as unknown as { attribution: AttributionView }).attribution;
  const signUp = (id: string, t: number) => world.api.sendAndSettle([{ type: 'identify', userId: id, traits: { email: `${id}@example.com` } }, { type: 'track', userId: id, event: 'Signed Up', messageId: `${id}-signup`, timestamp: at(t) }]);
  const order = (id: string, n: number, t: number, revenue: number) => ({ type: 'track', userId: id, event: 'Order Completed', messageId: `${id}-order-${n}`, timestamp: at(t), properties: { orderId: `${id}-o${n}`, revenue, currency: 'EUR' } });

  it('credits an order two hours after the welcome email to that email, once, whatever the bus redelivers', async () => {
    const t0 = clock.now().getTime();
    await signUp('at-1', t0);
    expect(outboxFor(world.engine, 'at-1').map((m) => m.step)).toEqual(['send-welcome']);
    await clock.run(t0 + 2 * HOUR);
    await world.api.sendAndSettle(order('at-1', 1, t0 + 2 * HOUR, 120.5));
    await redeliverIngested(world.engine, 'at-1-order-1');
    await redeliverIngested(world.engine, 'at-1-order-1');
    await world.engine.settle();
    expect(await welcome()).toMatchObject({
      event: 'Order Completed',
      windowSeconds: 5 * 86_400,
      conversions: 1,
      revenue: 120.5,
      steps: { 'send-welcome': { conversions: 1, revenue: 120.5 } },
      channels: { email: { conversions: 1, revenue: 120.5 } },
    });
  });

  it('a conversion redelivered after an alias joined its customer into another is not credited again (hostile audit F7)', async () => {
    const t0 = clock.now().getTime();
    await signUp('ab-b', t0);
    await world.api.sendAndSettle({ type: 'identify', userId: 'ab-a', traits: { email: 'ab-a@example.com' } });
    await clock.run(t0 + HOUR);
    const before = await welcome();
    await world.api.sendAndSettle(order('ab-b', 1, t0 + HOUR, 10));
    await world.api.sendAndSettle({ type: 'alias', previousId: 'ab-b', userId: 'ab-a', messageId: 'ab-alias' });
    await redeliverIngested(world.engine, 'ab-b-order-1');
    await world.engine.settle();
    const after = await welcome();
    expect([after.conversions, after.revenue]).toEqual([before.conversions + 1, before.revenue + 10]);
  });

  it('credits nothing to a message more than the window before the order, nor to one sent after it happened', async () => {
    const before = await welcome();
    const t0 = clock.now().getTime();
    await signUp('at-2', t0);
    await signUp('at-3', t0);
    // at-2: the welcome journey's last email (the first-order offer) goes out 3 days in; the order comes 5 days and an hour after it.
    await clock.run(t0 + 3 * DAY + 5 * DAY + HOUR);
    expect(outboxFor(world.engine, 'at-2').map((m) => m.step)).toEqual(['send-welcome', 'send-getting-started', 'send-first-order-offer']);
    // at-3: imported history: an order dated a day before the welcome email arrives now.
    await world.api.sendAndSettle([order('at-2', 1, t0 + 8 * DAY + HOUR, 40), order('at-3', 1, t0 - DAY, 70)]);
    expect(await welcome()).toMatchObject({ conversions: before.conversions, revenue: before.revenue });

    // Within the window (4 days after the offer) it counts, for the offer: the last touch.
    const t1 = clock.now().getTime();
    await signUp('at-4', t1);
    await clock.run(t1 + 3 * DAY + 4 * DAY);
    await world.api.sendAndSettle(order('at-4', 1, t1 + 7 * DAY, 10));
    const after = await welcome();
    expect(after.conversions).toBe(before.conversions + 1);
    expect(after.steps['send-first-order-offer']).toEqual({ conversions: 1, revenue: 10 });
  });
});
