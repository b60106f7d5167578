import type { VirtualClock } from '../../infra/embedded/virtual-time';

/**
 * Post events on virtual time, as a sender would: each group of events with one `timestamp` is a
 * timer on the clock that sends them in one request and holds the clock until the engine answered.
 * Run the clock (`clock.run()`) to replay them; a failed send is thrown by the returned `check()`.
 */
export function scheduleEvents(clock: VirtualClock, send: (batch: unknown[]) => Promise<unknown>, events: ReadonlyArray<Record<string, unknown>>): { check(): void } {
  const failures: unknown[] = [];
  const sorted = [...events].sort((a, b) => Date.parse(a.timestamp as string) - Date.parse(b.timestamp as string));
  for (let i = 0; i < sorted.length; ) {
    const at = Date.parse(sorted[i]!.timestamp as string);
    const batch: unknown[] = [];
    while (i < sorted.length && Date.parse(sorted[i]!.timestamp as string) === at) batch.push(sorted[i++]);
    clock.schedule(at, () => void clock.track(send(batch).catch((error: unknown) => void failures.push(error))));
  }
  return {
    check() {
      if (failures.length > 0) throw failures[0] as Error;
    },
  };
}
