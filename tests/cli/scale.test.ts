import { describe, expect, it } from 'vitest';
import { defaultScale, describeStep, toleranceMs, type ReplayEvent } from '../../infra/cli/commands/simulate';
import type { Journey } from '../../workflows/journeys';

/** How `rapport simulate` picks its speed without --scale, and names steps in the funnel. */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const journey = (steps: unknown[]): Journey => ({ id: 'j', name: 'J', version: 1, trigger: { event: 'Signed Up' }, steps }) as unknown as Journey;
/** `n` events evenly spread over `spanMs`. */
const spread = (n: number, spanMs: number): ReplayEvent[] => Array.from({ length: n }, (_, i) => ({ line: i + 1, at: (i * spanMs) / Math.max(1, n - 1), event: {} }));

describe('the default scale of rapport simulate', () => {
  it('allows a tenth of the shortest wait or timeout as lateness, between 30 minutes and 6 hours; 6 hours without waits', () => {
    expect(toleranceMs(journey([{ id: 'a', wait: '1d' }, { id: 'b', wait_for: { event: 'X', timeout: '2d' } }]))).toBe(2.4 * HOUR);
    expect(toleranceMs(journey([{ id: 'a', wait: '1h' }]))).toBe(HOUR / 2);
    expect(toleranceMs(journey([{ id: 'a', wait: '30d' }]))).toBe(6 * HOUR);
    expect(toleranceMs(journey([{ id: 'a', send: { channel: 'email', template: 't' } }]))).toBe(6 * HOUR);
  });

  it('runs a sparse file in about 15 s, and slows down for dense events, a tight tolerance or a loaded machine', () => {
    const sparse = spread(20, 10 * DAY);
    expect(defaultScale(sparse, 10 * DAY, 6 * HOUR)).toBe(Math.round((10 * DAY) / 15_000));

    const dense = spread(2_000, 10 * DAY); // about 8 events an hour
    expect(defaultScale(dense, 10 * DAY, 6 * HOUR)).toBeLessThan(defaultScale(sparse, 10 * DAY, 6 * HOUR));
    expect(defaultScale(sparse, 10 * DAY, HOUR / 2)).toBeLessThan(defaultScale(sparse, 10 * DAY, 6 * HOUR));
    expect(defaultScale(dense, 10 * DAY, 6 * HOUR, 4)).toBeCloseTo(defaultScale(dense, 10 * DAY, 6 * HOUR) / 4, -1);
    // Never below real time.
    expect(defaultScale(spread(10_000, HOUR), HOUR, HOUR / 2, 100)).toBe(1);
  });
});

describe('the steps in the funnel', () => {
  it('say what each step sends or waits for', () => {
    expect(
      [
        { id: 'a', send: { channel: 'email', template: 'welcome' } },
        { id: 'b', send: { channel: 'sms', template: 'code', kind: 'transactional' } },
        { id: 'c', webhook: { target: 'support', template: 'ticket' } },
        { id: 'd', wait: '2d' },
        { id: 'e', wait_until: { time: '09:00', days: ['mon', 'tue'] } },
        { id: 'f', wait_for: { event: 'Order Completed', timeout: '7d' } },
        { id: 'g', split: [{ percent: 90, next: 'a' }, { percent: 10, holdout: true }] },
        { id: 'h', tag: { add: 'vip' } },
        { id: 'i', update: { trait: 'plan', value: 'pro' } },
        { id: 'j', exit: 'escalated' },
      ].map((s) => describeStep(s as never)),
    ).toEqual(['email welcome', 'sms code (transactional)', 'support ticket', '2d', '09:00 mon,tue', 'Order Completed (7d)', '90% / 10% holdout', '+vip', 'plan = "pro"', 'escalated']);
  });
});
