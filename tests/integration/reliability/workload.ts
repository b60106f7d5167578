/**
 * Deterministic workloads for the reliability tests: a seeded generator of a
 * clean event history (many customers, explicit timestamps), and a signed
 * sender that resends a request on 503 the way a webhook sender does.
 */
import { prng } from '../../../infra/demo/population';
import type { Engine } from '../../../infra/embedded/engine';
import { TEST_SECRET } from '../../helpers/engine';
import { post, signedRequest } from '../../helpers/webhook';

/** The demo's seeded PRNG (mulberry32), so every run generates the same workload. */
export { prng };

export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

const DAY = 86_400_000;
const MINUTE = 60_000;

export type WireEvent = Record<string, unknown> & { userId: string; timestamp: string; messageId?: string };

export interface History {
  customers: string[];
  /** Every event, globally in timestamp order (each customer's events strictly increasing in time). */
  events: WireEvent[];
}

/**
 * A customer history: identify (twice, a trait changes), Signed Up, orders,
 * product views, complaints and their resolutions, a survey, consent changes.
 *
 * Every event has an explicit timestamp, and every timestamp sits 8 to 12 hours
 * past a whole number of days before `anchor`: segmentation counts whole days,
 * so no tag, stage or score can flip while a test runs (for up to ~4 hours of
 * events per day band and the test's own minutes), whichever engine evaluates
 * the profile last.
 */
export function customerHistories(options: { customers: number; eventsPerCustomer: number; seed: number; anchor: number; prefix: string }): History {
  const random = prng(options.seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const customers: string[] = [];
  const events: WireEvent[] = [];
  const categories = ['baby', 'garden', 'kitchen', 'books'] as const;

  for (let c = 0; c < options.customers; c++) {
    const id = `${options.prefix}-${String(c).padStart(4, '0')}`;
    customers.push(id);
    // What this customer does, in order; times are assigned afterwards.
    const plan: Array<(n: number) => Omit<WireEvent, 'userId' | 'timestamp'>> = [];
    plan.push(() => ({ type: 'identify', traits: { email: `${id}@example.com`, name: `Customer ${c}`, plan: 'free' } }));
    plan.push(() => ({ type: 'track', event: 'Signed Up', properties: { method: pick(['email', 'google', 'apple']) } }));
    const target = Math.max(6, options.eventsPerCustomer + int(-6, 6));
    let complaints = 0;
    const open: string[] = [];
    let orders = 0;
    while (plan.length < target - 1) {
      const roll = random();
      if (roll < 0.3) {
        const o = ++orders;
        plan.push(() => ({ type: 'track', event: 'Order Completed', properties: { orderId: `${id}-o${o}`, revenue: int(500, 25_000) / 100, currency: pick(['EUR', 'USD']) } }));
      } else if (roll < 0.7) {
        const p = int(1, 60);
        plan.push(() => ({ type: 'track', event: 'Product Viewed', properties: { productId: `p-${p}`, category: pick(categories), price: int(100, 9_900) / 100 } }));
      } else if (roll < 0.8 && complaints < 3) {
        const complaintId = `${id}-k${++complaints}`;
        open.push(complaintId);
        plan.push(() => ({ type: 'track', event: 'Complaint Filed', properties: { complaintId, category: pick(['delivery', 'billing', 'quality']), severity: pick(['low', 'medium', 'high']) } }));
      } else if (roll < 0.88 && open.length > 0) {
        const complaintId = open.shift()!;
        plan.push(() => ({ type: 'track', event: 'Complaint Resolved', properties: { complaintId, resolution: 'refund' } }));
      } else if (roll < 0.93) {
        const nps = random() < 0.5;
        plan.push(() => ({ type: 'track', event: 'Survey Responded', properties: nps ? { surveyType: 'nps', score: int(0, 10) } : { surveyType: 'csat', score: int(1, 5) } }));
      } else if (roll < 0.96) {
        plan.push(() => ({ type: 'track', event: random() < 0.5 ? 'Unsubscribed' : 'Subscribed', properties: { channel: pick(['email', 'sms']) } }));
      } else {
        plan.push(() => ({ type: 'identify', traits: { plan: pick(['free', 'pro', 'team']), city: pick(['Paris', 'Lyon', 'Berlin']) } }));
      }
    }
    plan.push(() => ({ type: 'identify', traits: { plan: pick(['pro', 'team']) } }));

    // Times: days back from `startDaysBack` down to `endDaysBack`, non-increasing; minutes strictly decreasing within the band.
    const startDaysBack = int(10, 230);
    const endDaysBack = int(0, Math.min(startDaysBack, 120));
    let daysBack = startDaysBack;
    plan.forEach((make, i) => {
      if (i > 0) daysBack = Math.max(endDaysBack, daysBack - int(0, Math.ceil((startDaysBack - endDaysBack) / (plan.length / 2))));
      const at = options.anchor - 8 * 3_600_000 - daysBack * DAY - (239 - i) * MINUTE;
      events.push({ ...make(i), userId: id, timestamp: new Date(at).toISOString() } as WireEvent);
    });
  }
  events.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  return { customers, events };
}

export interface Delivery {
  /** webhook-id: the same on a redelivery. */
  id: string;
  body: unknown;
}

/**
 * POST one signed delivery to /v1/events, signed afresh on each attempt (as a
 * sender's retry is), resending on any 5xx until it is accepted (a 503 names
 * events not yet published; a 500 can be the 30 s integration timeout on a busy
 * machine). Returns the final response and how many 5xx it took.
 */
export async function deliver(engine: Engine, delivery: Delivery, options: { maxAttempts?: number; secret?: string } = {}) {
  const maxAttempts = options.maxAttempts ?? 100;
  let unavailable = 0;
  for (let attempt = 1; ; attempt++) {
    const res = await post(`${engine.url}/v1/events`, signedRequest(options.secret ?? TEST_SECRET, delivery.body, { id: delivery.id }));
    if (res.status < 500 || attempt >= maxAttempts) return { ...res, unavailable };
    unavailable++;
    await new Promise((r) => setTimeout(r, Math.min(1_000, 5 * 2 ** attempt)));
  }
}

/** Run `fn` over `items` with at most `limit` in flight, in order of start. */
export { mapLimit as inFlight } from '../../../shared';

/** The messageIds of ingest events on the bus, with how often each is there. */
export function ingestCounts(engine: Engine): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of engine.bus.log) {
    if (e.source !== 'rapport.ingest') continue;
    const id = (e.detail as { messageId: string }).messageId;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
