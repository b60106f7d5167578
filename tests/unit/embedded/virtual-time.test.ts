import { setTimeout as realDelay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../infra/embedded/virtual-time';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const DAY = 86_400_000;

describe('VirtualClock', () => {
  it('stands still until advanced, then jumps exactly to the due time', async () => {
    const clock = new VirtualClock(T0);
    let woke = false;
    const sleeping = clock.sleep(90 * DAY).then(() => (woke = true));
    await realDelay(5);
    expect(woke).toBe(false);
    expect(clock.now().getTime()).toBe(T0);
    await clock.run();
    await sleeping;
    expect(woke).toBe(true);
    expect(clock.now().getTime()).toBe(T0 + 90 * DAY);
  });

  it('fires timers due together in the order they were set, and cancelled ones never', async () => {
    const clock = new VirtualClock(T0);
    const fired: string[] = [];
    clock.schedule(T0 + 2000, () => fired.push('b1'));
    clock.schedule(T0 + 1000, () => fired.push('a'));
    const dropped = clock.schedule(T0 + 1500, () => fired.push('dropped'));
    clock.schedule(T0 + 2000, () => fired.push('b2'));
    clock.schedule(T0 - 5000, () => fired.push('past'));
    dropped.cancel();
    await clock.run();
    expect(fired).toEqual(['past', 'a', 'b1', 'b2']);
    expect(clock.now().getTime()).toBe(T0 + 2000);
  });

  it('does not move while tracked work is in flight, however long it takes in real time', async () => {
    const clock = new VirtualClock(T0);
    const log: string[] = [];
    clock.schedule(T0 + 1, () => log.push(`timer at +${clock.now().getTime() - T0}`));
    void clock.track(
      (async () => {
        await realDelay(30);
        log.push(`work done at +${clock.now().getTime() - T0}`);
      })(),
    );
    await clock.run();
    expect(log).toEqual(['work done at +0', 'timer at +1']);
  });

  it('waits for work a timer starts after an await before firing the next timer', async () => {
    const clock = new VirtualClock(T0);
    const log: string[] = [];
    clock.schedule(T0 + 10, () => {
      void (async () => {
        await Promise.resolve();
        await clock.track(realDelay(20));
        log.push('slow follow-up');
      })();
    });
    clock.schedule(T0 + 11, () => log.push('next timer'));
    await clock.run();
    expect(log).toEqual(['slow follow-up', 'next timer']);
  });

  it('gives the same interleaving on every run (no dependence on real time)', async () => {
    const once = async (): Promise<string[]> => {
      const clock = new VirtualClock(T0);
      const log: string[] = [];
      const actor = async (name: string, waits: number[]) => {
        for (const ms of waits) {
          await clock.sleep(ms);
          // real, uneven work between waits
          await clock.track(realDelay(Math.floor(Math.random() * 4)));
          log.push(`${name}@${clock.now().getTime() - T0}`);
        }
      };
      const done = Promise.all([actor('a', [5, 5, 5, 5]), actor('b', [10, 0, 10]), actor('c', [5, 15])]);
      await clock.run();
      await done;
      return log;
    };
    const first = await once();
    expect(first).toHaveLength(9);
    for (let i = 0; i < 3; i++) expect(await once()).toEqual(first);
  });

  it('runs a thousand day-long waits at once, beyond what a Node timer can hold', async () => {
    const clock = new VirtualClock(T0);
    const loop = (async () => {
      for (let i = 0; i < 1000; i++) await clock.sleep(DAY);
    })();
    const big = clock.sleep(400 * DAY);
    await clock.run();
    await Promise.all([loop, big]);
    expect(clock.now().getTime()).toBe(T0 + 1000 * DAY);
  });

  it('stops at `until` and leaves later timers waiting', async () => {
    const clock = new VirtualClock(T0);
    const fired: number[] = [];
    for (const d of [1, 2, 3, 4]) clock.schedule(T0 + d * DAY, () => fired.push(d));
    await clock.run(T0 + 2.5 * DAY);
    expect(fired).toEqual([1, 2]);
    expect(clock.now().getTime()).toBe(T0 + 2.5 * DAY);
    expect(clock.pending).toBe(2);
    expect(clock.nextDue).toBe(T0 + 3 * DAY);
  });

  it('wakes held work waiting on other work once nothing but the waiters is in flight, and not before', async () => {
    const clock = new VirtualClock(T0);
    // Two invocations wait (each holding the clock), a third still works, a retry of the writer is a timer.
    const waiters = [clock.begin(), clock.begin()];
    const worker = clock.begin();
    clock.schedule(T0 + 60_000, () => undefined);
    const woken: number[] = [];
    const waits = [clock.othersIdle(), clock.othersIdle()];
    waits.forEach((w, i) => void w.done.then(() => woken.push(i)));
    await realDelay(5);
    expect(woken, 'while other work is in flight').toEqual([]);
    worker();
    await Promise.all(waits.map((w) => w.done));
    expect(woken.sort()).toEqual([0, 1]);
    // No time moved: the timer is left for the clock, which waits for the waiters to finish their work.
    expect(clock.now().getTime()).toBe(T0);
    expect(clock.pending).toBe(1);
    for (const end of waiters) end();
  });

  it('leaves a cancelled wait for other work unwoken, and counts it no more', async () => {
    const clock = new VirtualClock(T0);
    const endWaiter = clock.begin();
    const endWorker = clock.begin();
    const cancelled = clock.othersIdle();
    let woke = false;
    void cancelled.done.then(() => (woke = true));
    cancelled.cancel();
    // A second waiter alone against the worker: still the worker's to end.
    const wait = clock.othersIdle();
    let second = false;
    void wait.done.then(() => (second = true));
    await realDelay(5);
    expect(second).toBe(false);
    endWorker();
    await wait.done;
    expect(woke).toBe(false);
    endWaiter();
  });

  it('refuses an invalid start and a second concurrent run', async () => {
    expect(() => new VirtualClock('not a date')).toThrow(/valid time/);
    const clock = new VirtualClock(T0);
    const end = clock.begin();
    const running = clock.run();
    await expect(clock.run()).rejects.toThrow(/already running/);
    end();
    end(); // closing twice is harmless
    expect(clock.inFlight).toBe(0);
    await running;
  });
});
