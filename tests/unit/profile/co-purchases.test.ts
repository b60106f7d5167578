import { describe, expect, it } from 'vitest';
import { applyEvent, emptyProfile, joinProfiles } from '../../../functions/profile';
import { CO_PURCHASE_LIMITS, newPairs, orderItems, recommend, recordPurchases, type Consequent } from '../../../functions/profile/co-purchases';
import type { NormalisedEvent, Purchase } from '../../../shared';
import { ConditionSchema } from '../../../shared/segmentation';

/** The pure half of cross-sell (functions/profile/co-purchases.ts): what an order buys, the pairs, the recommendations. */
const NOW = new Date('2026-09-01T00:00:00Z');
const bought = (entries: Array<[string, string]>): Purchase[] => entries.reduce<Purchase[]>((h, [item, at]) => recordPurchases(h, [item], at, NOW), []);
const pairs = (before: Purchase[], after: Purchase[]) => newPairs(before, after).map(([a, b]) => `${a} > ${b}`);

describe('what an order bought', () => {
  it('reads categories and product ids (productId, product_id, sku), trimmed and cut, categories first', () => {
    expect(orderItems({ category: 'Sofa ', products: [{ product_id: 'p-1', category: 'sofa' }, { sku: 42 }, { productId: 'p-2', category: 'x'.repeat(150) }, 'junk', null] })).toEqual([
      'category:Sofa',
      'category:sofa',
      `category:${'x'.repeat(CO_PURCHASE_LIMITS.itemLength)}`,
      'product:42',
      'product:p-1',
      'product:p-2',
    ]);
    expect(orderItems({ revenue: 10 })).toEqual([]);
  });

  it(`keeps at most ${CO_PURCHASE_LIMITS.itemsPerOrderMax} items of one order`, () => {
    expect(orderItems({ products: Array.from({ length: 30 }, (_, i) => ({ productId: `p-${i}`, category: `c-${i}` })) })).toHaveLength(CO_PURCHASE_LIMITS.itemsPerOrderMax);
  });
});

describe('"bought after" pairs', () => {
  it('a later purchase of another item of the same kind, within the window; a category never pairs with a product', () => {
    const before = bought([['category:sofa', '2026-01-01T00:00:00Z'], ['product:s-1', '2026-01-01T00:00:00Z']]);
    const after = recordPurchases(before, ['category:table', 'product:t-1'], '2026-06-01T00:00:00Z', NOW);
    expect(pairs(before, after)).toEqual(['category:sofa > category:table', 'product:s-1 > product:t-1']);
    // The same day is not after; more than a year later is not counted.
    expect(pairs([], bought([['category:a', '2026-06-01T00:00:00Z'], ['category:b', '2026-06-01T00:00:00Z']]))).toEqual([]);
    expect(pairs([], bought([['category:a', '2025-08-01T00:00:00Z'], ['category:b', '2026-08-05T00:00:00Z']]))).toEqual([]);
  });

  it('a pair that held before is not new (a second table counts nothing), whatever order the orders came in', () => {
    const h = bought([['category:sofa', '2026-01-01T00:00:00Z'], ['category:table', '2026-06-01T00:00:00Z']]);
    expect(pairs(h, recordPurchases(h, ['category:table'], '2026-07-01T00:00:00Z', NOW))).toEqual([]);
    // Table first, then the (earlier) sofa arrives: the same pair, once.
    const late = bought([['category:table', '2026-06-01T00:00:00Z']]);
    expect(pairs(late, recordPurchases(late, ['category:sofa'], '2026-01-01T00:00:00Z', NOW))).toEqual(['category:sofa > category:table']);
  });

  it('a join counts the pairs its two histories make together', () => {
    const visitor = applyEvent(emptyProfile('anon:v', '2026-01-01T00:00:00Z'), order('2026-01-01T00:00:00Z', 'sofa'), NOW);
    const known = applyEvent(emptyProfile('k', '2026-06-01T00:00:00Z'), order('2026-06-01T00:00:00Z', 'table'), NOW);
    const joined = joinProfiles(known, visitor, NOW);
    expect(newPairs(known.purchases, joined.purchases).map((p) => p.join(' > '))).toContain('category:sofa > category:table');
  });
});

describe('a branch on recommendations', () => {
  it('takes names as long as a counted one, and refuses longer (they would never match)', () => {
    const name = (n: number) => ({ recommendations: 'categories', contains: 'x'.repeat(n) });
    expect(ConditionSchema.safeParse(name(CO_PURCHASE_LIMITS.itemLength)).success).toBe(true);
    const longer = ConditionSchema.safeParse(name(CO_PURCHASE_LIMITS.itemLength + 1));
    expect(longer.success ? [] : longer.error.issues.map((i) => i.message)).toEqual([`expected a name of at most ${CO_PURCHASE_LIMITS.itemLength} characters (longer categories and product ids are cut at 64 when counted)`]);
  });
});

describe('recommendations', () => {
  const top = (entries: Array<[string, number]>): Consequent[] => entries.map(([item, count]) => ({ item, count, at: '2026-08-01T00:00:00Z' }));
  const customer = { purchases: bought([['category:sofa', '2026-08-01T00:00:00Z'], ['category:lamp', '2026-07-01T00:00:00Z']]) };

  it('sums the counts that reach the threshold over the antecedents, best first, without what the customer has', () => {
    const lists = new Map([
      ['category:sofa', top([['category:table', 5], ['category:rug', 3], ['category:lamp', 9], ['category:vase', 2]])],
      ['category:lamp', top([['category:rug', 4], ['category:bulb', 3]])],
    ]);
    expect(recommend(customer, lists, NOW)).toEqual({ categories: ['category:rug', 'category:table', 'category:bulb'].map((c) => c.slice(9)), products: [] });
  });

  it('ignores a count older than the window, and keeps at most recommendMax', () => {
    const many = top(Array.from({ length: 8 }, (_, i) => [`category:c${i}`, 10 - i] as [string, number]));
    expect(recommend(customer, new Map([['category:sofa', many]]), NOW).categories).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(recommend(customer, new Map([['category:sofa', [{ item: 'category:old', count: 50, at: '2025-08-01T00:00:00Z' }]]]), NOW).categories).toEqual([]);
  });
});

function order(timestamp: string, category: string): NormalisedEvent {
  return {
    specVersion: 1,
    type: 'track',
    messageId: `m-${timestamp}`,
    userId: 'x',
    event: 'Order Completed',
    properties: { orderId: timestamp, revenue: 10, products: [{ productId: `${category}-1`, category }] },
    traits: {},
    context: {},
    timestamp,
    receivedAt: timestamp,
    sourceId: 'default',
  } as NormalisedEvent;
}
