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
