/**
 * The Clock port. Journeys wait days and signatures expire in minutes; code asks
 * the clock instead of `Date.now()` so the embedded engine and tests can scale
 * or advance time.
 */
export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A clock fixed at a moment, advanced by hand; `sleep` advances it instantly. For tests. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start: Date | string | number = Date.now()) {
    this.#now = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.#now);
  }
  advance(ms: number): void {
    this.#now += ms;
  }
  async sleep(ms: number): Promise<void> {
    this.#now += ms;
  }
}

/**
 * A clock running `scale` times faster than real time from the moment it is
 * made (RAPPORT_TIME_SCALE): with 86400 a day passes in a second, for waits,
 * timeouts, quiet hours and the sweep alike.
 */
export class ScaledClock implements Clock {
  readonly #realStart = Date.now();
  readonly #simStart: number;
  constructor(
    readonly scale: number,
    start: Date = new Date(),
  ) {
    if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`time scale must be a positive number, got ${scale}`);
    this.#simStart = start.getTime();
  }
  now(): Date {
    return new Date(this.#simStart + (Date.now() - this.#realStart) * this.scale);
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms / this.scale));
  }
}

/**
 * A clock that never goes back: `now()` is the wall clock's, or the latest time it gave if that is later (an NTP
 * step, a VM resumed from a snapshot, an operator fixing the time). Receipt times order consent changes (a denial
 * received after a grant wins): a denial received after a step back must still be received after the grant.
 * `atLeast` raises the floor (the embedded engine gives it the last time its data folder recorded).
 */
export class MonotonicClock implements Clock {
  #last = Number.NEGATIVE_INFINITY;
  constructor(readonly inner: Clock) {}
  now(): Date {
    this.#last = Math.max(this.#last, this.inner.now().getTime());
    return new Date(this.#last);
  }
  atLeast(time: Date | string | number): void {
    const t = new Date(time).getTime();
    if (Number.isFinite(t)) this.#last = Math.max(this.#last, t);
  }
  sleep(ms: number): Promise<void> {
    return this.inner.sleep(ms);
  }
}