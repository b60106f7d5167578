import type { VirtualClock } from './virtual-time';

/** How `scheduleBatches` groups, sends and retries. */
export interface BatchSchedule<T> {
  /** When an item is due, in ms since the epoch (an event's timestamp). */
  at: (item: T) => number;
  /** Sends one batch (`attempt` counts from 1); the clock is held until the returned promise settles. */
  send: (batch: T[], attempt: number) => Promise<unknown>;
  /** Items per batch at most. @default unlimited */
  maxItems?: number;
  /** Bytes per batch at most, by `sizeOf` (a batch always takes its first item, however big). @default unlimited */
  maxBytes?: number;
  /** An item's size in bytes. @default its JSON length */
  sizeOf?: (item: T) => number;
  /**
   * After a failed attempt: the virtual ms to wait before the next one, or undefined to give up. The
   * wait is a timer, not held work: the clock moves on meanwhile (other due timers fire first), as for
   * a sender backing off. @default no retry
   */
  retryIn?: (error: unknown, attempt: number) => number | undefined;
}

/** What became of the scheduled batches, read as the clock runs. */
export interface ScheduledBatches {
  /** Items whose batch has been answered, failed for good or was dropped after a failure. */
  readonly handled: number;
  /** Items not handled yet: 0 once every batch is done. */
  readonly pending: number;
  /** The first batch that failed for good; the batches due after it are not sent. */
  readonly failure: unknown;
  /** Throws the failure, if any. */
  check(): void;
}

/**
 * Replays items (events) on virtual time, as a sender would: items due at one instant are sent together,
 * in batches of at most `maxItems` and `maxBytes` in their given order, each batch a timer on the clock
 * at that instant that holds the clock until it is answered. Items are sorted by due time (stably: the
 * same instant keeps their order). Run the clock (`clock.run()`) to send them.
 */
export function scheduleBatches<T>(clock: VirtualClock, items: readonly T[], o: BatchSchedule<T>): ScheduledBatches {
  const sorted = items.map((item, i) => ({ item, i, at: o.at(item) })).sort((a, b) => a.at - b.at || a.i - b.i);
  const maxItems = o.maxItems ?? Number.POSITIVE_INFINITY;
  const maxBytes = o.maxBytes ?? Number.POSITIVE_INFINITY;
  const sizeOf = o.sizeOf ?? ((item: T) => JSON.stringify(item).length);
  let handled = 0;
  let failed: { error: unknown } | undefined;

  const attempt = (batch: T[], n: number): void => {
    if (failed) {
      handled += batch.length;
      return;
    }
    // A send that throws at once fails its batch like one that rejects.
    const sending = new Promise<unknown>((resolve) => resolve(o.send(batch, n))).then(
      () => void (handled += batch.length),
      (error: unknown) => {
        const wait = failed ? undefined : o.retryIn?.(error, n);
        if (wait !== undefined) return void clock.schedule(clock.now().getTime() + Math.max(0, wait), () => attempt(batch, n + 1));
        failed ??= { error };
        handled += batch.length;
      },
    );
    void clock.track(sending);
  };

  for (let next = 0; next < sorted.length; ) {
    const at = sorted[next]!.at;
    const batch: T[] = [];
    let bytes = 0;
    while (next < sorted.length && sorted[next]!.at === at && batch.length < maxItems) {
      const size = maxBytes === Number.POSITIVE_INFINITY ? 0 : sizeOf(sorted[next]!.item);
      if (batch.length > 0 && bytes + size > maxBytes) break;
      batch.push(sorted[next]!.item);
      bytes += size;
      next++;
    }
    clock.schedule(at, () => attempt(batch, 1));
  }

  return {
    get handled() {
      return handled;
    },
    get pending() {
      return sorted.length - handled;
    },
    get failure() {
      return failed?.error;
    },
    check() {
      if (failed) throw failed.error;
    },
  };
}
