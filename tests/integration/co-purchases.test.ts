/**
 * Cross-sell counts (issue 15): the profile consumer keeps, from `Order Completed` events, how many customers
 * bought one category (or product) after another, in the profile table (dynalite here, DynamoDB in AWS), without
 * customer ids; each customer counts once per pair, whatever the order and however often their orders arrive.
 * Driven through the engine's HTTP API; the counts are read with the store the send path reads them with.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { CO_PURCHASE_LIMITS } from '../../functions/profile/co-purchases';
import { prng } from '../../shared';
import { client } from '../helpers/client';
import { profileItems, redeliverIngested, startTestEngine } from '../helpers/engine';

const clock = new VirtualClock('2026-09-01T10:00:00Z');
let engine: Engine;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  engine = await startTestEngine({ clock, sweepEveryMs: 0, logLevel: 'SILENT' });
  api = client(engine);
});
afterAll(() => engine.stop());

/** An order of `userId` at `timestamp` of products in these categories (product ids `<category>-1`). */
const order = (userId: string, n: number, timestamp: string, categories: string[]) => ({
  type: 'track',
  userId,
  event: 'Order Completed',
  messageId: `${userId}-order-${n}`,
  timestamp,
  properties: { orderId: `${userId}-${n}`, revenue: 100, currency: 'EUR', products: categories.map((category) => ({ productId: `${category}-1`, category, price: 100 })) },
});

/** The consequents of `antecedent` as its top list holds them, `item:count`. */
async function top(antecedent: string): Promise<string[]> {
  const lists = await engine.profiles.coPurchases.tops([antecedent], clock.now());
  return (lists.get(antecedent) ?? []).map((c) => `${c.item}:${c.count}`);
}

describe('"bought after" counts', () => {
  it('counts each customer once per pair: sofa then coffee table, in both kinds, nothing backwards', async () => {
    await api.sendAndSettle([order('a1', 1, '2026-01-10T10:00:00Z', ['sofa']), order('a1', 2, '2026-07-10T10:00:00Z', ['coffee-table'])]);
    // A second coffee table later: the pair already holds for a1, it is not counted again.
    await api.sendAndSettle(order('a1', 3, '2026-08-10T10:00:00Z', ['coffee-table']));
    expect(await top('category:sofa')).toEqual(['category:coffee-table:1']);
    expect(await top('product:sofa-1')).toEqual(['product:coffee-table-1:1']);
    expect(await top('category:coffee-table')).toEqual([]);
    // No customer id in any count.
    expect((await profileItems(engine, (t) => t.includes('"CP#'))).some((t) => t.includes('a1'))).toBe(false);
  });

  it('does not count a redelivered order again', async () => {
    await api.sendAndSettle([order('b1', 1, '2026-02-10T10:00:00Z', ['sofa']), order('b1', 2, '2026-06-10T10:00:00Z', ['coffee-table'])]);
    expect(await top('category:sofa')).toEqual(['category:coffee-table:2']);
    await redeliverIngested(engine, 'b1-order-2');
    await redeliverIngested(engine, 'b1-order-1');
    expect(await top('category:sofa')).toEqual(['category:coffee-table:2']);
  });

  it.each([
    ['after counting', 'desk', 'chair', true],
    ['before counting', 'bed', 'lamp', false],
  ] as const)('counts once when the consumer dies %s, before its delivery is done (the bus delivers again)', async (_when, first, then, countFirst) => {
    const store = engine.profiles.coPurchases;
    const count = store.count.bind(store);
    let failures = 0;
    // The first delivery's count lands (or not), then the delivery fails: the event comes again, already applied.
    store.count = async (cause, pairs, now) => {
      const ours = pairs.some(([a]) => a === `category:${first}`);
      if (ours && failures++ === 0) {
        if (countFirst) await count(cause, pairs, now);
        throw new Error('consumer killed');
      }
      await count(cause, pairs, now);
    };
    try {
      await api.sendAndSettle([order(`g-${first}`, 1, '2026-02-13T10:00:00Z', [first]), order(`g-${first}`, 2, '2026-06-13T10:00:00Z', [then])]);
      // The bus's retry is a timer on the (virtual) clock.
      await clock.run(clock.now().getTime() + 3_600_000, () => failures >= 2);
      await engine.settle();
    } finally {
      store.count = count;
    }
    expect(failures).toBe(2);
    expect(await top(`category:${first}`)).toEqual([`category:${then}:1`]);
    expect(engine.deadLetters).toEqual([]);
  });

  it('keeps every count in the top list when many writers count pairs of one item at once', async () => {
    const store = engine.profiles.coPurchases;
    // 12 orders (causes) counted at once: 6 of hall → mirror, and one each of hall → hook-<n>.
    await Promise.all([
      ...Array.from({ length: 6 }, (_, n) => store.count(`cause-mirror-${n}`, [['category:hall', 'category:mirror']], clock.now())),
      ...Array.from({ length: 6 }, (_, n) => store.count(`cause-hook-${n}`, [['category:hall', `category:hook-${n}`]], clock.now())),
    ]);
    expect(await top('category:hall')).toEqual(['category:mirror:6', ...Array.from({ length: 6 }, (_, n) => `category:hook-${n}:1`)]);
  });

  it.each([1, 2, 3])('counts what the customers bought, whatever the arrival order and redeliveries (seed %i)', async (seed) => {
    // Prepare: 12 customers, 1 to 4 orders each of one or two of four categories, within 300 days (all pairs in the window).
    const random = prng(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const categories = ['pa', 'pb', 'pc', 'pd'].map((c) => `${c}${seed}`);
    const orders: Array<ReturnType<typeof order> & { categories: string[] }> = [];
    for (let c = 0; c < 12; c++) {
      for (let n = 1, count = 1 + Math.floor(random() * 4); n <= count; n++) {
        const bought = [...new Set([pick(categories), ...(random() < 0.3 ? [pick(categories)] : [])])];
        const at = new Date(Date.parse('2025-11-01T00:00:00Z') + Math.floor(random() * 300) * 86_400_000).toISOString();
        orders.push({ ...order(`r${seed}-${c}`, n, at, bought), categories: bought });
      }
    }
    // Expected: per pair, the customers with an order of a strictly before an order of b.
    const expected = new Map<string, number>();
    for (const customer of new Set(orders.map((o) => o.userId))) {
      const theirs = orders.filter((o) => o.userId === customer);
      for (const a of categories)
        for (const b of categories)
          if (a !== b && theirs.some((x) => x.categories.includes(a) && theirs.some((y) => y.timestamp > x.timestamp && y.categories.includes(b)))) expected.set(`${a}>${b}`, (expected.get(`${a}>${b}`) ?? 0) + 1);
    }
    // Act: all orders in a shuffled order, a few at a time, then a third of them delivered again.
    const shuffled = [...orders].sort(() => random() - 0.5).map(({ categories: _c, ...o }) => o);
    for (let i = 0; i < shuffled.length; i += 3) await api.sendAndSettle(shuffled.slice(i, i + 3));
    for (const o of shuffled.filter(() => random() < 0.33)) await redeliverIngested(engine, o.messageId);
    // Assess: categories and products (`<category>-1`) alike.
    const counted = new Map<string, number>();
    const lists = await engine.profiles.coPurchases.tops([...categories.map((c) => `category:${c}`), ...categories.map((c) => `product:${c}-1`)], clock.now());
    for (const [a, list] of lists) for (const c of list) counted.set(`${a}>${c.item}`, c.count);
    const as = (kind: 'category' | 'product', suffix: string) => new Map([...expected].map(([pair, n]) => [pair.split('>').map((x) => `${kind}:${x}${suffix}`).join('>'), n]));
    expect(new Map([...counted].filter(([k]) => k.startsWith('category:')))).toEqual(as('category', ''));
    expect(new Map([...counted].filter(([k]) => k.startsWith('product:')))).toEqual(as('product', '-1'));
    expect(expected.size).toBeGreaterThan(3);
  });

  it('counts the same pairs when the orders arrive the other way round', async () => {
    await api.sendAndSettle(order('c1', 2, '2026-06-11T10:00:00Z', ['coffee-table']));
    expect(await top('category:sofa')).toEqual(['category:coffee-table:2']);
    await api.sendAndSettle(order('c1', 1, '2026-02-11T10:00:00Z', ['sofa']));
    expect(await top('category:sofa')).toEqual(['category:coffee-table:3']);
    expect(await top('category:coffee-table')).toEqual([]);
  });

  it('does not count purchases further apart than the window', async () => {
    await api.sendAndSettle([order('d1', 1, '2025-08-01T10:00:00Z', ['lamp']), order('d1', 2, '2026-08-20T10:00:00Z', ['rug'])]);
    expect(await top('category:lamp')).toEqual([]);
  });

  it(`keeps the ${CO_PURCHASE_LIMITS.historyMax} most recently bought items of a customer`, async () => {
    const n = CO_PURCHASE_LIMITS.historyMax + 1;
    // One order of n categories (more than one order takes: at most itemsPerOrderMax each), in orders a day apart.
    const orders = Array.from({ length: n }, (_, i) => order('e1', i + 1, new Date(Date.parse('2026-03-01T10:00:00Z') + i * 86_400_000).toISOString(), [`cat-${String(i).padStart(2, '0')}`]));
    await api.sendAndSettle(orders);
    const purchases = (await engine.profiles.get('e1'))!.profile.purchases!;
    expect(purchases).toHaveLength(CO_PURCHASE_LIMITS.historyMax);
    // The oldest category goes (then its product): the most recently bought stay.
    expect(purchases.map((p) => p.item)).not.toContain('category:cat-00');
    expect(purchases.map((p) => p.item)).toContain(`category:cat-${String(n - 1).padStart(2, '0')}`);
  });

  it("erases the customer's purchases with the customer; the counts (no id) stay", async () => {
    await api.sendAndSettle([order('f1', 1, '2026-02-12T10:00:00Z', ['sofa']), order('f1', 2, '2026-06-12T10:00:00Z', ['coffee-table'])]);
    expect((await engine.profiles.get('f1'))!.profile.purchases).toHaveLength(4);
    expect((await api.del('/v1/customers/f1')).status).toBeLessThan(300);
    await engine.settle();
    expect(await engine.profiles.get('f1')).toBeUndefined();
    expect(await profileItems(engine, (t) => t.includes('f1') && (t.includes('sofa') || t.includes('coffee-table')))).toEqual([]);
    expect(await top('category:sofa')).toEqual(['category:coffee-table:4']);
  });
});
