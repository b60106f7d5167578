import { CHANNELS, EVENTS, PROFILE_CONSENT_CHANNELS, SENDER_LIMITS, orderAmount, consentChanges, topicConsentChanges, consentOfTrail, consentRecord, detailTypeOf, suppressionsOf, foldConsentTrail, trailOf, type Channel, type ConsentRecord, type NormalisedEvent, type Profile, type RecentEvent } from '../../shared';

import { RECENT_EVENTS_MAX, RECENT_EVENTS_WINDOW_DAYS } from '../../shared/segmentation/constants';
import type { RecentEventsSpec } from '../../shared/segmentation/retention';
import { PROFILE_LIMITS, setTraitWithin, traitBytes } from './limits';
import { keptProperties, RECENT_LIMITS } from './recent';
import { keepPurchases, mergePurchases, orderItems, recordPurchases } from './co-purchases';

/** How much behaviour the profile item keeps for tag conditions (the timeline keeps the rest): what the rules can see. */
export const RECENT_EVENTS_DAYS = RECENT_EVENTS_WINDOW_DAYS;
export { RECENT_EVENTS_MAX };
const PRODUCTS_VIEWED_MAX = 20;
const RESOLVED_COMPLAINTS_MAX = 50;
/**
 * Lists in a profile keep a canonical order (complaint ids sorted; views newest
 * first, ties by product), so the same events in any arrival order make the same profile.
 */
const newestFirst = (a: { at: string; productId: string }, b: { at: string; productId: string }) =>
  a.at < b.at ? 1 : a.at > b.at ? -1 : a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0;
/** Longest string a viewed product's category keeps. */
const RECENT_STRING_MAX = RECENT_LIMITS.stringLength;

const DAY_MS = 86_400_000;
const maxIso = (a: string | undefined, b: string) => (a === undefined || b > a ? b : a);
const minIso = (a: string | undefined, b: string) => (a === undefined || b < a ? b : a);

/** A new, empty profile for a customer first seen at `at`. */
export function emptyProfile(id: string, at: string): Profile {
  const unknown = { status: 'unknown' as const, source: 'default', at };
  return {
    id,
    anonymousIds: [],
    traits: {},
    // One unknown record per channel every profile has (the channel registry's); a channel added later has none.
    consent: Object.fromEntries(PROFILE_CONSENT_CHANNELS.map((channel) => [channel, { ...unknown }])) as Profile['consent'],
    suppression: {},
    firstSeenAt: at,
    lastSeenAt: at,
    stats: {
      eventCount: 0,
      orderCount: 0,
      totalRevenue: 0,
      averageOrderValue: 0,
      productsViewed: [],
      complaintCount: 0,
      openComplaints: [],
      resolvedComplaints: [],
    },
    lifecycleStage: 'prospect',
    rfm: { recency: 0, frequency: 0, monetary: 0 },
    computedTags: [],
    manualTags: [],
    journeyTags: [],
    recentEvents: [],
    traitTimes: {},
  };
}

/**
 * Fold one event into a profile. Pure. Counters are sums and times are min/max
 * over event timestamps, so the result does not depend on arrival order; a
 * trait change only wins over an older one (event time decides), a consent
 * change only over one before it in consent order (`consentKey`: a denial
 * received after a grant happened wins, whatever the grant's timestamp says).
 * Duplicate suppression is the caller's job (by messageId).
 * With `keep`, the recent events are only those it names, with only the
 * properties it names, in the shape its patterns read (without it, every event
 * and property); either way bounded (functions/profile/recent.ts).
 */
export function applyEvent(profile: Profile, event: NormalisedEvent, now: Date, keep?: RecentEventsSpec): Profile {
  const p = structuredClone(profile);
  const at = event.timestamp;
  p.firstSeenAt = minIso(p.firstSeenAt, at);
  p.lastSeenAt = maxIso(p.lastSeenAt, at);
  p.stats.eventCount += 1;
  if (event.anonymousId && event.userId && !p.anonymousIds.includes(event.anonymousId) && p.anonymousIds.length < PROFILE_LIMITS.anonymousIds) p.anonymousIds.push(event.anonymousId);

  if (event.type === 'identify') applyTraits(p, event.traits, at);
  contextLocale(p, event, at);
  if (event.type === 'track') applyTrack(p, event, at, now);
  for (const change of consentChanges(event)) setConsent(p, change.channel, consentRecord(change));
  for (const change of topicConsentChanges(event)) setTopicConsent(p, change.channel, change.topic, consentRecord(change));
  for (const { channel, suppression } of suppressionsOf(event)) suppress(p, channel, suppression);

  const recent = toRecent(event, keep);
  p.recentEvents = keepRecent(recent ? [...p.recentEvents, recent] : p.recentEvents, now, keep);
  defaultConsentSince(p);
  return p;
}

/** Consent nobody has given or refused is "unknown since the customer was first seen". */
function defaultConsentSince(p: Profile): void {
  for (const channel of CHANNELS) if (p.consent[channel].source === 'default') p.consent[channel].at = p.firstSeenAt;
}

function applyTraits(p: Profile, traits: Record<string, unknown>, at: string): void {
  const size = { bytes: traitBytes(p) };
  for (const [key, value] of Object.entries(traits)) {
    if (key === 'tags') {
      // The sender's whole list (null: none) replaces the sender's tags only; journeys' and rules' stay.
      // The ingest refused anything but declared manual tags within SENDER_LIMITS; the cap only guards old events.
      if ((Array.isArray(value) || value === null) && newer(p.traitTimes.tags, at)) {
        p.manualTags = [...new Set((value ?? []).filter((t): t is string => typeof t === 'string' && t.length > 0 && t.length <= SENDER_LIMITS.tagLength))].sort().slice(0, SENDER_LIMITS.tagsPerEvent);
        p.traitTimes.tags = at;
      }
      continue;
    }
    // Consent is not a trait: applyEvent folds it in by consent order (consentChanges).
    if (key === 'consent' && typeof value === 'object' && value !== null) continue;
    if (!newer(ownTime(p.traitTimes, key), at)) continue;
    setTraitWithin(p, key, value, at, size);
  }
}

/**
 * Segment clients send the device's `context.locale` (`fr-FR`) on every call: it becomes the `locale` trait (which
 * chooses a template's locale variant) when the customer has none, so a locale a sender sets as a trait always wins
 * and is never replaced by a device's.
 */
function contextLocale(p: Profile, event: Pick<NormalisedEvent, 'type' | 'traits' | 'context'>, at: string): void {
  const locale = event.context?.locale;
  if (typeof locale !== 'string' || !/^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,4}$/.test(locale)) return;
  if (Object.hasOwn(p.traits, 'locale') || (event.type === 'identify' && Object.hasOwn(event.traits, 'locale'))) return;
  setTraitWithin(p, 'locale', locale, at, { bytes: traitBytes(p) });
}

/** A trait's time, if the profile has one: an own key only (`toString`, `valueOf`, ... are traits like any other, not Object.prototype's). */
const ownTime = (times: Readonly<Record<string, string>>, key: string): string | undefined => (Object.hasOwn(times, key) ? times[key] : undefined);

function applyTrack(p: Profile, event: NormalisedEvent, at: string, now: Date): void {
  const props = event.properties;
  switch (event.event) {
    case EVENTS.ORDER_COMPLETED: {
      p.stats.orderCount += 1;
      // Segment's amount: revenue, else total, else value (a flagged event may carry none: it counts as 0).
      p.stats.totalRevenue = round2(p.stats.totalRevenue + round2(orderAmount(props)));
      p.stats.averageOrderValue = round2(p.stats.totalRevenue / p.stats.orderCount);
      p.stats.firstOrderAt = minIso(p.stats.firstOrderAt, at);
      p.stats.lastOrderAt = maxIso(p.stats.lastOrderAt, at);
      // What they bought (bounded, within the window): the "bought after" pairs and recommendations start from it.
      const items = orderItems(props);
      if (items.length > 0 || p.purchases !== undefined) p.purchases = recordPurchases(p.purchases ?? [], items, at, now);
      break;
    }
    case EVENTS.PRODUCT_VIEWED: {
      // Segment's spec makes neither product_id nor sku mandatory: a view of no product is only counted as an event.
      const product = idOf(props.productId) ?? idOf(props.sku);
      if (product === undefined) break;
      const viewed = { productId: product, at, ...(typeof props.category === 'string' && { category: props.category.slice(0, RECENT_STRING_MAX) }) };
      p.stats.productsViewed = [...p.stats.productsViewed, viewed].sort(newestFirst).slice(0, PRODUCTS_VIEWED_MAX);
      break;
    }
    case EVENTS.COMPLAINT_FILED: {
      const id = idOf(props.complaintId);
      p.stats.complaintCount += 1;
      p.stats.lastComplaintAt = maxIso(p.stats.lastComplaintAt, at);
      if (id !== undefined && !p.stats.resolvedComplaints.includes(id) && !p.stats.openComplaints.includes(id)) p.stats.openComplaints = [...p.stats.openComplaints, id].sort().slice(0, PROFILE_LIMITS.openComplaints);
      break;
    }
    case EVENTS.COMPLAINT_RESOLVED: {
      const id = idOf(props.complaintId);
      if (id === undefined) break;
      p.stats.openComplaints = p.stats.openComplaints.filter((c) => c !== id);
      if (!p.stats.resolvedComplaints.includes(id)) p.stats.resolvedComplaints = [...p.stats.resolvedComplaints, id].sort().slice(-RESOLVED_COMPLAINTS_MAX);
      p.stats.lastResolutionAt = maxIso(p.stats.lastResolutionAt, at);
      break;
    }
    case EVENTS.SURVEY_RESPONDED: {
      const type = props.surveyType;
      const score = props.score;
      // A flagged response the plan could not type (no survey type, no numeric score) is kept on the timeline only.
      if ((type !== 'nps' && type !== 'csat') || typeof score !== 'number' || !Number.isFinite(score)) break;
      if (!p.stats.lastSurvey || at >= p.stats.lastSurvey.at) {
        p.stats.lastSurvey = { type, score, at };
      }
      break;
    }
    default:
      break;
  }
}

/** An id property as the profile keeps it: a non-empty string (a number as a string), else undefined. */
function idOf(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value.length > 0 ? value.slice(0, RECENT_STRING_MAX) : undefined;
}

/**
 * Fold a consent decision into a channel's: the later in consent order stands (`compareConsent`);
 * a denial shows since when it stands without a break (`consentOfTrail`), whatever the arrival order.
 */
export function setConsent(p: Profile, channel: Channel, record: ConsentRecord): void {
  const trail = foldConsentTrail(p.consentTrail?.[channel] ?? trailOf(p.consent[channel]), record);
  p.consentTrail = { ...p.consentTrail, [channel]: trail };
  p.consent[channel] = consentOfTrail(trail) ?? p.consent[channel];
}

/** How many topics a profile keeps consent for, per channel (topics.yaml declares at most as many); see `setTopicConsent` for a 33rd. */
export const TOPIC_CONSENT_MAX = 32;

/**
 * Fold a topic's consent decision on a channel, exactly as a channel's (`setConsent`): the same trail, the same
 * order (`foldConsentTrail`, `consentOfTrail`), so timestamps, future-dated events, ties and a denial's precedence
 * decide a topic as they decide a channel.
 */
export function setTopicConsent(p: Profile, channel: Channel, topic: string, record: ConsentRecord): void {
  let trails = p.topicConsentTrail?.[channel] ?? {};
  if (!Object.hasOwn(trails, topic) && Object.keys(trails).length >= TOPIC_CONSENT_MAX) {
    // Full: a grant is not kept, but a denial never goes: it takes the place of the oldest topic the customer is in
    // (granted), whose default applies again. Only when every kept topic is left is a further one not kept.
    if (record.status !== 'denied') return;
    const granted = Object.entries(p.topicConsent?.[channel] ?? {})
      .filter(([, c]) => c.status === 'granted')
      .sort(([ta, a], [tb, b]) => (a.at < b.at ? -1 : a.at > b.at ? 1 : ta < tb ? -1 : 1));
    const evicted = granted[0]?.[0];
    if (evicted === undefined) return;
    const { [evicted]: _trail, ...kept } = trails;
    trails = kept;
    const { [evicted]: _consent, ...keptConsent } = p.topicConsent?.[channel] ?? {};
    p.topicConsent = { ...p.topicConsent, [channel]: keptConsent };
  }
  const trail = foldConsentTrail(trails[topic] ?? [], record);
  const current = consentOfTrail(trail);
  p.topicConsentTrail = { ...p.topicConsentTrail, [channel]: { ...trails, [topic]: trail } };
  if (current !== undefined) p.topicConsent = { ...p.topicConsent, [channel]: { ...p.topicConsent?.[channel], [topic]: current } };
}

/** Suppress a channel; of several suppressions the earliest is kept (the same one in any order). */
function suppress(p: Profile, channel: Channel, s: NonNullable<Profile['suppression'][Channel]>): void {
  const current = p.suppression[channel];
  if (!current || s.at < current.at || (s.at === current.at && s.reason < current.reason)) p.suppression[channel] = s;
}

/**
 * Merge a visitor's anonymous profile into the known customer's. Sums and
 * min/max like `applyEvent`; the known customer's traits win where both have one
 * unless the visitor's is newer. `keep` as for `applyEvent`.
 */
export function mergeProfiles(known: Profile, visitor: Profile, anonymousId: string, now: Date, keep?: RecentEventsSpec): Profile {
  const p = mergeInto(known, visitor, now, keep);
  p.anonymousIds = [...new Set([...p.anonymousIds, anonymousId])];
  return p;
}

/**
 * Join a known customer's profile (`joined`, the alias's `previousId`) into the surviving one's:
 * stats summed, times min/max, the newest value of each trait (event time), consent by consent
 * order, suppressions, tags and visitor ids united; `joined` and the ids joined into it before
 * are recorded in `mergedIds`. Computed tags, stage and RFM are the caller's to recompute.
 */
export function joinProfiles(survivor: Profile, joined: Profile, now: Date, keep?: RecentEventsSpec): Profile {
  const p = mergeInto(survivor, joined, now, keep);
  p.mergedIds = [...new Set([...(survivor.mergedIds ?? []), joined.id, ...(joined.mergedIds ?? [])])].filter((id) => id !== survivor.id);
  return p;
}

/** The merge both kinds of join share: `v`'s history folded into a copy of `known`. */
function mergeInto(known: Profile, v: Profile, now: Date, keep?: RecentEventsSpec): Profile {
  const p = structuredClone(known);
  p.firstSeenAt = minIso(p.firstSeenAt, v.firstSeenAt);
  p.lastSeenAt = maxIso(p.lastSeenAt, v.lastSeenAt);
  p.anonymousIds = [...new Set([...p.anonymousIds, ...v.anonymousIds])];
  const size = { bytes: traitBytes(p) };
  for (const [key, value] of Object.entries(v.traits)) {
    const at = ownTime(v.traitTimes, key) ?? v.lastSeenAt;
    if (newer(ownTime(p.traitTimes, key), at)) setTraitWithin(p, key, value, at, size);
  }
  for (const channel of CHANNELS) {
    for (const change of v.consentTrail?.[channel] ?? trailOf(v.consent[channel])) setConsent(p, channel, change);
    for (const [topic, trail] of Object.entries(v.topicConsentTrail?.[channel] ?? {})) for (const change of trail) setTopicConsent(p, channel, topic, change);
    const s = v.suppression[channel];
    if (s) suppress(p, channel, s);
  }
  const s = p.stats;
  const vs = v.stats;
  s.eventCount += vs.eventCount;
  s.orderCount += vs.orderCount;
  s.totalRevenue = round2(s.totalRevenue + vs.totalRevenue);
  s.averageOrderValue = s.orderCount > 0 ? round2(s.totalRevenue / s.orderCount) : 0;
  if (vs.firstOrderAt) s.firstOrderAt = minIso(s.firstOrderAt, vs.firstOrderAt);
  if (vs.lastOrderAt) s.lastOrderAt = maxIso(s.lastOrderAt, vs.lastOrderAt);
  s.productsViewed = [...s.productsViewed, ...vs.productsViewed].sort(newestFirst).slice(0, PRODUCTS_VIEWED_MAX);
  s.complaintCount += vs.complaintCount;
  s.resolvedComplaints = [...new Set([...s.resolvedComplaints, ...vs.resolvedComplaints])].sort().slice(-RESOLVED_COMPLAINTS_MAX);
  s.openComplaints = [...new Set([...s.openComplaints, ...vs.openComplaints])].filter((c) => !s.resolvedComplaints.includes(c)).sort().slice(0, PROFILE_LIMITS.openComplaints);
  if (vs.lastComplaintAt) s.lastComplaintAt = maxIso(s.lastComplaintAt, vs.lastComplaintAt);
  if (vs.lastResolutionAt) s.lastResolutionAt = maxIso(s.lastResolutionAt, vs.lastResolutionAt);
  if (vs.lastSurvey && (!s.lastSurvey || vs.lastSurvey.at > s.lastSurvey.at)) s.lastSurvey = vs.lastSurvey;
  if (v.purchases !== undefined || p.purchases !== undefined) p.purchases = mergePurchases(keepPurchases(p.purchases ?? [], now), v.purchases ?? [], now);
  p.manualTags = [...new Set([...p.manualTags, ...v.manualTags])].sort().slice(0, SENDER_LIMITS.tagsPerEvent);
  p.journeyTags = [...new Set([...(p.journeyTags ?? []), ...(v.journeyTags ?? [])])].sort().slice(0, PROFILE_LIMITS.journeyTags);
  p.recentEvents = keepRecent([...p.recentEvents, ...v.recentEvents], now, keep);
  defaultConsentSince(p);
  return p;
}

/**
 * A profile as written before journeys' tags were kept apart (`journeyTags` absent,
 * one `manualTags` list for both): the declared manual tags stay the sender's, every
 * other tag becomes the journeys' (a sender may no longer set it, so only a journey
 * step can have). Profiles already split are returned as they are.
 */
export function upgradeTags(profile: Profile, declaredManual: ReadonlySet<string>): Profile {
  if (profile.journeyTags !== undefined) return profile;
  return {
    ...profile,
    manualTags: profile.manualTags.filter((t) => declaredManual.has(t)),
    journeyTags: profile.manualTags.filter((t) => !declaredManual.has(t)),
  };
}

/** The event as the profile keeps it, or undefined when `keep` says nothing reads it. */
function toRecent(event: NormalisedEvent, keep?: RecentEventsSpec): RecentEvent | undefined {
  const name = detailTypeOf(event);
  const spec = keep?.events.get(name);
  if (keep !== undefined && spec === undefined) return undefined;
  return { name, at: event.timestamp, messageId: event.messageId, sourceId: event.sourceId, properties: keptProperties(event.properties, spec?.shape) };
}

/**
 * Newest first, within the window and the cap, one entry per source and messageId; with
 * `keep`, only the events it names, each within its own window and with only
 * the properties it names (events kept before the spec changed are trimmed too).
 */
function keepRecent(events: RecentEvent[], now: Date, keep?: RecentEventsSpec): RecentEvent[] {
  const t = now.getTime();
  // Without a spec, 90 days; with one, each event name as long as a condition reads it (up to a year).
  const cutoff = keep === undefined ? new Date(t - RECENT_EVENTS_DAYS * DAY_MS).toISOString() : '';
  const seen = new Set<string>();
  const wanted = (e: RecentEvent) => {
    if (keep === undefined) return true;
    const spec = keep.events.get(e.name);
    return spec !== undefined && t - Date.parse(e.at) < spec.keepMs;
  };
  const kept = events
    .filter((e) => e.at >= cutoff && wanted(e) && !seen.has(recentKey(e)) && seen.add(recentKey(e)))
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : a.messageId < b.messageId ? 1 : -1))
    .slice(0, RECENT_EVENTS_MAX);
  return withinBytes(keep === undefined ? kept : kept.map((e) => ({ ...e, properties: keptProperties(e.properties, keep.events.get(e.name)!.shape) })));
}

/** The newest events whose JSON fits `PROFILE_LIMITS.recentEventBytes` (the profile item's share for them). */
function withinBytes(events: RecentEvent[]): RecentEvent[] {
  let total = 2;
  for (let i = 0; i < events.length; i++) {
    total += Buffer.byteLength(JSON.stringify(events[i])) + 1;
    if (total > PROFILE_LIMITS.recentEventBytes) return events.slice(0, i);
  }
  return events;
}

/** A recent event's identity: source and messageId (entries kept before events were keyed by source have no source). */
const recentKey = (e: RecentEvent) => `${e.sourceId ?? ''}/${e.messageId}`;

const newer = (previous: string | undefined, at: string) => previous === undefined || at >= previous;
const round2 = (n: number) => Math.round(n * 100) / 100;
