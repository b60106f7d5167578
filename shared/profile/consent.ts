import type { Channel } from '../contract';
import type { Profile } from './types';

export type ConsentMode = 'opt-out' | 'opt-in';
export type MessageKind = 'marketing' | 'transactional';

/** The trait that holds a channel's address. */
export const CHANNEL_ADDRESS_TRAIT: Readonly<Record<Channel, string>> = { email: 'email', sms: 'phone', push: 'pushToken' };

export type Reachability = { ok: true; address: string } | { ok: false; reason: 'no-address' | 'suppressed' | 'unsubscribed' | 'no-consent' };

/**
 * May this customer get a message of this kind on this channel? Suppression
 * (hard bounce, erasure) blocks everything; marketing also needs consent: given
 * explicitly, or — in opt-out mode — not refused.
 */
export function reachability(profile: Pick<Profile, 'traits' | 'consent' | 'suppression'>, channel: Channel, kind: MessageKind, mode: ConsentMode): Reachability {
  const address = profile.traits[CHANNEL_ADDRESS_TRAIT[channel]];
  if (typeof address !== 'string' || address.length === 0) return { ok: false, reason: 'no-address' };
  if (profile.suppression[channel]) return { ok: false, reason: 'suppressed' };
  if (kind === 'transactional') return { ok: true, address };
  const status = profile.consent[channel]?.status ?? 'unknown';
  if (status === 'denied') return { ok: false, reason: 'unsubscribed' };
  if (status === 'unknown' && mode === 'opt-in') return { ok: false, reason: 'no-consent' };
  return { ok: true, address };
}
