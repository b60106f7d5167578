import type { Clock } from '../../shared';

/**
 * Virtual time for the embedded engine (simulate, demo, tests): a clock that
 * stands still while the engine works and jumps to the next due timer as soon
 * as it is idle: no work in flight (requests, deliveries, invocations: each
 * opened with `begin()` or `track()`) and the event loop drained of what that
 * work queued. Timers fire one at a time, in order of due time and then of
 * creation, and the clock waits for idle again before the next: the same input
 * gives the same interleaving, whatever the machine's load, and nothing is
 * ever late.
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #inFlight = 0;
  /** Bumped by every begin/end and timer fire: idle() notices work that came and went between two checks. */
  #generation = 0;
  readonly #timers: Timer[] = [];
  #idleWaiters: (() => void)[] = [];
  /** Held work waiting for other work (`othersIdle`), each counted as one piece of work in flight. */
  readonly #othersWaiters = new Set<() => void>();
  #checking = false;
  #checkingOthers = false;
  #running = false;

  constructor(start: Date | string | number) {
    this.#now = new Date(start).getTime();
    if (!Number.isFinite(this.#now)) throw new Error(`virtual clock start must be a valid time, got ${String(start)}`);
  }

  now(): Date {
    return new Date(this.#now);
  }

  /** Timers waiting. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Work in flight (opened and not yet closed). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Due time (ms since the epoch) of the next timer, if any. */
  get nextDue(): number | undefined {
    return this.#timers[0]?.due;
  }

  sleep(ms: number): Promise<void> {
    return this.sleepUntil(this.#now + Math.max(0, ms));
  }

  /**
   * The Clock port for code that runs inside held work (the functions' handlers): `now()` is virtual
   * time, and `sleep()` (a retry backoff within a request) is a short real pause that moves no virtual
   * time, since a timer could never fire while the work that waits on it holds the clock.
   */
  readonly forWork: Clock = {
    now: () => this.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(0, ms), 1))),
  };

  /** Resolves when virtual time reaches `at` (at once if it has). */
  sleepUntil(at: Date | number): Promise<void> {
    return new Promise((resolve) => {
      this.schedule(at, resolve);
    });
  }

  /** Calls `fire` when virtual time reaches `at`; `cancel()` before then drops it. */
  schedule(at: Date | number, fire: () => void): { cancel(): void } {
    const timer: Timer = { due: Math.max(this.#now, new Date(at).getTime()), seq: this.#seq++, fire };
    insert(this.#timers, timer);
    this.#poke();
    return {
      cancel: () => {
        const i = this.#timers.indexOf(timer);
        if (i >= 0) this.#timers.splice(i, 1);
      },
    };
  }

  /** Opens a piece of work; time does not move until the returned function closes it (idempotent). */
  begin(): () => void {
    this.#inFlight++;
    this.#generation++;
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.#inFlight--;
      this.#generation++;
      this.#poke();
      this.#pokeOthers();
    };
  }

  /** Holds time still until `work` settles; returns it unchanged. */
  track<T>(work: Promise<T>): Promise<T> {
    const end = this.begin();
    work.then(end, end);
    return work;
  }

  /** Resolves once no work is in flight and the event loop has drained what it queued. */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#poke();
    });
  }

  /**
   * For held work that waits on other work (an invocation waiting for another's write): `done` resolves once no
   * work is in flight but the waiters' own (each counted as one piece of work: its invocation) and the event loop
   * has drained what that work queued. Nothing could then end the wait before time moves, and time cannot move while
   * the waiters hold it: on virtual time this is where a wait on the wall clock would only wait. Moves no time.
   * `cancel()` once the wait ended otherwise.
   */
  othersIdle(): { done: Promise<void>; cancel(): void } {
    let wake!: () => void;
    const done = new Promise<void>((resolve) => (wake = resolve));
    this.#othersWaiters.add(wake);
    this.#pokeOthers();
    return { done, cancel: () => void this.#othersWaiters.delete(wake) };
  }

  /**
   * Jumps to the next due timer and fires it (only that one). Returns false when
   * no timer is waiting, or `until` comes first (the clock then moves to `until`).
   */
  advance(until?: Date | number): boolean {
    const next = this.#timers[0];
    const limit = until === undefined ? Number.POSITIVE_INFINITY : new Date(until).getTime();
    if (!next || next.due > limit) {
      if (Number.isFinite(limit) && limit > this.#now) this.#now = limit;
      return false;
    }
    this.#timers.shift();
    this.#now = Math.max(this.#now, next.due);
    this.#generation++;
    next.fire();
    return true;
  }

  /**
   * Runs time forward: at each idle moment fire the next timer, until no timer
   * is left (or the next is after `until`, where the clock then stops), or
   * `done()` holds at an idle moment (the clock then stays where it is).
   */
  async run(until?: Date | number, done?: () => boolean): Promise<void> {
    if (this.#running) throw new Error('the virtual clock is already running');
    this.#running = true;
    try {
      for (;;) {
        await this.idle();
        if (done?.()) return;
        if (!this.advance(until)) return;
      }
    } finally {
      this.#running = false;
    }
  }

  /** Checks for idle after the event loop turns; resolves the waiters if nothing moved meanwhile. */
  #poke(): void {
    if (this.#checking || this.#idleWaiters.length === 0 || this.#inFlight > 0) return;
    this.#checking = true;
    const seen = this.#generation;
    // Two macrotask turns: promise chains and I/O callbacks that the last piece of
    // work queued get to run (and open new work) before time may move.
    setImmediate(() =>
      setImmediate(() => {
        this.#checking = false;
        if (this.#inFlight > 0) return;
        if (this.#generation !== seen) return this.#poke();
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const resolve of waiters) resolve();
      }),
    );
  }

  /** As `#poke`, for `othersIdle`: wakes its waiters once nothing but they is in flight and nothing moved meanwhile. */
  #pokeOthers(): void {
    if (this.#checkingOthers || this.#othersWaiters.size === 0 || this.#inFlight > this.#othersWaiters.size) return;
    this.#checkingOthers = true;
    const seen = this.#generation;
    setImmediate(() =>
      setImmediate(() => {
        this.#checkingOthers = false;
        if (this.#othersWaiters.size === 0 || this.#inFlight > this.#othersWaiters.size) return;
        if (this.#generation !== seen) return this.#pokeOthers();
        const waiters = [...this.#othersWaiters];
        this.#othersWaiters.clear();
        for (const wake of waiters) wake();
      }),
    );
  }
}

interface Timer {
  due: number;
  seq: number;
  fire: () => void;
}

/** Keeps `timers` sorted by (due, seq): timers due together fire in the order they were set. */
function insert(timers: Timer[], timer: Timer): void {
  let lo = 0;
  let hi = timers.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const t = timers[mid]!;
    if (t.due < timer.due || (t.due === timer.due && t.seq < timer.seq)) lo = mid + 1;
    else hi = mid;
  }
  timers.splice(lo, 0, timer);
}
