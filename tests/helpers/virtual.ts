import { scheduleBatches, type ScheduledBatches } from '../../infra/embedded/batches';
import type { VirtualClock } from '../../infra/embedded/virtual-time';

/**
 * Post events on virtual time, as a sender would (`scheduleBatches`): each group of events with one
 * `timestamp` is a timer on the clock that sends them in one request and holds the clock until the
 * engine answered. Run the clock (`clock.run()`) to replay them; a failed send is thrown by `check()`.
 */
export function scheduleEvents(clock: VirtualClock, send: (batch: unknown[]) => Promise<unknown>, events: ReadonlyArray<Record<string, unknown>>): ScheduledBatches {
  return scheduleBatches(clock, events, { at: (e) => Date.parse(e.timestamp as string), send });
}
