/**
 * The daily sweep runs on the engine's clock: on a scaled clock (what
 * RAPPORT_TIME_SCALE gives `npm start`) once per simulated day, so stages that
 * change with time alone move as fast as the journeys' waits.
 */
import { describe, expect, it } from 'vitest';
import { defaultSweepEveryMs } from '../../infra/embedded/engine';
import { ManualClock, ScaledClock, systemClock } from '../../shared';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { eventually } from '../helpers/journeys';

const DAY = 86_400_000;

describe('the sweep interval', () => {
  it('is one day of the engine clock: real days on the system clock, 86,400,000 / scale ms on a scaled one', () => {
    expect(defaultSweepEveryMs(systemClock)).toBe(DAY);
    expect(defaultSweepEveryMs(new ManualClock())).toBe(DAY);
    expect(defaultSweepEveryMs(new ScaledClock(3_600))).toBe(24_000);
    expect(defaultSweepEveryMs(new ScaledClock(86_400))).toBe(1_000);
    expect(defaultSweepEveryMs(new ScaledClock(10_000_000))).toBe(100);
  });

  it('on a scaled clock, without sweepEveryMs (as npm start), a customer turns at-risk with time alone', async () => {
    // Two simulated days per second: the engine sweeps every 500 ms.
    const clock = new ScaledClock(2 * 86_400);
    const engine = await startTestEngine({ clock, logLevel: 'SILENT' });
    try {
      const api = client(engine);
      // Last order 41 days ago: at-risk from day 45 (segmentation.config.yaml), 4 simulated days (2 real seconds) from
      // now; a half-day margin was too little on a loaded machine (the event was applied after the stage changed).
      const at = new Date(clock.now().getTime() - 41 * DAY).toISOString();
      await api.sendAndSettle({ type: 'track', userId: 'sweep-clock', event: 'Order Completed', timestamp: at, properties: { orderId: 'sc-1', revenue: 20, currency: 'EUR' } });
      expect((await api.customer('sweep-clock')).lifecycleStage).not.toBe('at-risk');
      // No manual sweep: the engine's own one, within a couple of simulated days.
      await eventually(async () => (await api.customer('sweep-clock')).lifecycleStage === 'at-risk', 'the sweep to make the customer at-risk', 15_000);
    } finally {
      await engine.stop();
    }
  });
});
