/**
 * The daily sweep changes a customer's stage with time alone, and EventBridge
 * refuses the derived event: the change is on the profile, the customer stays
 * due, and the next sweep publishes `Customer Became Inactive` — once — so the
 * win-back journey still starts. Other due customers are not held up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../infra/embedded/engine';
import { DERIVED_EVENTS, ManualClock } from '../../../shared';
import { client } from '../../helpers/client';
import { startTestEngine } from '../../helpers/engine';

const DAY = 86_400_000;
const clock = new ManualClock();
const ago = (days: number) => new Date(clock.now().getTime() - days * DAY).toISOString();
let engine: Engine;
let api: ReturnType<typeof client>;
let busDown = false;
let refusedCalls = 0;

beforeAll(async () => {
  engine = await startTestEngine({
    clock,
    sweepEveryMs: 0,
    logLevel: 'SILENT',
    faults: {
      // While "down", every PutEvents call that carries a Customer Became Inactive is throttled.
      putEvents: ({ entries }) => {
        if (!busDown || !entries.some((e) => e.DetailType === DERIVED_EVENTS.CUSTOMER_BECAME_INACTIVE)) return undefined;
        refusedCalls++;
        return 'ThrottlingException';
      },
    },
  });
  api = client(engine);
});
afterAll(() => engine.stop());

const order = (userId: string, n: number, at: string) => ({ type: 'track', userId, event: 'Order Completed', messageId: `${userId}-o${n}`, timestamp: at, properties: { orderId: `${userId}-${n}`, revenue: 50, currency: 'EUR' } });
const inactive = (userId: string) => engine.bus.log.filter((e) => e['detail-type'] === DERIVED_EVENTS.CUSTOMER_BECAME_INACTIVE && (e.detail as { userId: string }).userId === userId);

describe('a sweep whose derived events the bus refuses', () => {
  it('keeps the change, keeps the customer due, and the next sweep publishes it once', async () => {
    await api.sendAndSettle([order('sw-1', 1, ago(10)), order('sw-1', 2, ago(5)), order('sw-2', 1, ago(10)), order('sw-2', 2, ago(5))]);
    clock.advance(95 * DAY); // last order 100 days ago: dormant

    busDown = true;
    await expect(engine.sweep()).rejects.toThrow(/could not be re-evaluated; they stay due and are retried/);
    expect(refusedCalls).toBeGreaterThan(0);
    // Both customers were tried (one failure does not stop the sweep) and both changed on the profile.
    expect((await api.customer('sw-1')).lifecycleStage).toBe('dormant');
    expect((await api.customer('sw-2')).lifecycleStage).toBe('dormant');
    expect(inactive('sw-1')).toEqual([]);
    expect(await engine.profiles.dueForReevaluation(clock.now())).toEqual(expect.arrayContaining(['sw-1', 'sw-2']));

    busDown = false;
    const retry = await engine.sweep();
    expect(retry).toMatchObject({ changed: 2 });
    await engine.settle();
    expect(inactive('sw-1')).toHaveLength(1);
    expect(inactive('sw-2')).toHaveLength(1);
    expect(await engine.profiles.dueForReevaluation(clock.now())).not.toContain('sw-1');

    // Later sweeps publish nothing again.
    await engine.sweep();
    clock.advance(DAY);
    await engine.sweep();
    await engine.settle();
    expect(inactive('sw-1')).toHaveLength(1);
    // The win-back journey started once from it.
    const runs = ((await api.get('/v1/customers/sw-1/journeys')).json as unknown as { runs: Array<{ journeyId: string }> }).runs;
    expect(runs.filter((r) => r.journeyId === 'win-back')).toHaveLength(1);
  });
});
