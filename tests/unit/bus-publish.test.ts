import { describe, expect, it } from 'vitest';
import { publishEntries, type PutEvents } from '../../shared';
import { ManualClock, type BusEntry } from '../../shared';

const entries: BusEntry[] = Array.from({ length: 23 }, (_, i) => ({ Source: 'rapport.ingest', DetailType: 'X', Detail: `{"n":${i}}` }));

/** A scripted PutEvents: records every request; `fail(entry, attempt)` decides per-entry failures. */
function scriptedBus(fail: (detail: string, call: number) => string | undefined | 'throw') {
  const requests: BusEntry[][] = [];
  const put: PutEvents = async (batch) => {
    requests.push(batch);
    const call = requests.length;
    if (batch.some((e) => fail(e.Detail, call) === 'throw')) {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    }
    const results = batch.map((e) => {
      const code = fail(e.Detail, call);
      return code ? { ErrorCode: code, ErrorMessage: `${code} for ${e.Detail}` } : { EventId: `id-${e.Detail}` };
    });
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  };
  return { put, requests };
}

describe('publishEntries', () => {
  it('publishes in calls of at most 10 entries: 3 calls for 23 events', async () => {
    const bus = scriptedBus(() => undefined);
    const result = await publishEntries(bus.put, entries, { clock: new ManualClock() });
    expect(bus.requests.map((r) => r.length)).toEqual([10, 10, 3]);
    expect(result.published.size).toBe(23);
    expect(result.failed).toEqual([]);
    expect(result.calls).toBe(3);
  });

  it('resends only the entries that failed, with backoff, until they succeed', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    // Entries 2 and 15 fail on their first attempt only.
    const bus = scriptedBus((detail, call) => (call <= 3 && (detail === '{"n":2}' || detail === '{"n":15}') ? 'InternalFailure' : undefined));
    const result = await publishEntries(bus.put, entries, { clock, baseDelayMs: 100, random: () => 1 });
    expect(bus.requests).toHaveLength(4);
    expect(bus.requests[3]!.map((e) => e.Detail)).toEqual(['{"n":2}', '{"n":15}']);
    expect(result.published.size).toBe(23);
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.100Z');
  });

  it('retries a throttled call as a whole', async () => {
    const bus = scriptedBus((_d, call) => (call === 1 ? 'throw' : undefined));
    const result = await publishEntries(bus.put, entries.slice(0, 5), { clock: new ManualClock() });
    expect(bus.requests).toHaveLength(2);
    expect(bus.requests[1]).toEqual(bus.requests[0]);
    expect(result.published.size).toBe(5);
  });

  it('reports what still fails after the last attempt, with the bus error', async () => {
    const bus = scriptedBus((detail) => (detail === '{"n":7}' ? 'ThrottlingException' : undefined));
    const result = await publishEntries(bus.put, entries, { clock: new ManualClock(), maxAttempts: 3 });
    expect(result.failed).toEqual([{ position: 7, errorCode: 'ThrottlingException', errorMessage: 'ThrottlingException for {"n":7}' }]);
    expect(result.published.has(7)).toBe(false);
    expect(result.published.size).toBe(22);
    expect(bus.requests.slice(3).map((r) => r.map((e) => e.Detail))).toEqual([['{"n":7}'], ['{"n":7}']]);
  });
});
