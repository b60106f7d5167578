import type { Channel } from '../contract';

/**
 * The unified customer profile: the 360° view every journey step reads. Kept in
 * one DynamoDB item per customer, updated by the profile consumer on each event.
 * Times are ISO 8601 strings (UTC).
 */

export const LIFECYCLE_STAGES = ['prospect', 'new', 'active', 'loyal', 'at-risk', 'dormant', 'churned'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

export const VALUE_TIERS = ['high-value', 'potential', 'sleeping'] as const;
export type ValueTier = (typeof VALUE_TIERS)[number];

export interface Rfm {
  /** 1 (long ago) .. 5 (very recent); 0 when the customer never ordered. */
  recency: number;
  /** 1 (few orders) .. 5 (many); 0 when never ordered. */
  frequency: number;
  /** 1 (little spent) .. 5 (much); 0 when never ordered. */
  monetary: number;
  /** The customer's value tier from the three scores, or undefined when never ordered. */
  tier?: ValueTier;
}

export type ConsentStatus = 'granted' | 'denied' | 'unknown';
export interface ConsentRecord {
  status: ConsentStatus;
  /** What set it: an event name, `trait`, `one-click-unsubscribe`, ... */
  source: string;
  /** Since when (for display): the earlier of the change's event time and its receipt. */
  at: string;
  /**
   * Where the change stands in consent order (`consentKey`): a grant's `at`, a
   * denial's receipt. Absent on records stored before the key existed: `at` stands in.
   */
  key?: string;
}

export interface Suppression {
  reason: 'hard-bounce' | 'complaint' | 'erasure' | 'manual';
  at: string;
}

/** A recent event kept on the profile (bounded), for tag conditions over behaviour. */
export interface RecentEvent {
  name: string;
  at: string;
  messageId: string;
  /** The source that sent it (a messageId is unique per source only); absent on entries kept before 2026-12. */
  sourceId?: string;
  /**
   * The properties conditions read, arrays and objects included (`products: [{ category: sofa }]`),
   * bounded in keys, items, depth, string length and bytes (functions/profile/recent.ts).
   */
  properties: Record<string, RecentValue>;
}

/** A property value as a recent event keeps it: JSON, bounded. */
export type RecentValue = string | number | boolean | null | RecentValue[] | { [key: string]: RecentValue };

/**
 * One item a customer bought, as the co-purchase counts see it (functions/profile/co-purchases.ts): a category
 * (`category:sofa`) or a product (`product:p-123`, its productId or sku), with the first and last time it was bought
 * (order timestamps) within the window. Bounded: the most recently bought items only.
 */
export interface Purchase {
  item: string;
  first: string;
  last: string;
}

/**
 * What a template or a branch reads as `recommendations`: the categories and products most often bought after what
 * the customer bought, by other customers, less what the customer has; best first. Computed at send or branch time,
 * never stored.
 */
export interface Recommendations {
  categories: string[];
  products: string[];
}

export interface ProfileStats {
  eventCount: number;
  orderCount: number;
  totalRevenue: number;
  averageOrderValue: number;
  firstOrderAt?: string;
  lastOrderAt?: string;
  productsViewed: Array<{ productId: string; category?: string; at: string }>;
  complaintCount: number;
  /** complaintIds filed and not yet resolved. */
  openComplaints: string[];
  /** complaintIds resolved (recent, bounded): a resolution that arrives before its complaint still closes it. */
  resolvedComplaints: string[];
  lastComplaintAt?: string;
  lastResolutionAt?: string;
  lastSurvey?: { type: 'nps' | 'csat'; score: number; at: string };
}

export interface Profile {
  /** The customer id: the userId, or `anon:<anonymousId>` for a visitor not yet identified. */
  id: string;
  anonymousIds: string[];
  /**
   * Known customer ids joined into this one by `alias` (transitively: a chain a → b → c leaves
   * both on c). Each keeps a forwarding record (its profile item, frozen with `mergedInto`), and
   * its timeline and journey records stay in its own partition. Absent on profiles before joins.
   */
  mergedIds?: string[];
  traits: Record<string, unknown>;
  consent: Record<Channel, ConsentRecord>;
  /**
   * Bookkeeping behind `consent` (not in the API's view): per channel, the latest consent changes in
   * consent order (`foldConsentTrail`), so the record, and since when a denial stands, depend only on
   * the set of changes, not on their arrival order. Absent on profiles stored before it: the record stands in.
   */
  consentTrail?: Partial<Record<Channel, ConsentRecord[]>>;
  /**
   * Consent per channel and subscription topic (topics.yaml), as `consent` per channel and folded by the same
   * consent order: `topicConsent.email.offers`. Absent (or a topic absent): the customer chose nothing, the
   * topic's default applies. At most `TOPIC_CONSENT_MAX` topics per channel.
   */
  topicConsent?: Partial<Record<Channel, Record<string, ConsentRecord>>>;
  /** Bookkeeping behind `topicConsent`, as `consentTrail` is behind `consent` (not in the API's view). */
  topicConsentTrail?: Partial<Record<Channel, Record<string, ConsentRecord[]>>>;
  suppression: Partial<Record<Channel, Suppression>>;
  firstSeenAt: string;
  lastSeenAt: string;
  stats: ProfileStats;
  lifecycleStage: LifecycleStage;
  rfm: Rfm;
  /** Tags computed by the tag rules. */
  computedTags: string[];
  /**
   * Tags set from outside (a CRM's identify trait `tags`, declared `manualTags` only):
   * the sender's whole list, replaced by its next one.
   */
  manualTags: string[];
  /**
   * Tags journeys add (`tag: { add }`), kept apart so a sender's list never removes them.
   * Absent on profiles written before it existed: see `upgradeTags` (functions/profile/apply.ts).
   */
  journeyTags?: string[];
  /** The named segments (workflows/segments.yaml) whose condition holds, sorted; absent: none (or before named segments). */
  namedSegments?: string[];
  recentEvents: RecentEvent[];
  /** When each trait was last set (event time), so an older identify never overwrites a newer value. */
  traitTimes: Record<string, string>;
  /**
   * What the customer bought recently (items, bounded, within the co-purchase window): the antecedents of the
   * "bought after" counts and of `recommendations`. Absent on profiles before cross-sell, and for customers who never ordered.
   */
  purchases?: Purchase[];
  /**
   * `recommendations` as a branch condition reads them: set on a copy of the profile at branch time only
   * (functions/journeys/steps.ts), never stored.
   */
  recommendations?: Recommendations;
  /** Trait writes refused because the profile is at its limits (functions/profile/limits.ts), newest last, bounded. */
  refusedTraits?: Array<{ key: string; reason: string; at: string }>;
}

/** Every tag a customer has, whoever owns it: rules (computed), senders (manual) and journeys. */
export function profileTags(p: Pick<Profile, 'computedTags' | 'manualTags' | 'journeyTags'>): Set<string> {
  return new Set([...p.computedTags, ...p.manualTags, ...(p.journeyTags ?? [])]);
}
