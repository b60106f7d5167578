import type { LifecycleStage, Profile } from '../profile';
import type { SegmentationConfig } from './config';
import { DAY_MS } from './constants';
import { instant, isoAt, nextChange } from './time';

/** The part of a profile the lifecycle stage depends on. */
export type LifecycleInput = Pick<Profile, 'stats'>;
export type LifecycleSettings = Pick<SegmentationConfig, 'lifecycle'>;

export interface LifecycleResult {
  stage: LifecycleStage;
  /** When the stage changes next if no new event arrives (e.g. the day an active customer becomes at-risk). */
  nextChangeAt?: string;
}

/**
 * The customer's lifecycle stage at `t` (ms). Checked in this order, the first that fits wins:
 * - `prospect`: never ordered (no `lastOrderAt`);
 * - `churned` / `dormant` / `at-risk`: the last order was `churned_after_days` /
 *   `dormant_after_days` / `at_risk_after_days` or more days ago;
 * - `loyal`: at least `loyal_min_orders` orders (and, by the rules above, ordered recently);
 * - `new`: the first order was less than `new_customer_days` days ago;
 * - `active`: everyone else who has ordered.
 */
export function lifecycleStageAt(profile: LifecycleInput, { lifecycle: c }: LifecycleSettings, t: number): LifecycleStage {
  const last = instant(profile.stats.lastOrderAt);
  if (last === undefined) return 'prospect';
  const sinceLast = t - last;
  if (sinceLast >= c.churned_after_days * DAY_MS) return 'churned';
  if (sinceLast >= c.dormant_after_days * DAY_MS) return 'dormant';
  if (sinceLast >= c.at_risk_after_days * DAY_MS) return 'at-risk';
  if (profile.stats.orderCount >= c.loyal_min_orders) return 'loyal';
  const first = instant(profile.stats.firstOrderAt) ?? last;
  if (t - first < c.new_customer_days * DAY_MS) return 'new';
  return 'active';
}

/** Every instant at which the stage may change with time alone. */
export function lifecycleBoundaries(profile: LifecycleInput, { lifecycle: c }: LifecycleSettings): number[] {
  const last = instant(profile.stats.lastOrderAt);
  if (last === undefined) return [];
  const first = instant(profile.stats.firstOrderAt) ?? last;
  return [
    first + c.new_customer_days * DAY_MS,
    last + c.at_risk_after_days * DAY_MS,
    last + c.dormant_after_days * DAY_MS,
    last + c.churned_after_days * DAY_MS,
  ];
}

/** The stage at `now` and when it next changes with time alone. */
export function evaluateLifecycle(profile: LifecycleInput, config: LifecycleSettings, now: Date): LifecycleResult {
  const t = now.getTime();
  const stage = lifecycleStageAt(profile, config, t);
  const next = nextChange((at) => lifecycleStageAt(profile, config, at), lifecycleBoundaries(profile, config), t);
  return next === undefined ? { stage } : { stage, nextChangeAt: isoAt(next) };
}

/** The customer's lifecycle stage at `now` (see `lifecycleStageAt` for the rules). */
export function lifecycleStage(profile: LifecycleInput, config: LifecycleSettings, now: Date): LifecycleStage {
  return lifecycleStageAt(profile, config, now.getTime());
}
