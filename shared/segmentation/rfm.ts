import type { Profile, Rfm, ValueTier } from '../profile';
import type { SegmentationConfig } from './config';
import { DAY_MS } from './constants';
import { instant, isoAt, nextChange } from './time';

export type RfmInput = Pick<Profile, 'stats'>;
export type RfmSettings = Pick<SegmentationConfig, 'rfm'>;

export interface RfmResult {
  rfm: Rfm;
  /** When the scores change next if no new event arrives (only recency moves with time). */
  nextChangeAt?: string;
}

const NEVER_ORDERED: Rfm = Object.freeze({ recency: 0, frequency: 0, monetary: 0 });

/** 1 + how many ascending thresholds `value` reaches. */
const scoreUp = (value: number, thresholds: readonly number[]) => 1 + thresholds.filter((t) => value >= t).length;

/**
 * RFM scores at `t` (ms), each 1..5, all 0 (and no tier) when the customer never ordered:
 * - recency: days since the last order; under `recency_days[0]` scores 5, under [1] 4,
 *   under [2] 3, under [3] 2, else 1;
 * - frequency: order count; at least `frequency_orders[3]` scores 5, [2] 4, [1] 3, [0] 2, else 1;
 * - monetary: total revenue, with `monetary_revenue` the same way.
 *
 * The tier: `sleeping` when recency <= `tiers.sleeping_max_recency`; else `high-value` when
 * recency + frequency + monetary >= `tiers.high_value_min_total`; else `potential`.
 */
export function rfmAt(profile: RfmInput, { rfm: c }: RfmSettings, t: number): Rfm {
  const last = instant(profile.stats.lastOrderAt);
  if (last === undefined) return { ...NEVER_ORDERED };
  const elapsed = t - last;
  const recency = 5 - c.recency_days.filter((d) => elapsed >= d * DAY_MS).length;
  const frequency = scoreUp(profile.stats.orderCount, c.frequency_orders);
  const monetary = scoreUp(profile.stats.totalRevenue, c.monetary_revenue);
  return { recency, frequency, monetary, tier: valueTier(recency, frequency, monetary, c.tiers) };
}

export function valueTier(
  recency: number,
  frequency: number,
  monetary: number,
  tiers: SegmentationConfig['rfm']['tiers'],
): ValueTier {
  if (recency <= tiers.sleeping_max_recency) return 'sleeping';
  return recency + frequency + monetary >= tiers.high_value_min_total ? 'high-value' : 'potential';
}

/** Every instant at which the scores may change with time alone: the recency thresholds after the last order. */
export function rfmBoundaries(profile: RfmInput, { rfm: c }: RfmSettings): number[] {
  const last = instant(profile.stats.lastOrderAt);
  return last === undefined ? [] : c.recency_days.map((d) => last + d * DAY_MS);
}

export const sameRfm = (a: Rfm, b: Rfm): boolean =>
  a.recency === b.recency && a.frequency === b.frequency && a.monetary === b.monetary && a.tier === b.tier;

/** RFM at `now` and when it next changes with time alone. */
export function evaluateRfm(profile: RfmInput, config: RfmSettings, now: Date): RfmResult {
  const t = now.getTime();
  const rfm = rfmAt(profile, config, t);
  const next = nextChange((at) => rfmAt(profile, config, at), rfmBoundaries(profile, config), t, sameRfm);
  return next === undefined ? { rfm } : { rfm, nextChangeAt: isoAt(next) };
}

/** RFM scores and value tier at `now` (see `rfmAt` for the rules). */
export function rfmScores(profile: RfmInput, config: RfmSettings, now: Date): Rfm {
  return rfmAt(profile, config, now.getTime());
}
