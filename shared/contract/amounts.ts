/**
 * Order amounts as Segment's e-commerce spec defines them: `revenue`, else
 * `total`, else `value`. Every place Rapport reads the amount of an order
 * (profile stats, and through them RFM and tag conditions) uses this one function.
 */
export const ORDER_AMOUNT_KEYS = ['revenue', 'total', 'value'] as const;

/**
 * The amount of an order from its properties: the first of `revenue`, `total`,
 * `value` that is a finite amount >= 0 (a number, or a numeric string as some
 * SDKs send it); 0 when none is.
 */
export function orderAmount(properties: Readonly<Record<string, unknown>>): number {
  for (const key of ORDER_AMOUNT_KEYS) {
    const amount = asAmount(properties[key]);
    if (amount !== undefined) return amount;
  }
  return 0;
}

function asAmount(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** `orderId` or Segment's `order_id` (or another snake_case/camelCase pair): the value under either spelling, camelCase first. */
export function propertyOf(properties: Readonly<Record<string, unknown>>, camelCase: string): unknown {
  return properties[camelCase] ?? properties[snakeCase(camelCase)];
}

/** `productId` -> `product_id`. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** `product_id` -> `productId`. */
export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
