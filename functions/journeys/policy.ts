import { reachability, type Channel, type ConsentMode, type MessageKind, type Profile } from '../../shared';
import { DEFAULT_TIME_ZONE, isValidTimeZone, quietHoursEnd, type QuietHours } from './time';

export interface SendPolicy {
  consentMode: ConsentMode;
  /** Marketing messages per customer within `frequencyWindowDays`; transactional ones are exempt. */
  frequencyCap: number;
  frequencyWindowDays: number;
  /** Quiet hours in the customer's time zone (traits.timezone, else `defaultTimeZone`): sends are deferred, not dropped. */
  quietHours?: QuietHours;
  defaultTimeZone: string;
}

export const DEFAULT_SEND_POLICY: SendPolicy = {
  consentMode: 'opt-out',
  frequencyCap: 3,
  frequencyWindowDays: 7,
  quietHours: { start: '21:00', end: '08:00' },
  defaultTimeZone: DEFAULT_TIME_ZONE,
};

export type SendDecision =
  | { action: 'send'; address: string }
  | { action: 'skip'; reason: 'no-address' | 'suppressed' | 'unsubscribed' | 'no-consent' | 'frequency-cap' }
  | { action: 'defer'; until: Date; reason: 'quiet-hours' };

/**
 * Decide a send at send time: consent and suppression first (consent is law),
 * then the frequency cap for marketing, then quiet hours (defer, don't drop).
 * Transactional messages skip the cap and quiet hours, never suppression.
 */
export function decideSend(
  profile: Pick<Profile, 'traits' | 'consent' | 'suppression'>,
  channel: Channel,
  kind: MessageKind,
  marketingSentInWindow: number,
  now: Date,
  policy: SendPolicy,
): SendDecision {
  const reach = reachability(profile, channel, kind, policy.consentMode);
  if (!reach.ok) return { action: 'skip', reason: reach.reason };
  if (kind === 'transactional') return { action: 'send', address: reach.address };
  if (marketingSentInWindow >= policy.frequencyCap) return { action: 'skip', reason: 'frequency-cap' };
  if (policy.quietHours) {
    const tz = isValidTimeZone(profile.traits.timezone) ? profile.traits.timezone : policy.defaultTimeZone;
    const until = quietHoursEnd(now, tz, policy.quietHours);
    if (until) return { action: 'defer', until, reason: 'quiet-hours' };
  }
  return { action: 'send', address: reach.address };
}
