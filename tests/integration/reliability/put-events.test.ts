/**
 * EventBridge misbehaving: PutEvents reports 10% of entries failed (per-entry
 * partial failure, ingest and derived events alike) and throttles whole calls in
 * bursts. Nothing is lost and nothing is doubled where the bus's consumers are:
 * the profile consumer is delivered every event exactly once, and profiles count
 * every order once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../infra/embedded/engine';
import { VirtualClock } from '../../../infra/embedded/virtual-time';
import { client } from '../../helpers/client';
import { startTestEngine } from '../../helpers/engine';
import { runsOf } from '../../helpers/journeys';
import { expectedStats, statsOf } from './expected';
import { customerHistories, deliver, inFlight, prng, shuffle, type Delivery, type WireEvent } from './workload';

const anchor = Date.now();
const history = customerHistories({ customers: 25, eventsPerCustomer: 12, seed: 11, anchor, prefix: 'pe' });
const events: WireEvent[] = history.events.map((e, i) => ({ ...e, messageId: `pe-m-${i}` }));
const random = prng(99);

/**
 * The engine's clock: virtual time, standing at `anchor` but for the retries `settle` runs. A publisher's retries
 * back off a real millisecond at most on it, a failed delivery's retries are timers on it (50 ms, then 100 ms).
 */
const clock = new VirtualClock(anchor);
/** A delivery's retry backoff is a timer on the clock; a journey's shortest wait is an hour. */
const RETRY_HORIZON_MS = 60_000;

/** Every delivery made, retries included: the engine idle, and the clock run through the timers due within RETRY_HORIZON_MS. */
async function settle(): Promise<void> {
  for (;;) {
    await engine.settle();
    const due = clock.nextDue;
    if (due === undefined || due > clock.now().getTime() + RETRY_HORIZON_MS) return;
    clock.advance(due);
  }
}

let engine: Engine;
const entryFaults = { ingest: 0, profile: 0 };
let throttledCalls = 0;
/** Deliveries of each messageId to the profile consumer's rule (what EventBridge hands the target). */
const delivered = new Map<string, number>();
const starterDeliveries = new Map<string, number>();

beforeAll(async () => {
  engine = await startTestEngine({
    clock,
    // The histories span days before the anchor: they test delivery, not trigger freshness (trigger.max_age).
    triggerMaxAgeSeconds: null,
    sweepEveryMs: 0,
    sendPolicy: { quietHours: undefined },
    logLevel: 'SILENT',
    faults: {
      putEventsEntries: (entry) => {
        if (random() >= 0.1) return undefined;
        entryFaults[entry.Source === 'rapport.ingest' ? 'ingest' : 'profile']++;
        return { ErrorCode: 'InternalFailure', ErrorMessage: 'injected partial failure' };
      },
      // A burst of 4 throttled calls every 25 PutEvents calls.
      putEvents: ({ n }) => {
        if (n % 25 >= 4) return undefined;
        throttledCalls++;
        return 'ThrottlingException';
      },
    },
  });
  for (const rule of engine.bus.rules) {
    const target = rule.target;
    const counts = rule.name === 'profile-consumer' ? delivered : rule.name.startsWith('journey-') ? starterDeliveries : undefined;
    if (!counts) continue;
    rule.target = (event, delivery) => {
      const id = (event.detail as { messageId: string }).messageId;
      counts.set(id, (counts.get(id) ?? 0) + 1);
      return target(event, delivery);
    };
  }

  const shuffled = shuffle([...events], random);
  const deliveries: Delivery[] = [];
  for (let i = 0; i < shuffled.length; i += 40) deliveries.push({ id: `wh-pe-${i}`, body: { batch: shuffled.slice(i, i + 40) } });
  await inFlight(deliveries, 4, async (d) => {
    const res = await deliver(engine, d);
    if (res.status !== 202) throw new Error(`${d.id}: ${res.status} ${res.text.slice(0, 300)}`);
  });
  await settle();
}, 120_000);
afterAll(() => engine.stop());

describe('PutEvents with 10% of entries failing and throttling bursts', () => {
  // Since the 2026-12-05 merges no request exhausts its PutEvents attempts here (0 answered 503): the
  // request-level retry path is not exercised by this workload any more; see the issue 11 note.
  it('injected the faults it claims to (ingest and derived entries, whole calls)', () => {
    expect(entryFaults.ingest).toBeGreaterThan(events.length * 0.05);
    expect(entryFaults.profile).toBeGreaterThan(0);
    expect(throttledCalls).toBeGreaterThan(10);
  });

  it('delivers every event to the profile consumer exactly once, and puts each on the bus once', () => {
    expect([...delivered.keys()].sort()).toEqual(events.map((e) => e.messageId).sort());
    expect([...delivered.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    const onBus = engine.bus.log.filter((e) => e.source === 'rapport.ingest').map((e) => (e.detail as { messageId: string }).messageId);
    expect(onBus).toHaveLength(events.length);
    expect(engine.deadLetters).toEqual([]);
  });

  it('counts every order once in every profile', async () => {
    const api = client(engine);
    for (const id of history.customers) expect(statsOf(await api.customer(id)), id).toEqual(expectedStats(events, id));
  });

  it('enrols each customer once in welcome, however often derived or trigger events are delivered', async () => {
    for (const id of history.customers) {
      const runs = (await runsOf(engine, id)).filter((r) => r.journeyId === 'welcome');
      expect(runs, id).toHaveLength(1);
    }
    const signUps = events.filter((e) => e.event === 'Signed Up').map((e) => e.messageId!);
    // A customer event's trigger is enrolled by the profile consumer (delivered once, above): no trigger rule carries it.
    for (const id of signUps) expect([starterDeliveries.get(id), delivered.get(id)], id).toEqual([undefined, 1]);
  });
});
