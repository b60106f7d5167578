import { DAY_MS, HOUR_MS, WEEK_MS } from './constants';

/** Milliseconds since the epoch of an ISO 8601 time, or undefined when absent or unreadable. */
export function instant(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

export function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}

/** `30d`, `12h`, `2w`, `3mo`: a whole number followed by h (hours), d (days), w (weeks) or mo (months of 30 days). */
export const DURATION_PATTERN = /^([1-9]\d{0,5})(mo|[hdw])$/;

const UNIT_MS: Readonly<Record<string, number>> = { h: HOUR_MS, d: DAY_MS, w: WEEK_MS, mo: 30 * DAY_MS };

/** The length of a duration like `30d` in milliseconds; throws on anything else (validate first). */
export function durationMs(duration: string): number {
  const match = DURATION_PATTERN.exec(duration);
  const unit = match?.[2] === undefined ? undefined : UNIT_MS[match[2]];
  if (match === null || unit === undefined) throw new RangeError(`not a duration: ${JSON.stringify(duration)}`);
  return Number(match[1]) * unit;
}

/**
 * At most this many candidate instants are tried when looking for the next
 * change; past it the next candidate is returned (early, never late).
 */
export const MAX_PROBES = 500;

/**
 * The first instant after `now` at which `valueAt` differs from its value at `now`.
 *
 * `boundaries` must hold every instant at which the value can change, and the
 * value must hold from each boundary (inclusive) up to the next: a step function
 * with steps at the boundaries. Boundaries at or before `now` are ignored.
 * Returns undefined when the value never changes with time alone.
 */
export function nextChange<T>(
  valueAt: (t: number) => T,
  boundaries: Iterable<number>,
  now: number,
  same: (a: T, b: T) => boolean = Object.is,
): number | undefined {
  const future = [...new Set(boundaries)].filter((t) => t > now && Number.isFinite(t)).sort((a, b) => a - b);
  const current = valueAt(now);
  for (const [index, t] of future.entries()) {
    if (index >= MAX_PROBES) return t;
    if (!same(current, valueAt(t))) return t;
  }
  return undefined;
}

/** The earliest of some optional instants. */
export function earliest(...instants: (number | undefined)[]): number | undefined {
  let result: number | undefined;
  for (const t of instants) if (t !== undefined && (result === undefined || t < result)) result = t;
  return result;
}
