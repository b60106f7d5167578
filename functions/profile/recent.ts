import type { RecentValue } from '../../shared';
import type { PropertyShape } from '../../shared/segmentation/retention';
import { PROFILE_LIMITS } from './limits';

/**
 * The properties a recent event keeps on the profile: what tag rules, branch
 * conditions and goals read, in the shape they read it, so a condition on
 * `products: { category: [sofa] }` sees each product's category exactly as the
 * trigger pattern sees it on the bus. Bounded per event (ARCHITECTURE decision 9):
 *
 * - at most `RECENT_LIMITS.keys` keys per object and `RECENT_LIMITS.items` items
 *   per array (the first ones), `RECENT_LIMITS.depth` levels deep;
 * - strings longer than `RECENT_LIMITS.stringLength` and keys longer than
 *   `PROFILE_LIMITS.keptKeyLength` are left out (a pattern cannot match a value
 *   that is not there, as before: such a value never matched);
 * - the properties' JSON within `PROFILE_LIMITS.recentEventPropertyBytes`:
 *   scalars first, then lists and objects, each as far as it fits (an array
 *   keeps its first items).
 *
 * With a shape, only the parts it names; without one, everything within the bounds.
 */
export const RECENT_LIMITS = {
  keys: 20,
  items: 50,
  depth: 5,
  stringLength: 200,
} as const;

type Shape = PropertyShape | true;

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isScalar = (value: unknown) => value === null || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string';

/** The properties as kept, or `{}`; `shape` undefined keeps every property (within the bounds). */
export function keptProperties(properties: Readonly<Record<string, unknown>>, shape?: PropertyShape): Record<string, RecentValue> {
  // Scalars first: a long list cannot crowd out an order's revenue.
  const entries = Object.entries(properties).sort(([, a], [, b]) => Number(!isScalar(a)) - Number(!isScalar(b)));
  const kept = copyObject(entries, shape ?? true, PROFILE_LIMITS.recentEventPropertyBytes, 0);
  return (kept?.value as Record<string, RecentValue> | undefined) ?? {};
}

interface Copied {
  value: RecentValue;
  bytes: number;
}

/** A copy of `value` as `shape` reads it, in at most `budget` bytes of JSON; undefined when nothing of it is kept. */
function copy(value: unknown, shape: Shape, budget: number, depth: number): Copied | undefined {
  if (Array.isArray(value)) return depth >= RECENT_LIMITS.depth ? undefined : copyArray(value, shape, budget, depth + 1);
  if (isObject(value)) return depth >= RECENT_LIMITS.depth ? undefined : copyObject(Object.entries(value), shape, budget, depth + 1);
  // A nested pattern reads fields: a scalar has none.
  if (shape !== true || !isScalar(value)) return undefined;
  if (typeof value === 'string' && value.length > RECENT_LIMITS.stringLength) return undefined;
  const size = bytes(value);
  return size <= budget ? { value: value as RecentValue, bytes: size } : undefined;
}

function copyArray(items: readonly unknown[], shape: Shape, budget: number, depth: number): Copied | undefined {
  const kept: RecentValue[] = [];
  let used = 2; // []
  for (const item of items.slice(0, RECENT_LIMITS.items)) {
    const comma = kept.length > 0 ? 1 : 0;
    const part = copy(item, shape, budget - used - comma, depth);
    if (part === undefined) {
      if (budget - used - comma <= 2) break; // full: keep the first items
      continue;
    }
    kept.push(part.value);
    used += comma + part.bytes;
  }
  return kept.length === 0 || used > budget ? undefined : { value: kept, bytes: used };
}

function copyObject(entries: ReadonlyArray<readonly [string, unknown]>, shape: Shape, budget: number, depth: number): Copied | undefined {
  const kept: Record<string, RecentValue> = {};
  let used = 2; // {}
  let n = 0;
  for (const [key, value] of entries) {
    if (n >= RECENT_LIMITS.keys) break;
    if (key.length > PROFILE_LIMITS.keptKeyLength) continue;
    const part = shape === true ? true : Object.hasOwn(shape, key) ? shape[key] : undefined;
    if (part === undefined) continue;
    const overhead = (n > 0 ? 1 : 0) + bytes(key) + 1; // ,"key":
    const child = copy(value, part, budget - used - overhead, depth);
    if (child === undefined) continue;
    kept[key] = child.value;
    used += overhead + child.bytes;
    n++;
  }
  return n === 0 || used > budget ? undefined : { value: kept, bytes: used };
}
