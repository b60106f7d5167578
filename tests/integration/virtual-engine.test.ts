import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { outboxFor, runsOf } from '../helpers/journeys';

/**
 * The engine on virtual time: the journey clock stands still while the engine works and jumps to the
 * next due timer when it is idle, so waits end exactly on time, whatever the machine's load, and a
 * test runs days of journeys without waiting for them.
 */
const DAY = 86_400_000;
const START = Date.parse('2026-03-02T10:00:00Z');
const identify = (userId: string) => ({ type: 'identify', userId, traits: { email: `${userId}@example.com`, name: userId } });
const track = (userId: string, event: string, properties: Record<string, unknown> = {}) => ({ type: 'track', userId, event, properties });

describe('the embedded engine on virtual time', () => {
  let clock: VirtualClock;
  let engine: Engine;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    clock = new VirtualClock(START);
    engine = await startTestEngine({ clock, sendPolicy: { quietHours: undefined }, logLevel: 'SILENT' });
    api = client(engine);
  });
  afterAll(() => engine.stop());

  it('runs the welcome journey to its end with every wait exactly on time', async () => {
    await api.send([identify('v-none'), track('v-none', 'Signed Up')]);
    await clock.run(START + 4 * DAY);
    const sent = outboxFor(engine, 'v-none');
    expect(sent.map((m) => [m.step, m.at])).toEqual([
      ['send-welcome', new Date(START).toISOString()],
      ['send-getting-started', new Date(START + DAY).toISOString()],
      ['send-first-order-offer', new Date(START + 3 * DAY).toISOString()],
    ]);
    expect((await runsOf(engine, 'v-none')).map((r) => [r.journeyId, r.status])).toEqual([['welcome', 'completed']]);
    expect(clock.now().getTime()).toBe(START + 4 * DAY);
  });

  it('a goal during a wait ends the run; later timers of that run never fire', async () => {
    const t0 = clock.now().getTime();
    await api.send([identify('v-buyer'), track('v-buyer', 'Signed Up')]);
    await clock.run(t0 + DAY / 2);
    expect(outboxFor(engine, 'v-buyer').map((m) => m.step)).toEqual(['send-welcome']);
    await api.send(track('v-buyer', 'Order Completed', { orderId: 'v-1', revenue: 20, currency: 'EUR' }));
    await clock.run(t0 + 5 * DAY);
    expect(outboxFor(engine, 'v-buyer').map((m) => m.step)).toEqual(['send-welcome']);
    expect((await runsOf(engine, 'v-buyer')).map((r) => r.status)).toEqual(['converted']);
  });

  it('the daily sweep is a timer on the clock: a customer turns at-risk on day 45 with time alone, to the day', async () => {
    const t0 = clock.now().getTime();
    await api.send(track('v-quiet', 'Order Completed', { orderId: 'vq-1', revenue: 20, currency: 'EUR' }));
    // The sweep runs once per virtual day from the engine's start: by day 45 + 1 at the latest, never before day 45.
    await clock.run(t0 + 45 * DAY - 1);
    expect((await api.customer('v-quiet')).lifecycleStage).not.toBe('at-risk');
    await clock.run(t0 + 46 * DAY);
    expect((await api.customer('v-quiet')).lifecycleStage).toBe('at-risk');
  });
});
