import { describe, expect, it } from 'vitest';
import type { Context } from 'aws-lambda';
import type { DeadLetterSink } from '../../../infra/embedded/dead-letters';
import type { BusEvent } from '../../../infra/embedded/event-bus';
import { asyncLambdaTarget, ConcurrencyLimit, functionConcurrency } from '../../../infra/embedded/lambda-async';
import { VirtualClock } from '../../../infra/embedded/virtual-time';

/**
 * A function's async invocations run at most `concurrency` at a time (reserved concurrency): the rest wait
 * their turn, each then runs with its whole timeout, and on virtual time the waiting ones hold the clock.
 */
const event = (n: number) => ({ id: `e-${n}`, detail: { n } }) as unknown as BusEvent;
const deadLetters = (): DeadLetterSink & { items: unknown[] } => {
  const items: unknown[] = [];
  return { items, add: (d: unknown) => void items.push(d) } as unknown as DeadLetterSink & { items: unknown[] };
};
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ConcurrencyLimit', () => {
  it('runs at most max calls at once, the others in arrival order, and every call to its end', async () => {
    const limit = new ConcurrencyLimit(3);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limit.run(async () => {
          started.push(i);
          most = Math.max(most, ++running);
          await tick(1 + (i % 3));
          running--;
          return i * 2;
        }),
      ),
    );
    expect(most).toBe(3);
    expect(started).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    expect([limit.running, limit.waiting]).toEqual([0, 0]);
  });

  it('frees the slot of a call that throws', async () => {
    const limit = new ConcurrencyLimit(1);
    await expect(limit.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limit.run(async () => 'next')).toBe('next');
    expect(() => new ConcurrencyLimit(0)).toThrow(RangeError);
  });
});

describe('asyncLambdaTarget with a concurrency limit', () => {
  it("shares one function's limit across its targets; a queued invocation gets its whole timeout and holds virtual time", async () => {
    const clock = new VirtualClock('2026-03-02T10:00:00Z');
    const limits = functionConcurrency(2);
    let running = 0;
    let most = 0;
    const remainingAtStart: number[] = [];
    const handler = async (_event: never, context: Context) => {
      remainingAtStart.push(context.getRemainingTimeInMillis());
      most = Math.max(most, ++running);
      await tick(50);
      running--;
    };
    // Two rules targeting one function (as every journey's trigger rule targets the starter).
    const sinks = deadLetters();
    const a = asyncLambdaTarget(handler, 'fn', { deadLetters: sinks, clock, concurrency: limits });
    const b = asyncLambdaTarget(handler, 'fn', { deadLetters: sinks, clock, concurrency: limits });
    const deliveries = Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b)(event(i)));
    // Queued invocations are work: virtual time stands still until the last has run.
    expect(clock.inFlight).toBe(8);
    await Promise.all(deliveries);
    expect(most).toBe(2);
    expect(clock.inFlight).toBe(0);
    expect(clock.now().toISOString()).toBe('2026-03-02T10:00:00.000Z');
    // The last ones waited 150 ms or more of real time for a slot, and still started with (nearly) all of their 60 s.
    expect(Math.min(...remainingAtStart)).toBeGreaterThan(60_000 - 100);
    expect(sinks.items).toEqual([]);
  });
});
