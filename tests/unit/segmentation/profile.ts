import { emptyProfile } from '../../../functions/profile';
import type { Profile, ProfileStats, RecentEvent } from '../../../shared';

/** The instant most segmentation tests evaluate at. */
export const NOW = new Date('2026-06-15T12:00:00.000Z');
export const DAY = 86_400_000;
export const HOUR = 3_600_000;

/** ISO time `days` (may be fractional) before `from`. */
export const daysAgo = (days: number, from: Date = NOW): string => new Date(from.getTime() - days * DAY).toISOString();
export const hoursAgo = (hours: number, from: Date = NOW): string => new Date(from.getTime() - hours * HOUR).toISOString();
/** The Date `days` after `from`. */
export const plusDays = (days: number, from: Date = NOW): Date => new Date(from.getTime() + days * DAY);
export const at = (iso: string): Date => new Date(iso);

let seq = 0;
export function recent(name: string, atIso: string, properties: RecentEvent['properties'] = {}): RecentEvent {
  return { name, at: atIso, messageId: `m-${++seq}`, properties };
}

export interface ProfileOverrides extends Partial<Omit<Profile, 'stats'>> {
  stats?: Partial<ProfileStats>;
}

/** A profile first seen 200 days before NOW, no orders, no events (the consumer's empty profile): override what a test needs. */
export function makeProfile(overrides: ProfileOverrides = {}): Profile {
  const { stats, ...rest } = overrides;
  const { stats: emptyStats, ...empty } = emptyProfile('cust-1', daysAgo(200));
  return { ...empty, ...rest, stats: { ...emptyStats, ...stats } };
}

/** A customer with `orders` orders worth `revenue` in total, the first and last `firstDaysAgo` / `lastDaysAgo` before NOW. */
export function buyer(options: { orders?: number; revenue?: number; firstDaysAgo?: number; lastDaysAgo: number }): Profile {
  const orders = options.orders ?? 1;
  const revenue = options.revenue ?? 50 * orders;
  return makeProfile({
    stats: {
      orderCount: orders,
      totalRevenue: revenue,
      averageOrderValue: Math.round((revenue / orders) * 100) / 100,
      firstOrderAt: daysAgo(options.firstDaysAgo ?? options.lastDaysAgo),
      lastOrderAt: daysAgo(options.lastDaysAgo),
    },
  });
}
