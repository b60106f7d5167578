/**
 * Cross-sell: "bought after" counts from `Order Completed` events, and the recommendations they make. Pure.
 *
 * - A customer's purchases (`Profile.purchases`) keep each category and product they bought (`category:sofa`,
 *   `product:p-12`) with the first and last time within the window, the `historyMax` most recently bought only.
 * - A pair (a → b) holds for a customer when they bought b after a within the window (a and b of one kind: a
 *   category after a category, a product after a product). Each write of the profile counts the pairs that hold
 *   after it and did not before (`newPairs`), so a customer counts once per pair, whatever the order their orders
 *   arrive in (the pairs that hold in the end are the same), and a redelivered order, already applied, counts nothing.
 * - The counts are kept per pair, without any customer id, and a bounded list of the best consequents per
 *   antecedent (functions/profile/co-purchase-store.ts). A recommendation needs `minSupport` customers.
 * - Erasure: the purchases (and the pairs waiting in the outbox) are on the profile item and go with it; the counts,
 *   aggregates naming no one, stay (an order counted just before its write was undone for an erasure stays counted).
 * - What is approximate, by design of the bounds: an item dropped from a full history and bought again may count
 *   its pairs again; a write past `pairsPerWriteMax` new pairs counts the first only; pairs whose count a crash
 *   interrupted are counted by the event's redelivery while their entry is among the customer's `entriesKept`
 *   latest, and lost after; a redelivery after a pair was counted `COUNTED_RECENT_MAX` more times may count it again.
 */
import { propertyOf, type Profile, type Purchase, type Recommendations } from '../../shared';

export const CO_PURCHASE_LIMITS = {
  /** How far apart two purchases may be to count as "bought after", and how long a purchase and a pair's count are kept: a year. */
  windowDays: 365,
  /** The distinct items a customer's purchases keep (the most recently bought). */
  historyMax: 20,
  /** The distinct items one order adds (its categories first, then its products). */
  itemsPerOrderMax: 10,
  /**
   * The pairs one write counts at most (the first in name order: an order after a full history can make up to
   * 20 × 10 new ones; the rest are not counted). With `itemLength`, it bounds what a write adds to the profile item.
   */
  pairsPerWriteMax: 20,
  /** The profile's outbox keeps the pairs of this many latest writes (for a redelivery to count them, once): ~3 KB each at most. */
  entriesKept: 2,
  /** Longest category or product id kept (longer ones are cut). */
  itemLength: 64,
  /** Consequents kept per antecedent, the most counted. */
  topMax: 20,
  /** Customers who must have bought b after a before a customer who bought a is recommended b. */
  minSupport: 3,
  /** The customer's most recently bought items that recommendations start from. */
  recommendFromMax: 10,
  /** Recommendations per kind (categories, products). */
  recommendMax: 5,
} as const;

const DAY_MS = 86_400_000;
export const WINDOW_MS = CO_PURCHASE_LIMITS.windowDays * DAY_MS;
const CATEGORY = 'category:';
const PRODUCT = 'product:';

/** The outbox entry (not an event: never published) that carries the pairs a write makes to the co-purchase counts. */
export const CO_PURCHASE_ENTRY = 'rapport:co-purchases';

/** A pair as one string: `<antecedent>\t<consequent>`. */
export type Pair = readonly [antecedent: string, consequent: string];

const text = (value: unknown): string | undefined => {
  const s = typeof value === 'number' && Number.isFinite(value) ? String(value) : typeof value === 'string' ? value.trim() : undefined;
  return s === undefined || s === '' ? undefined : s.slice(0, CO_PURCHASE_LIMITS.itemLength);
};

/** The items an order bought: `products[].category` (and a top-level `category`), `products[].productId` (or `product_id`, `sku`). */
export function orderItems(properties: Readonly<Record<string, unknown>>): string[] {
  const products = Array.isArray(properties.products) ? properties.products : [];
  const categories = new Set<string>();
  const ids = new Set<string>();
  const top = text(properties.category);
  if (top !== undefined) categories.add(CATEGORY + top);
  for (const p of products) {
    if (typeof p !== 'object' || p === null) continue;
    const product = p as Record<string, unknown>;
    const category = text(product.category);
    if (category !== undefined) categories.add(CATEGORY + category);
    const id = text(propertyOf(product, 'productId')) ?? text(product.sku);
    if (id !== undefined) ids.add(PRODUCT + id);
  }
  return [...[...categories].sort(), ...[...ids].sort()].slice(0, CO_PURCHASE_LIMITS.itemsPerOrderMax);
}

/** Most recently bought first, ties by item: the same purchases in any arrival order keep the same list. */
const byLast = (a: Purchase, b: Purchase) => (a.last < b.last ? 1 : a.last > b.last ? -1 : a.item < b.item ? -1 : a.item > b.item ? 1 : 0);

/** Purchases within the window (by `now`), the `historyMax` most recently bought. */
export function keepPurchases(purchases: readonly Purchase[], now: Date): Purchase[] {
  const cutoff = new Date(now.getTime() - WINDOW_MS).toISOString();
  return purchases.filter((p) => p.last >= cutoff).sort(byLast).slice(0, CO_PURCHASE_LIMITS.historyMax);
}

/** `purchases` with `items` bought at `at` folded in (first: the earliest, last: the latest), bounded. */
export function recordPurchases(purchases: readonly Purchase[], items: readonly string[], at: string, now: Date): Purchase[] {
  const byItem = new Map(purchases.map((p) => [p.item, { ...p }]));
  for (const item of items) {
    const p = byItem.get(item);
    if (p === undefined) byItem.set(item, { item, first: at, last: at });
    else {
      if (at < p.first) p.first = at;
      if (at > p.last) p.last = at;
    }
  }
  return keepPurchases([...byItem.values()], now);
}

/** Two customers' (or a visitor's and a customer's) purchases as one. */
export function mergePurchases(a: readonly Purchase[], b: readonly Purchase[], now: Date): Purchase[] {
  let out = [...a];
  for (const p of b) out = recordPurchases(recordPurchases(out, [p.item], p.first, now), [p.item], p.last, now);
  return keepPurchases(out, now);
}

const kindOf = (item: string) => (item.startsWith(CATEGORY) ? CATEGORY : PRODUCT);

/**
 * Whether b was bought after a within the window, as far as first and last purchases tell: a's first or last
 * purchase comes before b's last, by at most the window.
 */
function boughtAfter(a: Purchase, b: Purchase): boolean {
  const last = Date.parse(b.last);
  return [a.first, a.last].some((t) => {
    const gap = last - Date.parse(t);
    return gap > 0 && gap <= WINDOW_MS;
  });
}

/** Every pair that holds in `purchases`, as `a\tb`. */
export function pairsOf(purchases: readonly Purchase[]): Set<string> {
  const out = new Set<string>();
  for (const a of purchases) for (const b of purchases) if (a.item !== b.item && kindOf(a.item) === kindOf(b.item) && boughtAfter(a, b)) out.add(`${a.item}\t${b.item}`);
  return out;
}

/** The pairs that hold after a change of purchases and did not before, sorted, at most `pairsPerWriteMax`. */
export function newPairs(before: readonly Purchase[] | undefined, after: readonly Purchase[] | undefined): Pair[] {
  if (after === undefined || after.length < 2) return [];
  const was = pairsOf(before ?? []);
  return [...pairsOf(after)]
    .filter((p) => !was.has(p))
    .sort()
    .slice(0, CO_PURCHASE_LIMITS.pairsPerWriteMax)
    .map((p) => p.split('\t') as unknown as Pair);
}

/** The antecedents a customer's recommendations start from: their most recently bought items. */
export function antecedentsOf(profile: Pick<Profile, 'purchases'> | undefined, now: Date): string[] {
  return keepPurchases(profile?.purchases ?? [], now)
    .slice(0, CO_PURCHASE_LIMITS.recommendFromMax)
    .map((p) => p.item);
}

/** A consequent as an antecedent's list keeps it: how many customers bought it after, and when one last did. */
export interface Consequent {
  item: string;
  count: number;
  at: string;
}

export const NO_RECOMMENDATIONS: Recommendations = Object.freeze({ categories: [], products: [] }) as Recommendations;

/**
 * The recommendations of a customer from the lists of their antecedents: each consequent scored by the counts of the
 * pairs that reach it with at least `minSupport` customers (summed over the antecedents), less what the customer
 * bought; best first, ties by name; `recommendMax` of each kind.
 */
export function recommend(profile: Pick<Profile, 'purchases'> | undefined, lists: ReadonlyMap<string, readonly Consequent[]>, now: Date, minSupport: number = CO_PURCHASE_LIMITS.minSupport): Recommendations {
  const has = new Set(keepPurchases(profile?.purchases ?? [], now).map((p) => p.item));
  const cutoff = new Date(now.getTime() - WINDOW_MS).toISOString();
  const score = new Map<string, number>();
  for (const a of antecedentsOf(profile, now)) {
    for (const c of lists.get(a) ?? []) {
      if (c.count < minSupport || c.at < cutoff || has.has(c.item) || kindOf(c.item) !== kindOf(a)) continue;
      score.set(c.item, (score.get(c.item) ?? 0) + c.count);
    }
  }
  const ranked = [...score].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([item]) => item);
  const of = (prefix: string) =>
    ranked
      .filter((i) => i.startsWith(prefix))
      .slice(0, CO_PURCHASE_LIMITS.recommendMax)
      .map((i) => i.slice(prefix.length));
  return { categories: of(CATEGORY), products: of(PRODUCT) };
}

/** A pair's items as a person reads them: `sofa → coffee-table`. */
export const describePair = (a: string, b: string): string => `${a.replace(/^(category|product):/, '')} → ${b.replace(/^(category|product):/, '')}`;
