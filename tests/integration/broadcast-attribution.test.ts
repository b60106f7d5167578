/**
 * A broadcast's results on the embedded engine, on virtual time: a conversion is credited to the last Rapport
 * message the customer got within that message's window (last touch), whether a broadcast or a journey sent it;
 * once, whatever the bus redelivers; `GET /v1/broadcasts/{id}` shows it. A broadcast declares its own rule or
 * inherits the default, and one naming an event the router does not credit is refused with the field named.
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

interface Answer {
  status?: string;
  sent?: number;
  attribution?: AttributionView;
  problems?: Array<{ path: string; message: string }>;
}

describe('broadcast attribution', () => {
  const clock = new VirtualClock(START);
  const world = useTestEngine({ clock, sweepEveryMs: 0, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });

  const post = async (body: unknown) => {
    const res = await fetch(`${world.engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Answer };
  };
  const get = async (id: string) => (await world.api.get(`/v1/broadcasts/${id}`)).json as unknown as Answer;
  const welcome = async () => ((await world.api.get('/v1/journeys/welcome/stats')).json as unknown as { attribution: AttributionView }).attribution;
  const member = (userId: string, tag: string) => ({ type: 'identify', userId, messageId: `${userId}-id`, traits: { email: `${userId}@example.com`, tags: [tag] } });
  const order = (id: string, n: number, t: number, revenue: number) => ({ type: 'track', userId: id, event: 'Order Completed', messageId: `${id}-order-${n}`, timestamp: at(t), properties: { orderId: `${id}-o${n}`, revenue, currency: 'EUR' } });
  const broadcastTo = (id: string) =>
    world.engine.outbox.entries
      .flatMap((m) => ('tags' in m && m.tags.journey === `broadcast:${id}` ? [m.tags.customer] : []))
      .sort();

  it('credits an order within its window to the broadcast, once, and not one after the window', async () => {
    // Prepare
    const t0 = clock.now().getTime();
    await world.api.sendAndSettle([member('ba-1', 'crm-gold'), member('ba-2', 'crm-gold'), member('ba-3', 'crm-gold')]);
    const created = await post({ id: 'ba-sale', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, attribution: { event: 'Order Completed', value: 'revenue', window: '2d' } });
    await clock.run(t0 + HOUR);
    expect(created.status).toBe(201);
    expect(broadcastTo('ba-sale')).toEqual(['ba-1', 'ba-2', 'ba-3']);

    // Act: ba-1 orders a day later (redelivered twice), ba-2 three days later, ba-3 never.
    await clock.run(t0 + DAY);
    await world.api.sendAndSettle(order('ba-1', 1, t0 + DAY, 50));
    await redeliverIngested(world.engine, 'ba-1-order-1');
    await redeliverIngested(world.engine, 'ba-1-order-1');
    await clock.run(t0 + 3 * DAY);
    await world.api.sendAndSettle(order('ba-2', 1, t0 + 3 * DAY, 80));
    await world.engine.settle();

    // Assess
    expect((await get('ba-sale')).attribution).toMatchObject({
      event: 'Order Completed',
      value: 'revenue',
      windowSeconds: 2 * 86_400,
      conversions: 1,
      revenue: 50,
      steps: { send: { conversions: 1, revenue: 50 } },
      channels: { email: { conversions: 1, revenue: 50 } },
    });
  });

  it('gives the order to the last touch, a broadcast after a journey email or a journey email after a broadcast', async () => {
    // Prepare: ba-4 gets the welcome email, then the broadcast; ba-5 the broadcast, then the welcome email.
    const welcomeBefore = await welcome();
    const t0 = clock.now().getTime();
    await world.api.sendAndSettle([member('ba-4', 'beta-tester'), { type: 'track', userId: 'ba-4', event: 'Signed Up', messageId: 'ba-4-signup', timestamp: at(t0) }, member('ba-5', 'beta-tester')]);
    await clock.run(t0 + HOUR);
    await post({ id: 'ba-flash', segment: 'tag:beta-tester', send: { channel: 'email', template: 'we-value-you' } });
    await clock.run(t0 + 2 * HOUR);
    await world.api.sendAndSettle({ type: 'track', userId: 'ba-5', event: 'Signed Up', messageId: 'ba-5-signup', timestamp: at(t0 + 2 * HOUR) });
    await clock.run(t0 + 3 * HOUR);
    expect(outboxFor(world.engine, 'ba-4').map((m) => m.step)).toEqual(['send-welcome', 'send']);
    expect(outboxFor(world.engine, 'ba-5').map((m) => m.step)).toEqual(['send', 'send-welcome']);

    // Act
    await world.api.sendAndSettle([order('ba-4', 1, t0 + 3 * HOUR, 30), order('ba-5', 1, t0 + 3 * HOUR, 70)]);

    // Assess: the broadcast without a rule of its own counts by the default (Order Completed within 5 days).
    expect((await get('ba-flash')).attribution).toMatchObject({ event: 'Order Completed', windowSeconds: 5 * 86_400, conversions: 1, revenue: 30 });
    const welcomeAfter = await welcome();
    expect([welcomeAfter.conversions - welcomeBefore.conversions, welcomeAfter.revenue - welcomeBefore.revenue]).toEqual([1, 70]);
  });

  it('refuses a rule whose event the journeys do not credit, or whose window is not a duration of at most a year, naming the field', async () => {
    // Act
    const otherEvent = await post({ id: 'ba-bad-1', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, attribution: { event: 'Review Posted', window: '5d' } });
    const longWindow = await post({ id: 'ba-bad-2', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, attribution: { event: 'Order Completed', window: '400d' } });
    const notDuration = await post({ id: 'ba-bad-3', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, attribution: { event: 'Order Completed', window: 'soon' } });

    // Assess
    expect(otherEvent.status).toBe(400);
    expect(otherEvent.json.problems).toEqual([{ path: '$.attribution.event', message: expect.stringContaining('"Order Completed"') as string }]);
    expect(longWindow.status).toBe(400);
    expect(longWindow.json.problems?.map((p) => p.path)).toEqual(['$.attribution.window']);
    expect(notDuration.status).toBe(400);
    expect(notDuration.json.problems?.map((p) => p.path)).toEqual(['$.attribution.window']);
    expect((await world.api.get('/v1/broadcasts/ba-bad-1')).status).toBe(404);
  });
});
