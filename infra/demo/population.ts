/**
 * A synthetic customer population for the demo (`npm run demo`) and for
 * `rapport simulate`: reproducible (a seeded PRNG, no clock, no I/O in
 * `generatePopulation`), Rapport events as a sender posts them to /v1/events,
 * each with an explicit `timestamp` and `messageId`.
 *
 * Behaviour over the window (120 days by default):
 * - sign-ups spread over time, a quarter of them in a launch burst in the first
 *   two weeks (an `identify` with email, name and time zone, then `Signed Up`);
 * - personas: browsers who never order, one-time buyers, repeat buyers, loyal
 *   buyers (5–10 orders, the VIPs) and, among early sign-ups, customers who buy
 *   in their first weeks and go quiet: 90 days after their last order the daily
 *   sweep makes them dormant (`Customer Became Inactive` → win-back); some come
 *   back with an order 91–116 days after their last one;
 * - product views before each order and in browsing sessions, in eight
 *   categories; one customer in seven is a new parent who browses baby gear;
 * - orders with a log-normal revenue (median about 45 EUR, loyal customers more);
 * - complaints after about 6% of orders (`complaintId`), most resolved within
 *   hours, some after a day or more (escalated), some never;
 * - NPS survey answers after some orders and after resolved complaints;
 * - unsubscribes from email (or everything) by a few % of customers.
 *
 * Events happen in the customer's waking hours (their time zone, from a fixed
 * UTC offset table), and are returned sorted by time (per customer too).
 */
import { writeFileSync } from 'node:fs';
import { prng } from '../../shared';

export interface PopulationOptions {
  customers: number;
  days: number;
  seed: number;
  /** Day 0 (the window is [start, start + days)). */
  start: Date | string;
  /**
   * The product categories orders and views use instead of the built-in ones (equally likely), for a journey whose
   * conditions name its own (`products: { category: [sofa] }`); a repeat buyer's next order mostly follows the list
   * (`FOLLOW_ON`). Absent: CATEGORIES with their weights.
   */
  categories?: readonly string[];
  /** The share of customers (0 to 1) whose identify carries a `phone` trait (fictional numbers), for SMS journeys. Absent: none. */
  phones?: number;
}

/** What a category given to the demo may be: what a journey's condition can name and a product can carry. */
export const DEMO_CATEGORY = /^[a-z0-9][a-z0-9 _-]{0,49}$/i;

/** A fictional French mobile number (ARCEP's range for fiction, +33 6 39 98 00 00 to 99 99): one per customer, repeating after 10,000. */
export const demoPhone = (i: number) => `+3363998${String(i % 10_000).padStart(4, '0')}`;

/** One Rapport event as posted to /v1/events (NDJSON-able). */
export interface DemoEvent {
  type: 'identify' | 'track';
  messageId: string;
  userId: string;
  event?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  timestamp: string;
}

export type Persona = 'browser' | 'one-time' | 'repeat' | 'loyal' | 'lapsing';

/** What the generator decided for a customer (for tests and the demo's summary; not sent). */
export interface DemoCustomer {
  id: string;
  persona: Persona;
  timezone?: string;
  signedUpAt: string;
  orders: number;
  complaints: number;
  unsubscribed: boolean;
  parent: boolean;
  lastOrderAt?: string;
  /** A lapsing customer who orders again after going quiet (within the window). */
  comesBack: boolean;
}

export interface Population {
  options: { customers: number; days: number; seed: number; start: string };
  start: string;
  end: string;
  events: DemoEvent[];
  customers: DemoCustomer[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MINUTE = 60_000;

export const CATEGORIES = ['baby', 'electronics', 'home', 'fashion', 'beauty', 'sports', 'books', 'toys'] as const;
const CATEGORY_WEIGHTS = [0.06, 0.16, 0.18, 0.2, 0.12, 0.1, 0.1, 0.08];
const PRICE_MEDIAN: Record<(typeof CATEGORIES)[number], number> = { baby: 35, electronics: 90, home: 40, fashion: 45, beauty: 25, sports: 50, books: 15, toys: 25 };
/**
 * With `categories`, the chance that a repeat buyer's next order is in the category listed after the one of their
 * last order (`sofa,coffee-table`: most sofa buyers who order again buy a coffee table): the "bought after" pairs
 * the demo's summary and the journeys' `recommendations` show. The built-in categories follow no such order.
 */
export const FOLLOW_ON = 0.7;

/** The median price of a category given with `categories`. */
const CUSTOM_PRICE_MEDIAN = 60;

/** Time zones with a fixed UTC offset in hours (standard time; good enough for "waking hours"). */
const TIME_ZONES: Array<[zone: string | undefined, offsetHours: number, weight: number]> = [
  ['Europe/Paris', 1, 26],
  ['Europe/Berlin', 1, 14],
  ['Europe/London', 0, 14],
  ['Europe/Madrid', 1, 8],
  ['America/New_York', -5, 14],
  ['America/Los_Angeles', -8, 7],
  ['Asia/Tokyo', 9, 6],
  ['Australia/Sydney', 11, 4],
  [undefined, 0, 7], // no timezone trait: the engine's default applies
];

const FIRST_NAMES = ['Ada', 'Alan', 'Grace', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Frances', 'Edsger', 'Hedy', 'Tim', 'Radia', 'Donald', 'Katherine', 'John', 'Sophie', 'Yukihiro', 'Lena', 'Marco', 'Ines', 'Omar', 'Priya', 'Chen', 'Fatima', 'Lucas', 'Amara', 'Noah', 'Elena', 'Kofi'];
const LAST_NAMES = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Hamilton', 'Ritchie', 'Liskov', 'Thompson', 'Allen', 'Dijkstra', 'Lamarr', 'Berners-Lee', 'Perlman', 'Knuth', 'Johnson', 'Backus', 'Wilson', 'Matsumoto', 'Schmidt', 'Rossi', 'Garcia', 'Haddad', 'Patel', 'Wang', 'Okafor', 'Martin', 'Mensah', 'Dubois', 'Novak', 'Sato'];
const COMPLAINT_CATEGORIES: Array<[string, number]> = [['delivery', 45], ['damaged', 20], ['billing', 15], ['quality', 15], ['service', 5]];
const RESOLUTIONS = ['refund', 'replacement', 'voucher', 'explanation'];

export { prng };

class Rng {
  constructor(readonly next: () => number) {}
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(lo: number, hi: number): number {
    return Math.floor(this.uniform(lo, hi + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
    const total = items.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [item, w] of items) if ((r -= w) < 0) return item;
    return items[items.length - 1]![0];
  }
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }
}

/** A local hour of activity: mostly daytime, peaks at lunch and in the evening, rarely at night. */
function localHour(rng: Rng): number {
  const h = rng.weighted<number>([
    [7, 3], [8, 5], [9, 6], [10, 6], [11, 6], [12, 8], [13, 7], [14, 5], [15, 5], [16, 5],
    [17, 6], [18, 7], [19, 9], [20, 9], [21, 7], [22, 4], [23, 2], [1, 1],
  ]);
  return h + rng.next();
}

export function generatePopulation(options: PopulationOptions): Population {
  const { customers, days, seed } = options;
  if (!Number.isInteger(customers) || customers < 1) throw new Error(`customers must be a positive whole number, got ${customers}`);
  if (!Number.isInteger(days) || days < 1) throw new Error(`days must be a positive whole number, got ${days}`);
  if (!Number.isInteger(seed)) throw new Error(`seed must be a whole number, got ${seed}`);
  const start = new Date(options.start).getTime();
  if (Number.isNaN(start)) throw new Error(`start must be a date, got ${String(options.start)}`);
  const end = start + days * DAY;
  const custom = options.categories;
  if (custom !== undefined) {
    if (custom.length === 0) throw new Error('categories must name at least one category');
    const bad = custom.find((c) => !DEMO_CATEGORY.test(c));
    if (bad !== undefined) throw new Error(`categories: ${JSON.stringify(bad)} is not a category name (letters, digits, space, - or _, at most 50)`);
  }
  const phones = options.phones;
  if (phones !== undefined && !(phones >= 0 && phones <= 1)) throw new Error(`phones must be a share from 0 to 1, got ${phones}`);
  const rng = new Rng(prng(seed));
  const width = String(customers).length;

  const all: Array<DemoEvent & { at: number; seq: number }> = [];
  const people: DemoCustomer[] = [];
  let orderSeq = 0;
  let complaintSeq = 0;
  let productSeq = 0;

  for (let i = 1; i <= customers; i++) {
    const id = `cust-${String(i).padStart(width, '0')}`;
    const [timezone, offset] = rng.weighted(TIME_ZONES.map(([z, o, w]) => [[z, o] as const, w] as const));
    /** A moment on day `d` (days since start, fractional part ignored) at a local waking hour. */
    const onDay = (d: number) => start + Math.floor(d) * DAY + (localHour(rng) - offset) * HOUR;
    const events: Array<{ at: number; type: 'identify' | 'track'; event?: string; properties?: Record<string, unknown>; traits?: Record<string, unknown> }> = [];
    const track = (at: number, event: string, properties: Record<string, unknown>) => events.push({ at, type: 'track', event, properties });

    // Sign-up: a launch burst in the first two weeks, then steadily over the window (not in its last 2 days).
    const signupDay = rng.chance(0.25) ? rng.uniform(0, Math.min(14, days)) : rng.uniform(0, Math.max(1, days - 2));
    const signedUpAt = Math.max(start, onDay(signupDay));
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    events.push({
      at: signedUpAt,
      type: 'identify',
      traits: {
        email: `${first}.${last}.${i}@example.com`.toLowerCase(),
        name: `${first} ${last}`,
        firstName: first,
        lastName: last,
        ...(timezone && { timezone }),
        // Drawn only when asked: without phones the same seed gives the same events as before.
        ...(phones !== undefined && rng.chance(phones) && { phone: demoPhone(i) }),
      },
    });
    track(signedUpAt + 1000, 'Signed Up', { method: rng.weighted([['email', 60], ['google', 25], ['apple', 15]]) });

    const early = signupDay <= days - 100;
    const persona: Persona = rng.weighted<Persona>(
      early
        ? [['browser', 25], ['one-time', 25], ['repeat', 15], ['loyal', 5], ['lapsing', 30]]
        : [['browser', 32], ['one-time', 33], ['repeat', 28], ['loyal', 7]],
    );
    const parent = rng.chance(1 / 7);
    const category = (): string =>
      custom !== undefined ? rng.pick(custom) : parent && rng.chance(0.6) ? 'baby' : rng.weighted(CATEGORIES.map((c, k) => [c, CATEGORY_WEIGHTS[k]!] as const));
    const nextCategory = (last: string | undefined): string => {
      const after = custom !== undefined && last !== undefined ? custom[custom.indexOf(last) + 1] : undefined;
      return after !== undefined && rng.chance(FOLLOW_ON) ? after : category();
    };
    const product = (cat: string) => {
      const n = (productSeq = (productSeq % 400) + 1);
      const median = PRICE_MEDIAN[cat as (typeof CATEGORIES)[number]] ?? CUSTOM_PRICE_MEDIAN;
      return { productId: `p-${cat.replaceAll(' ', '-')}-${String(n).padStart(3, '0')}`, name: `${cat} item ${n}`, category: cat, price: Math.round(rng.logNormal(median, 0.5) * 100) / 100 };
    };
    const view = (at: number, cat: string = category()) => {
      const p = product(cat);
      track(at, 'Product Viewed', p);
      return p;
    };
    const session = (at: number, views: number, cat?: string) => {
      for (let v = 0; v < views; v++) view(at + v * rng.uniform(1, 6) * MINUTE, cat);
    };

    // Browsing: every customer a few sessions; a new parent starts with three baby products in one sitting.
    const activeUntil = persona === 'lapsing' ? Math.min(end, signedUpAt + 25 * DAY) : end;
    if (parent) session(signedUpAt + rng.uniform(0.2, 3) * DAY, 3, custom === undefined ? 'baby' : category());
    const sessions = persona === 'browser' ? rng.int(1, 3) : rng.int(0, 1);
    for (let s = 0; s < sessions; s++) session(signedUpAt + rng.uniform(0.05, 1) * (activeUntil - signedUpAt), rng.int(1, 3));

    // Orders: when the first comes, how many follow and how far apart.
    const orderTimes: number[] = [];
    if (persona !== 'browser') {
      const delay = rng.weighted<[number, number]>([[[1 * HOUR, 20 * HOUR], 35], [[1 * DAY, 3 * DAY], 30], [[3 * DAY, 25 * DAY], 35]]);
      let at = signedUpAt + rng.uniform(delay[0], delay[1]);
      const count = persona === 'one-time' ? 1 : persona === 'repeat' ? rng.int(2, 5) : persona === 'loyal' ? rng.int(5, 10) : rng.int(1, 2);
      const gapMedianDays = persona === 'loyal' ? 9 : persona === 'repeat' ? 18 : 5;
      for (let n = 0; n < count; n++) {
        if (n > 0) at += Math.max(2, rng.logNormal(gapMedianDays, 0.5)) * DAY;
        if (persona === 'lapsing' && at > signedUpAt + 25 * DAY) break;
        orderTimes.push(at);
      }
    }
    let comesBack = false;
    if (persona === 'lapsing' && orderTimes.length > 0 && rng.chance(0.4)) {
      orderTimes.push(orderTimes[orderTimes.length - 1]! + rng.uniform(91, 116) * DAY);
      comesBack = true;
    }

    let complaints = 0;
    let previous: string | undefined;
    for (const at of orderTimes) {
      // One to three products viewed in the hour before, the first of them bought. With the journey's own categories,
      // a repeat buyer's next order is mostly in the category listed after their last one (sofa, then coffee-table).
      const cat = nextCategory(previous);
      previous = cat;
      const viewed = rng.int(1, 3);
      const bought = view(at - rng.uniform(10, 60) * MINUTE, cat);
      if (viewed > 1) session(at - rng.uniform(60, 120) * MINUTE, viewed - 1);
      const extra = rng.chance(0.35) ? [product(category())] : [];
      const products = [bought, ...extra].map((p) => ({ ...p, quantity: rng.chance(0.15) ? 2 : 1 }));
      const scale = persona === 'loyal' ? 1.4 : 1;
      const revenue = Math.max(5, Math.round(rng.logNormal(45 * scale, 0.6) * 100) / 100);
      const orderId = `ord-${String(++orderSeq).padStart(6, '0')}`;
      track(at, 'Order Completed', { orderId, revenue, currency: 'EUR', products });

      // A complaint after about 6% of orders (at most two per customer); most resolved within hours.
      if (complaints < 2 && rng.chance(0.06)) {
        complaints++;
        const complaintId = `cmp-${String(++complaintSeq).padStart(5, '0')}`;
        const filedAt = at + rng.uniform(1, 4) * DAY;
        track(filedAt, 'Complaint Filed', {
          complaintId,
          orderId,
          category: rng.weighted(COMPLAINT_CATEGORIES),
          severity: rng.weighted([['low', 30], ['medium', 45], ['high', 20], ['critical', 5]]),
          channel: rng.weighted([['email', 50], ['chat', 30], ['phone', 20]]),
        });
        const outcome = rng.weighted([['hours', 60], ['days', 25], ['never', 15]]);
        if (outcome !== 'never') {
          const resolvedAt = filedAt + (outcome === 'hours' ? rng.uniform(3, 18) * HOUR : rng.uniform(26, 70) * HOUR);
          track(resolvedAt, 'Complaint Resolved', { complaintId, resolution: rng.pick(RESOLUTIONS) });
          // Half answer the satisfaction survey sent after the resolution; mostly not happy.
          if (rng.chance(0.5)) {
            const score = rng.weighted([[rng.int(0, 6), 55], [rng.int(7, 8), 30], [rng.int(9, 10), 15]]);
            track(resolvedAt + rng.uniform(2, 48) * HOUR, 'Survey Responded', { surveyType: 'nps', score, surveyId: `nps-${complaintId}` });
          }
        }
      } else if (rng.chance(0.15)) {
        // An NPS answer a few days after some orders.
        const score = rng.weighted([[rng.int(9, 10), 45], [rng.int(7, 8), 33], [rng.int(0, 6), 22]]);
        track(onDay((at - start) / DAY + rng.uniform(2, 7)), 'Survey Responded', { surveyType: 'nps', score, surveyId: `nps-${orderId}` });
      }
    }

    // A few % unsubscribe, most of them in their first weeks.
    const unsubscribes = rng.chance(0.04);
    if (unsubscribes) {
      const at = signedUpAt + Math.min(rng.logNormal(6, 1) * DAY, 0.98 * (end - signedUpAt));
      track(at, 'Unsubscribed', { channel: rng.chance(0.8) ? 'email' : 'all', reason: rng.pick(['too many emails', 'not interested', 'never signed up', 'other']) });
    }

    const inWindow = events.filter((e) => e.at >= start && e.at < end).sort((a, b) => a.at - b.at);
    inWindow.forEach((e, n) =>
      all.push({
        type: e.type,
        messageId: `demo-${seed}-${id}-${n + 1}`,
        userId: id,
        ...(e.event !== undefined && { event: e.event }),
        ...(e.properties && { properties: e.properties }),
        ...(e.traits && { traits: e.traits }),
        timestamp: new Date(Math.round(e.at)).toISOString(),
        at: Math.round(e.at),
        seq: all.length,
      }),
    );
    const orders = inWindow.filter((e) => e.event === 'Order Completed');
    people.push({
      id,
      persona,
      ...(timezone && { timezone }),
      signedUpAt: new Date(signedUpAt).toISOString(),
      orders: orders.length,
      complaints: inWindow.filter((e) => e.event === 'Complaint Filed').length,
      unsubscribed: inWindow.some((e) => e.event === 'Unsubscribed'),
      parent,
      ...(orders.length > 0 && { lastOrderAt: new Date(orders[orders.length - 1]!.at).toISOString() }),
      comesBack: comesBack && orders.length === orderTimes.length,
    });
  }

  all.sort((a, b) => a.at - b.at || a.seq - b.seq);
  return {
    options: { customers, days, seed, start: new Date(start).toISOString() },
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    events: all.map(({ at: _at, seq: _seq, ...e }) => e),
    customers: people,
  };
}

/** The events as NDJSON: one event per line, in time order. */
export function toNdjson(events: readonly DemoEvent[]): string {
  return events.map((e) => JSON.stringify(e)).join('\n') + '\n';
}

export function writePopulation(file: string, population: Population): void {
  writeFileSync(file, toNdjson(population.events));
}

/** Counts that describe a population (for the demo's header and the tests). */
export function describePopulation(p: Population) {
  const byEvent: Record<string, number> = {};
  for (const e of p.events) {
    const name = e.type === 'track' ? e.event! : 'identify';
    byEvent[name] = (byEvent[name] ?? 0) + 1;
  }
  const personas: Record<string, number> = {};
  for (const c of p.customers) personas[c.persona] = (personas[c.persona] ?? 0) + 1;
  const endMs = new Date(p.end).getTime();
  return {
    events: p.events.length,
    byEvent,
    personas,
    buyers: p.customers.filter((c) => c.orders > 0).length,
    complained: p.customers.filter((c) => c.complaints > 0).length,
    unsubscribed: p.customers.filter((c) => c.unsubscribed).length,
    /** Last order 90 days or more before the end of the window, and no order since. */
    quiet: p.customers.filter((c) => c.lastOrderAt !== undefined && endMs - new Date(c.lastOrderAt).getTime() >= 90 * DAY).length,
    comeBack: p.customers.filter((c) => c.comesBack).length,
    parents: p.customers.filter((c) => c.parent).length,
  };
}
