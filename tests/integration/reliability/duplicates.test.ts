/**
 * 10,000 webhook events, 30% of them duplicates (the same messageId in another
 * request, or a whole request redelivered with the same webhook-id), in shuffled
 * order: every profile ends up as the clean, in-order, once-each sequence makes
 * it, and no journey enrols a customer twice.
 *
 * One engine, two copies of the same seeded histories: `clean-*` customers get
 * their events once each, in time order; `dup-*` customers get the noisy stream.
 * The two are compared through GET /v1/customers/{id}.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../infra/embedded/engine';
import { VirtualClock } from '../../../infra/embedded/virtual-time';
import { normaliseEvent, toBusEntry } from '../../../shared';
import { client, type CustomerView } from '../../helpers/client';
import { startTestEngine } from '../../helpers/engine';
import { runsOf } from '../../helpers/journeys';
import { customerHistories, deliver, inFlight, prng, shuffle, type Delivery, type WireEvent } from './workload';

/**
 * 10,000 deliveries (about 2.5 minutes of one core of this 2-core machine: the engine's own work, as
 * it runs every journey the events trigger; the test waits for nothing). RAPPORT_RELIABILITY_EVENTS=1000
 * runs the same mix smaller, for a quick local check.
 */
const DELIVERED = Number(process.env.RAPPORT_RELIABILITY_EVENTS ?? 10_000);
const DUPLICATE_SHARE = 0.3;
const CUSTOMERS = Math.max(20, Math.round(DELIVERED / 40));
const UNIQUE = Math.round(DELIVERED * (1 - DUPLICATE_SHARE));

const anchor = Date.now();
const random = prng(20_261_123);
/** The engine's clock: virtual time, standing at `anchor` but for the retries it runs (`settle`). */
const clock = new VirtualClock(anchor);
/** A delivery's retry backoff is a timer on the clock (50 ms, then 100 ms); a journey's shortest wait is an hour. */
const RETRY_HORIZON_MS = 60_000;
let engine: Engine;
let api: ReturnType<typeof client>;

/** The same histories for both copies; only the customer prefix differs. */
function histories(prefix: string) {
  const h = customerHistories({ customers: CUSTOMERS, eventsPerCustomer: Math.ceil(UNIQUE / CUSTOMERS) + 2, seed: 7, anchor, prefix });
  if (h.events.length < UNIQUE) throw new Error(`the workload has ${h.events.length} events, fewer than ${UNIQUE}`);
  const events = h.events.slice(0, UNIQUE);
  const present = new Set(events.map((e) => e.userId));
  return { customers: h.customers.filter((c) => present.has(c)), events };
}
const clean = histories('clean');
const noisy = histories('dup');

/**
 * The noisy stream: every event once in shuffled batches of 1..500, then 30% more
 * as duplicates: whole batches redelivered with the same webhook-id (events
 * without a messageId are recognised by it), and events with a messageId sent
 * again inside other requests. All requests in one shuffled order.
 */
function noisyDeliveries(): { deliveries: Delivery[]; duplicates: number } {
  // Two events in three carry their own messageId; the others get one derived from the webhook-id and their index.
  const events: WireEvent[] = noisy.events.map((e, i) => (i % 3 === 2 ? { ...e } : { ...e, messageId: `dup-m-${i}` }));
  shuffle(events, random);
  const originals: Delivery[] = [];
  for (let i = 0; i < events.length; ) {
    const size = Math.min(events.length - i, 1 + Math.floor(random() * 100));
    originals.push({ id: `wh-dup-${originals.length}`, body: { batch: events.slice(i, i + size) } });
    i += size;
  }
  const target = DELIVERED - UNIQUE;
  const deliveries = [...originals];
  let duplicates = 0;
  // About half the duplicates are redelivered requests (same webhook-id, same body), small ones first to land near the target.
  for (const d of shuffle([...originals], random).sort((a, b) => sizeOf(a) - sizeOf(b))) {
    if (duplicates + sizeOf(d) > target / 2) break;
    deliveries.push(d);
    duplicates += sizeOf(d);
  }
  // The rest: events with a messageId again, in new requests, mixed with nothing else.
  const withId = events.filter((e) => e.messageId !== undefined);
  let extra: WireEvent[] = [];
  while (duplicates < target) {
    extra.push(withId[Math.floor(random() * withId.length)]!);
    duplicates++;
    if (extra.length === 250 || duplicates === target) {
      deliveries.push({ id: `wh-dup-extra-${deliveries.length}`, body: { batch: extra } });
      extra = [];
    }
  }
  return { deliveries: shuffle(deliveries, random), duplicates };
}
const sizeOf = (d: Delivery) => (d.body as { batch: unknown[] }).batch.length;

/** Time-ordered events in waves holding at most one event per customer: each customer's events apply in order. */
function waves(events: readonly WireEvent[]): WireEvent[][] {
  const out: WireEvent[][] = [];
  const next = new Map<string, number>();
  for (const e of events) {
    const k = next.get(e.userId) ?? 0;
    (out[k] ??= []).push(e);
    next.set(e.userId, k + 1);
  }
  return out;
}

/**
 * Every delivery made, retries included: the engine idle, and the clock run through the timers due within
 * RETRY_HORIZON_MS (a delivery's retry backoff), never to a journey's wait. Called by the clean run between
 * waves while the noisy run goes on: each attempt of a delivery holds the clock, so time moves only when both are idle.
 */
async function settle(): Promise<void> {
  for (;;) {
    await engine.settle();
    const due = clock.nextDue;
    if (due === undefined || due > clock.now().getTime() + RETRY_HORIZON_MS) return;
    clock.advance(due);
  }
}

beforeAll(async () => {
  // Virtual time: the clock stands still while the engine works, so journeys start, no wait of theirs ends (the
  // shortest is an hour), and no whole-day boundary of segmentation is crossed while the test runs (see
  // customerHistories), however long the machine takes. The histories span days before the anchor: they test
  // delivery, not trigger freshness (trigger.max_age).
  engine = await startTestEngine({ triggerMaxAgeSeconds: null, clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT' });
  api = client(engine);

  // The clean sequence: each event once, each customer's in time order, normalised as ingest does and put
  // straight on the bus (the reference needs the profile consumer, not a second pass through ingest).
  // It runs alongside the noisy stream: different customers, and the engine waits on I/O more than on CPU.
  const cleanRun = async () => {
    let n = 0;
    for (const wave of waves(clean.events)) {
      const entries = wave.map((e) => {
        const result = normaliseEvent({ ...e, messageId: `clean-m-${++n}` }, 0, { sourceId: 'default', receivedAt: new Date(anchor) });
        if (!result.ok) throw new Error(`clean event ${JSON.stringify(e)}: ${JSON.stringify(result.problems)}`);
        return toBusEntry(result.event);
      });
      for (let i = 0; i < entries.length; i += 10) engine.bus.putEvents(entries.slice(i, i + 10));
      await settle(); // the whole wave is applied before the next one starts
    }
  };

  const { deliveries, duplicates } = noisyDeliveries();
  expect(deliveries.reduce((n, d) => n + sizeOf(d), 0)).toBe(DELIVERED);
  expect(duplicates).toBe(DELIVERED - UNIQUE);
  const noisyRun = () =>
    inFlight(deliveries, 4, async (d) => {
      const res = await deliver(engine, d);
      if (res.status !== 202) throw new Error(`delivery ${d.id}: ${res.status} ${res.text.slice(0, 500)}`);
    });
  await Promise.all([cleanRun(), noisyRun()]);
  await settle();
}, Math.max(240_000, DELIVERED * 150));
afterAll(() => engine.stop());

/**
 * The profile with the run's id prefix taken out. A denial's consent key is the instant ingest
 * received it (the consent rule: no sender timestamp can beat a denial), so the clean and the
 * noisy run, sent at different moments, differ there by construction: checked to be a receipt
 * no earlier than the denial's own time, then set aside. Its `at` (since when: the earliest
 * denial after the last grant, whatever the arrival order) is compared.
 */
const neutral = (view: CustomerView, prefix: string) => {
  const v = JSON.parse(JSON.stringify(view).replaceAll(`${prefix}-`, 'X-')) as CustomerView;
  for (const record of Object.values(v.consent) as Array<{ status: string; at: string; key?: string }>) {
    if (record.status !== 'denied') continue;
    expect(record.key, `${view.id}: a denial's key is its receipt`).toBeDefined();
    expect(record.key! >= record.at, `${view.id}: receipt ${record.key} before the denial's time ${record.at}`).toBe(true);
    record.key = '<receipt>';
  }
  return v;
};

describe(`${DELIVERED.toLocaleString('en')} events, ${DUPLICATE_SHARE * 100}% duplicates, shuffled`, () => {
  it('publishes each distinct event once and nothing is dead-lettered', () => {
    const ids = engine.bus.log.filter((e) => e.source === 'rapport.ingest' && (e.detail as { userId: string }).userId.startsWith('dup-')).map((e) => (e.detail as { messageId: string }).messageId);
    expect(ids).toHaveLength(UNIQUE);
    expect(new Set(ids).size).toBe(UNIQUE);
    expect(engine.deadLetters).toEqual([]);
  });

  it('leaves every profile equal to the one the clean sequence makes', async () => {
    const orders = noisy.events.filter((e) => e.event === 'Order Completed');
    let orderCount = 0;
    let revenue = 0;
    await inFlight(clean.customers, 8, async (cleanId, i) => {
      const dupId = noisy.customers[i]!;
      const [expected, actual] = await Promise.all([api.customer(cleanId), api.customer(dupId)]);
      expect(neutral(actual, 'dup'), dupId).toEqual(neutral(expected, 'clean'));
      orderCount += actual.stats.orderCount;
      revenue += Math.round(actual.stats.totalRevenue * 100);
    });
    // And the clean sequence itself counted right: every order once, revenue to the cent.
    expect(orderCount).toBe(orders.length);
    expect(revenue).toBe(orders.reduce((sum, e) => sum + Math.round((e.properties as { revenue: number }).revenue * 100), 0));
  });

  it('enrols each customer at most once per journey (once per complaint), as often as the clean sequence does', async () => {
    await inFlight(clean.customers, 8, async (cleanId, i) => {
      const dupId = noisy.customers[i]!;
      const [expected, actual] = await Promise.all([runsOf(engine, cleanId), runsOf(engine, dupId)]);
      const keys = (runs: typeof actual) => runs.map((r) => `${r.journeyId}/${(r as unknown as { key: string }).key}`);
      expect(new Set(keys(actual)).size, dupId).toBe(actual.length);
      const count = (runs: typeof actual, journeyId: string) => runs.filter((r) => r.journeyId === journeyId).length;
      expect(count(actual, 'welcome'), dupId).toBe(count(expected, 'welcome'));
      expect(count(actual, 'complaint-follow-up'), dupId).toBe(count(expected, 'complaint-follow-up'));
      expect(count(actual, 'win-back'), dupId).toBeLessThanOrEqual(1);
    });
    const welcomed = noisy.events.filter((e) => e.event === 'Signed Up').length;
    expect(engine.journeys.sfn.executions.size).toBeGreaterThanOrEqual(2 * welcomed);
  });
});
