import { z } from 'zod';
import { CONSENT_CHANNELS, type ConsentChannel } from '../channels';

/**
 * The source of the `Unsubscribed` events Rapport's own one-click unsubscribe link publishes, and of the
 * `Subscribed`/`Unsubscribed {channel, topic}` events of its preference page. Such a click applies to a live
 * profile only: it never re-creates an erased customer (see `startsNewLife`).
 */
export const ONE_CLICK_SOURCE_ID = 'unsubscribe';

/**
 * The source of the events Rapport makes of SES feedback (functions/feedback): bounces, complaints,
 * deliveries, opens and clicks of its own emails. Like a one-click unsubscribe, such an event applies to
 * a live profile only: a click on an old email never re-creates an erased customer (see `startsNewLife`).
 * Not a valid ingest source id (those are `[a-z0-9-]+`), so no sender can post as it.
 */
export const SES_FEEDBACK_SOURCE_ID = 'rapport.ses';

/**
 * Events the built-in journeys and the profile use, named after Segment's
 * e-commerce spec where it has a name. The consent events' properties are
 * Rapport's contract (below); the others' are the tracking plan's.
 */
export const EVENTS = {
  SIGNED_UP: 'Signed Up',
  ORDER_COMPLETED: 'Order Completed',
  PRODUCT_VIEWED: 'Product Viewed',
  COMPLAINT_FILED: 'Complaint Filed',
  COMPLAINT_RESOLVED: 'Complaint Resolved',
  SURVEY_RESPONDED: 'Survey Responded',
  UNSUBSCRIBED: 'Unsubscribed',
  SUBSCRIBED: 'Subscribed',
  MESSAGE_BOUNCED: 'Message Bounced',
  /** The recipient marked a Rapport email as spam (SES feedback): email is suppressed, reason `complaint`. */
  MESSAGE_COMPLAINED: 'Message Complained',
  MESSAGE_DELIVERED: 'Message Delivered',
  MESSAGE_OPENED: 'Message Opened',
  MESSAGE_CLICKED: 'Message Clicked',
} as const;
export type KnownEventName = (typeof EVENTS)[keyof typeof EVENTS];

/**
 * Segment's email-events spec name for a spam complaint, as email tools other than SES report it
 * (through Segment or their own webhooks). Like Rapport's own `Message Complained`, it suppresses
 * email (reason `complaint`) from ingest's answer; its properties are the tool's (no channel needed).
 */
export const EMAIL_MARKED_AS_SPAM = 'Email Marked as Spam';

/**
 * Reports on a message already sent, whoever sends them: Rapport's own (`Message …`, SES feedback) and Segment's
 * email-events spec as email tools report them (`Email …`, and `Unsubscribed` from the tool's own link in the
 * email). A message outlives the customer it went to: none of these starts an erased customer's new life
 * (functions/profile/store.ts `startsNewLife`); their denials and suppressions are parked for a comeback.
 */
export const MESSAGE_FEEDBACK_EVENTS: ReadonlySet<string> = new Set([
  EVENTS.MESSAGE_BOUNCED,
  EVENTS.MESSAGE_COMPLAINED,
  EVENTS.MESSAGE_DELIVERED,
  EVENTS.MESSAGE_OPENED,
  EVENTS.MESSAGE_CLICKED,
  EMAIL_MARKED_AS_SPAM,
  'Email Bounced',
  'Email Delivered',
  'Email Opened',
  'Email Link Clicked',
]);

/**
 * Events Rapport derives itself (profile consumer, sweep). Senders may not post
 * them: a forged `Tag Added` would start journeys no rule produced.
 */
export const DERIVED_EVENTS = {
  TAG_ADDED: 'Tag Added',
  TAG_REMOVED: 'Tag Removed',
  LIFECYCLE_STAGE_CHANGED: 'Lifecycle Stage Changed',
  CUSTOMER_BECAME_INACTIVE: 'Customer Became Inactive',
} as const;
export type DerivedEventName = (typeof DERIVED_EVENTS)[keyof typeof DERIVED_EVENTS];
export const RESERVED_EVENT_NAMES: ReadonlySet<string> = new Set(Object.values(DERIVED_EVENTS));

/** The channels the profile keeps consent for (the channel registry's). */
export const CHANNELS = CONSENT_CHANNELS;
export type Channel = ConsentChannel;

const Reason = z.string().max(1_000).optional();
/**
 * A subscription topic (workflows/topics.yaml): with it, the change is the topic's on the channel, not the
 * channel's. The shape of an id here; ingest then refuses a topic topics.yaml does not declare (the profile keeps at most 32 topics per channel).
 */
const Topic = z
  .string()
  .regex(/^[a-z0-9]+(?:[-_][a-z0-9]+)*$/, { error: 'expected a topic id of topics.yaml (lowercase letters, digits, "-" or "_")' })
  .max(64)
  .optional();

/**
 * The consent events' properties are Rapport's contract, checked for every source:
 * a consent change that cannot be applied as sent (no channel, an unknown one)
 * must not be accepted and then silently ignored. Every other known event's
 * properties are the tracking plan's (tracking-plan.ts), flagged or blocked per source.
 */
export const CONTRACT_EVENT_PROPERTIES = {
  [EVENTS.UNSUBSCRIBED]: z.looseObject({
    // Segment's email-events spec (and the tools that follow it) send `Unsubscribed` with no channel. A
    // denial is never refused for that (the sender's SDK would drop it): no channel is every channel, and
    // normaliseEvent writes `all` into the event, so journeys' exits on `channel: [email, all]` see it too.
    channel: z.enum([...CHANNELS, 'all']).optional(),
    topic: Topic,
    reason: Reason,
  }),
  [EVENTS.SUBSCRIBED]: z.looseObject({
    channel: z.enum(CHANNELS),
    topic: Topic,
  }),
  [EVENTS.MESSAGE_BOUNCED]: z.looseObject({
    channel: z.enum(CHANNELS),
    bounceType: z.enum(['hard', 'soft']),
    reason: Reason,
  }),
  [EVENTS.MESSAGE_COMPLAINED]: z.looseObject({
    channel: z.enum(CHANNELS),
  }),
} satisfies Partial<Record<KnownEventName, z.ZodType>>;
export type ContractEventName = keyof typeof CONTRACT_EVENT_PROPERTIES;

export function isContractEvent(name: string): name is ContractEventName {
  return Object.hasOwn(CONTRACT_EVENT_PROPERTIES, name);
}
