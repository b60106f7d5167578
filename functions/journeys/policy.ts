import { reachability, type Channel, type ConsentMode, type MessageKind, type MessageTopic, type ReachableProfile } from '../../shared';
import { DEFAULT_TIME_ZONE, isValidTimeZone, quietHoursEnd, type QuietHours } from './time';

export interface SendPolicy {
  consentMode: ConsentMode;
  /** Marketing messages per customer within `frequencyWindowDays`; transactional ones are exempt. */
  frequencyCap: number;
  frequencyWindowDays: number;
  /**
   * A marketing send over the cap waits until the window frees (like quiet hours), for at most this many
   * days after its first deferral; a send the window would not free by then is skipped (`frequency-cap`).
   * 0: skip at once. @default 3
   */
  frequencyCapMaxDelayDays: number;
  /** Quiet hours in the customer's time zone (traits.timezone, else `defaultTimeZone`): sends are deferred, not dropped. */
  quietHours?: QuietHours;
  defaultTimeZone: string;
}

export const DEFAULT_SEND_POLICY: SendPolicy = {
  consentMode: 'opt-out',
  frequencyCap: 3,
  frequencyWindowDays: 7,
  frequencyCapMaxDelayDays: 3,
  quietHours: { start: '21:00', end: '08:00' },
  defaultTimeZone: DEFAULT_TIME_ZONE,
};

export type SendDecision =
  | { action: 'send'; address: string }
  | { action: 'skip'; reason: 'no-address' | 'invalid-address' | 'suppressed' | 'unsubscribed' | 'no-consent' | 'topic-unsubscribed' | 'topic-no-consent' | 'frequency-cap' }
  | { action: 'defer'; until: Date; reason: 'quiet-hours' | 'frequency-cap' };

/** What the cap needs to know of a send: the marketing messages sent in the window, and since when this send has waited. */
export interface CapState {
  /** When each marketing message in the current window was sent. */
  sentInWindow: readonly Date[];
  /** The first time this send was deferred by the cap (absent: never). */
  deferredSince?: Date | undefined;
  /** This send's own longest deferral, in seconds (its journey's or step's `frequency_cap_max_delay`); absent: the policy's `frequencyCapMaxDelayDays`. */
  maxDelaySeconds?: number | undefined;
}

/**
 * When the window has room for one more message: the moment enough of the
 * messages in it have aged out (`undefined` when there is room now).
 */
export function capFreesAt(sentInWindow: readonly Date[], policy: Pick<SendPolicy, 'frequencyCap' | 'frequencyWindowDays'>): Date | undefined {
  if (sentInWindow.length < policy.frequencyCap) return undefined;
  if (policy.frequencyCap === 0) return new Date(8.64e15); // never
  const sorted = [...sentInWindow].sort((a, b) => a.getTime() - b.getTime());
  // The oldest (n - cap + 1) must leave the window; counted while `at >= now - window`, so one millisecond after.
  return new Date(sorted[sorted.length - policy.frequencyCap]!.getTime() + policy.frequencyWindowDays * 86_400_000 + 1);
}

/**
 * Decide a send at send time: an address the channel can reach, then consent and suppression (consent is law; the channel's, then the
 * marketing message's topic's on that channel),
 * then the frequency cap for marketing (defer until the window frees, up to
 * the send's `maxDelaySeconds` or else `frequencyCapMaxDelayDays`, then skip), then quiet hours (defer, don't drop).
 * Transactional messages skip the cap and quiet hours, never suppression.
 */
export function decideSend(
  profile: ReachableProfile,
  channel: Channel,
  kind: MessageKind,
  cap: CapState,
  now: Date,
  policy: SendPolicy,
  topic?: MessageTopic,
  /** Whether the engine's sender can send to an address at all (`ChannelSender.reaches`); absent: any of the channel's format. */
  reaches?: (address: string) => boolean,
): SendDecision {
  const reach = reachability(profile, channel, kind, policy.consentMode, topic, reaches);
  if (!reach.ok) return { action: 'skip', reason: reach.reason };
  if (kind === 'transactional') return { action: 'send', address: reach.address };
  const frees = capFreesAt(cap.sentInWindow, policy);
  if (frees) {
    const maxDelayMs = cap.maxDelaySeconds !== undefined ? cap.maxDelaySeconds * 1000 : policy.frequencyCapMaxDelayDays * 86_400_000;
    const latest = (cap.deferredSince ?? now).getTime() + maxDelayMs;
    return frees.getTime() <= latest ? { action: 'defer', until: frees, reason: 'frequency-cap' } : { action: 'skip', reason: 'frequency-cap' };
  }
  if (policy.quietHours) {
    const tz = isValidTimeZone(profile.traits.timezone) ? profile.traits.timezone : policy.defaultTimeZone;
    const until = quietHoursEnd(now, tz, policy.quietHours);
    if (until) return { action: 'defer', until, reason: 'quiet-hours' };
  }
  return { action: 'send', address: reach.address };
}
