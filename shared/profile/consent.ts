import { createHash } from 'node:crypto';
import { addressFormat, CHANNEL_ADDRESS_TRAIT, E164_PHONE } from '../channels';
import { CHANNELS, EMAIL_MARKED_AS_SPAM, EVENTS, type Channel, type NormalisedEvent } from '../contract';
import type { ConsentRecord, ConsentStatus, Profile, Suppression } from './types';

export type ConsentMode = 'opt-out' | 'opt-in';
export type MessageKind = 'marketing' | 'transactional';

/** The trait that holds a channel's address (the channel registry's). */
export { CHANNEL_ADDRESS_TRAIT };

export type Reachability = { ok: true; address: string } | { ok: false; reason: 'no-address' | 'invalid-address' | 'suppressed' | 'unsubscribed' | 'no-consent' | 'topic-unsubscribed' | 'topic-no-consent' };

/**
 * A marketing message's topic as the send decides on it: its id and whether a customer who chose nothing
 * for it is subscribed (the topic's `default` for the deployment's consent mode).
 */
export interface MessageTopic {
  id: string;
  subscribedByDefault: boolean;
}

/**
 * The customer's state on `topic` for `channel`: their latest choice in consent order, else the topic's
 * default. `topic-unsubscribed`: they left it; `topic-no-consent`: they never joined one that is off by default.
 */
export function topicReachability(profile: Pick<Profile, 'topicConsent'>, channel: Channel, topic: MessageTopic): 'topic-unsubscribed' | 'topic-no-consent' | undefined {
  const status = profile.topicConsent?.[channel]?.[topic.id]?.status ?? 'unknown';
  if (status === 'denied') return 'topic-unsubscribed';
  if (status === 'unknown' && !topic.subscribedByDefault) return 'topic-no-consent';
  return undefined;
}

/**
 * May this customer get a message of this kind on this channel? Suppression
 * (hard bounce, erasure) blocks everything; marketing also needs consent: given
 * explicitly, or — in opt-out mode — not refused; and, when it has a topic, the
 * customer's state on that topic for the channel (`topicReachability`).
 */
/** What reachability reads of a profile: its consent may lack a channel (nobody decided). */
export type ReachableProfile = Pick<Profile, 'traits' | 'suppression' | 'topicConsent'> & { consent: Partial<Profile['consent']> };

export function reachability(profile: ReachableProfile, channel: Channel, kind: MessageKind, mode: ConsentMode, topic?: MessageTopic, reaches?: (address: string) => boolean): Reachability {
  const trait = profile.traits[CHANNEL_ADDRESS_TRAIT[channel]];
  if (typeof trait !== 'string' || trait.length === 0) return { ok: false, reason: 'no-address' };
  // A phone number as people write it (spaces, dashes) is sent to, and its holds read, in its E.164 form.
  const address = CHANNEL_ADDRESS_TRAIT[channel] === 'phone' ? (phoneNumberOf(trait) ?? trait) : trait;
  // A channel that says what its address looks like (SMS, WhatsApp: E.164) cannot reach another one; nor can a sender
  // one it says it cannot (`reaches`: AWS push, an endpoint of another platform application).
  if (addressFormat(channel)?.regex.test(address) === false || reaches?.(address) === false) return { ok: false, reason: 'invalid-address' };
  if (profile.suppression[channel]) return { ok: false, reason: 'suppressed' };
  if (kind === 'transactional') return { ok: true, address };
  const status = profile.consent[channel]?.status ?? 'unknown';
  if (status === 'denied') return { ok: false, reason: 'unsubscribed' };
  if (status === 'unknown' && mode === 'opt-in') return { ok: false, reason: 'no-consent' };
  // The channel allows it; then the topic's own state on this channel.
  const topicReason = topic === undefined ? undefined : topicReachability(profile, channel, topic);
  if (topicReason !== undefined) return { ok: false, reason: topicReason };
  return { ok: true, address };
}

/**
 * One consent decision as it reached Rapport: what the sender said (`eventTime`,
 * its own clock) and when ingest received it (`receivedAt`, Rapport's clock).
 */
export interface ConsentChange {
  channel: Channel;
  status: 'granted' | 'denied';
  source: string;
  eventTime: string;
  receivedAt: string;
}

const earlier = (a: string, b: string) => (a < b ? a : b);

/**
 * A change's place in consent order (ARCHITECTURE decision 8). A change takes
 * effect at the earlier of its event time and its receipt; a grant is ordered by
 * that instant, a denial by its receipt (never earlier than its effect). The
 * greatest key wins and a denial wins a tie, so a denial received after a grant
 * happened always beats it, and no date a sender picks (up to 24 h ahead is
 * accepted) can put a grant after a denial Rapport already had. One total order:
 * the result is the same whatever order the changes are processed in.
 */
export function consentKey(change: Pick<ConsentChange, 'status' | 'eventTime' | 'receivedAt'>): string {
  return change.status === 'denied' ? change.receivedAt : earlier(change.eventTime, change.receivedAt);
}

/** The record a change leaves on the profile. */
export function consentRecord(change: ConsentChange): ConsentRecord {
  return { status: change.status, source: change.source, at: earlier(change.eventTime, change.receivedAt), key: consentKey(change) };
}

/** A record's key; a record stored before keys existed is ordered by its `at` (its event time then). */
const keyOf = (r: ConsentRecord) => r.key ?? r.at;
const STATUS_RANK: Readonly<Record<ConsentStatus, number>> = { unknown: 0, granted: 1, denied: 2 };

/**
 * Compare two consent records in consent order (negative: `a` loses). Unknown
 * (nobody decided) loses to any decision; then the greater key; a denial wins a
 * tie; the rest (effective time, source) only makes the order total, so two
 * different records are never equal and the winner never depends on who came first.
 */
export function compareConsent(a: ConsentRecord, b: ConsentRecord): number {
  const rank = (r: ConsentRecord) => (r.status === 'unknown' ? 0 : 1);
  return (
    rank(a) - rank(b) ||
    cmp(keyOf(a), keyOf(b)) ||
    STATUS_RANK[a.status] - STATUS_RANK[b.status] ||
    cmp(a.at, b.at) ||
    cmp(a.source, b.source)
  );
}
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The record that stands after `next` meets `current`: the later in consent order (status only; see `foldConsentTrail` for the record a profile keeps). */
export function foldConsent(current: ConsentRecord, next: ConsentRecord): ConsentRecord {
  return compareConsent(next, current) > 0 ? next : current;
}

/** How many consent changes a profile keeps per channel (`Profile.consentTrail`): the latest in consent order. */
export const CONSENT_TRAIL_MAX = 8;

/**
 * A channel's trail after `next` meets it: the changes in consent order (oldest first), each once, the
 * latest `CONSENT_TRAIL_MAX`. The latest N of a set is the same whatever order its changes came in, so
 * the record made from it (`consentOfTrail`) depends only on the set of changes.
 */
export function foldConsentTrail(trail: readonly ConsentRecord[], next: ConsentRecord): ConsentRecord[] {
  if (next.status === 'unknown') return [...trail];
  const step: ConsentRecord = { status: next.status, source: next.source, at: next.at, key: keyOf(next) };
  const same = (a: ConsentRecord) => compareConsent(a, step) === 0;
  if (trail.some(same)) return [...trail];
  return [...trail, step].sort(compareConsent).slice(-CONSENT_TRAIL_MAX);
}

/** The trail a record stands for when its profile has none yet (stored before trails): the record alone. */
export const trailOf = (record: ConsentRecord): ConsentRecord[] => (record.status === 'unknown' ? [] : [{ status: record.status, source: record.source, at: record.at, key: keyOf(record) }]);

/**
 * The record a trail leaves: the latest change in consent order; a denial shows since when the
 * customer is unsubscribed without a break, the earliest `at` (then source) among the denials after
 * the last grant the trail holds, its source with it. Undefined for an empty trail (nobody decided).
 */
export function consentOfTrail(trail: readonly ConsentRecord[]): ConsentRecord | undefined {
  const latest = trail.at(-1);
  if (latest?.status !== 'denied') return latest;
  let since = latest;
  for (let i = trail.length - 1; i >= 0 && trail[i]!.status === 'denied'; i--) {
    const d = trail[i]!;
    if (d.at < since.at || (d.at === since.at && d.source < since.source)) since = d;
  }
  return { status: 'denied', source: since.source, at: since.at, key: keyOf(latest) };
}

/** The consent changes an event carries: `Subscribed`, `Unsubscribed` (one channel or all), identify `consent: {<channel>: bool}`. */
export function consentChanges(event: Pick<NormalisedEvent, 'type' | 'event' | 'properties' | 'traits' | 'timestamp' | 'receivedAt'>): ConsentChange[] {
  const times = { eventTime: event.timestamp, receivedAt: event.receivedAt };
  if (event.type === 'identify') {
    const consent = event.traits.consent;
    if (typeof consent !== 'object' || consent === null) return [];
    return CHANNELS.flatMap((channel) => {
      const given = (consent as Record<string, unknown>)[channel];
      return typeof given === 'boolean' ? [{ channel, status: given ? ('granted' as const) : ('denied' as const), source: 'identify', ...times }] : [];
    });
  }
  if (event.type !== 'track') return [];
  // A topic's change (`{ channel, topic }`) is the topic's, never the channel's: see `topicConsentChanges`.
  if (event.properties.topic !== undefined) return [];
  const channel = event.properties.channel;
  if (event.event === EVENTS.UNSUBSCRIBED) {
    const channels = channel === 'all' || channel === undefined ? CHANNELS : CHANNELS.filter((c) => c === channel);
    return channels.map((c) => ({ channel: c, status: 'denied' as const, source: EVENTS.UNSUBSCRIBED, ...times }));
  }
  if (event.event === EVENTS.SUBSCRIBED) {
    return CHANNELS.filter((c) => c === channel).map((c) => ({ channel: c, status: 'granted' as const, source: EVENTS.SUBSCRIBED, ...times }));
  }
  return [];
}

/** A consent change of one topic on one channel: ordered exactly as a channel's (`consentKey`, `compareConsent`). */
export interface TopicConsentChange extends ConsentChange {
  topic: string;
}

/**
 * The topic consent changes an event carries: `Unsubscribed { channel?, topic }` (no channel or `all`: the
 * topic on every channel) and `Subscribed { channel, topic }`. They change the topic only; the channel's own
 * consent stays as it is (and still comes first at send time).
 */
export function topicConsentChanges(event: Pick<NormalisedEvent, 'type' | 'event' | 'properties' | 'timestamp' | 'receivedAt'>): TopicConsentChange[] {
  const topic = event.properties.topic;
  if (event.type !== 'track' || typeof topic !== 'string') return [];
  const times = { eventTime: event.timestamp, receivedAt: event.receivedAt };
  const channel = event.properties.channel;
  if (event.event === EVENTS.UNSUBSCRIBED) {
    const channels = channel === 'all' || channel === undefined ? CHANNELS : CHANNELS.filter((c) => c === channel);
    return channels.map((c) => ({ channel: c, topic, status: 'denied' as const, source: EVENTS.UNSUBSCRIBED, ...times }));
  }
  if (event.event === EVENTS.SUBSCRIBED) {
    return CHANNELS.filter((c) => c === channel).map((c) => ({ channel: c, topic, status: 'granted' as const, source: EVENTS.SUBSCRIBED, ...times }));
  }
  return [];
}

/** The denials among an event's consent changes: what ingest records before it answers (see `ConsentHolds`). */
export const consentDenials = (event: Parameters<typeof consentChanges>[0]) => consentChanges(event).filter((c) => c.status === 'denied');

/**
 * The suppressions an event carries: a hard `Message Bounced` suppresses its channel from the event's time,
 * and so does a `Message Complained` (reason `complaint`: the recipient marked the message as spam), or
 * an `Email Marked as Spam` (Segment's email-events name, from any email tool; email, reason `complaint`).
 * Suppression blocks every message on the channel, transactional too, and nothing lifts it; what the
 * profile consumer applies (functions/profile/apply.ts) and what ingest and the SES feedback function
 * record before they answer.
 */
export function suppressionsOf(event: Pick<NormalisedEvent, 'type' | 'event' | 'properties' | 'timestamp'>): Array<{ channel: Channel; suppression: Suppression }> {
  if (event.type !== 'track') return [];
  if (event.event === EMAIL_MARKED_AS_SPAM) return [{ channel: 'email', suppression: { reason: 'complaint', at: event.timestamp } }];
  const reason = event.event === EVENTS.MESSAGE_BOUNCED && event.properties.bounceType === 'hard' ? ('hard-bounce' as const) : event.event === EVENTS.MESSAGE_COMPLAINED ? ('complaint' as const) : undefined;
  if (reason === undefined) return [];
  const channel = event.properties.channel;
  return CHANNELS.filter((c) => c === channel).map((c) => ({ channel: c, suppression: { reason, at: event.timestamp } }));
}

/**
 * The event reduced to its consent denials and suppressions, or undefined if it has none: what a customer
 * who came back gets of an event dated in their erased life but received in their new one (a denial wins
 * whatever its date; the rest of it, traits, links and properties, stays the erased life's and is dropped).
 */
export function denialsOnly(event: NormalisedEvent): NormalisedEvent | undefined {
  const denied = consentDenials(event);
  // A topic left is a denial too (its topic's, never the channel's): kept with its topic.
  const topicDenied = topicConsentChanges(event).some((c) => c.status === 'denied');
  if (denied.length === 0 && suppressionsOf(event).length === 0 && !topicDenied) return undefined;
  const { anonymousId: _visitor, previousId: _previous, ...rest } = event;
  const known = event.userId !== undefined ? rest : { ...rest, ...(event.anonymousId !== undefined && { anonymousId: event.anonymousId }) };
  if (event.type === 'identify') return { ...known, traits: { consent: Object.fromEntries(denied.map((c) => [c.channel, false])) }, properties: {}, context: {} };
  const { channel, bounceType, topic } = event.properties;
  return { ...known, properties: { ...(channel !== undefined && { channel }), ...(bounceType !== undefined && { bounceType }), ...(topicDenied && topic !== undefined && { topic }) }, traits: {}, context: {} };
}

/**
 * The hash an email address is known by where no address may be kept (`AH#<hash>` holds, the email index `EM#<hash>`,
 * the one-click link's `a`): sha256 hex of the mailbox trimmed and lower-cased; of an address with a display name
 * (`Kim Lee <kim@example.com>`, which SES delivers to the mailbox in the brackets), the mailbox's.
 */
export const emailAddressHash = (address: string): string => createHash('sha256').update(mailboxOf(address).trim().toLowerCase()).digest('hex');

/** The mailbox of an address written with a display name (`Name <mailbox>`, RFC 5322's name-addr); else the address. */
const mailboxOf = (address: string): string => /<([^<>]+)>\s*$/.exec(address)?.[1] ?? address;

/** The channels that send to the `phone` trait (the registry's: SMS, WhatsApp), whose holds are the number's. */
export const PHONE_CHANNELS: readonly Channel[] = (Object.keys(CHANNEL_ADDRESS_TRAIT) as Channel[]).filter((channel) => CHANNEL_ADDRESS_TRAIT[channel] === 'phone');

/**
 * The address an event names for its customer in `trait` (`email`, `phone`): its `traits.<trait>`, else its
 * `context.traits.<trait>`, a non-blank string; undefined when it names none.
 */
export const addressNamedBy = (event: Pick<NormalisedEvent, 'traits' | 'context'>, trait: string): string | undefined =>
  [event.traits[trait], (event.context.traits as Record<string, unknown> | undefined)?.[trait]].find((value): value is string => typeof value === 'string' && value.trim() !== '');

/**
 * A phone number as SMS and WhatsApp send to it (`E164_PHONE`: `+` and digits), from the `phone` trait: trimmed, the
 * separators people write (spaces, `-`, `.`, `(`, `)`) taken out; undefined for anything else (no number a channel reaches).
 */
export const phoneNumberOf = (value: unknown): string | undefined => {
  if (typeof value !== 'string') return undefined;
  const number = value.trim().replace(/[\s().-]/g, '');
  return E164_PHONE.regex.test(number) ? number : undefined;
};

/**
 * The phone number an event names for a hold (an SMS STOP's sender): `phoneNumberOf`, or the international form some
 * SMS providers report without its `+` (`447700900123`: the country code first, never a leading 0), read as E.164.
 */
export const namedPhoneNumberOf = (value: unknown): string | undefined => {
  const number = phoneNumberOf(value);
  if (number !== undefined || typeof value !== 'string') return number;
  return phoneNumberOf(`+${value.trim()}`);
};

/** The hash a phone number is known by where no number may be kept (`AH#<hash>` holds of SMS and WhatsApp): sha256 hex of its E.164 form (`phoneNumberOf`). */
export const phoneNumberHash = (number: string): string => createHash('sha256').update(number).digest('hex');
