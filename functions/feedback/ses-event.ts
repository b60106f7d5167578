import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CHANNELS, EVENTS, SES_FEEDBACK_SOURCE_ID, type NormalisedEvent, type Suppression } from '../../shared';

/**
 * SES event publishing to EventBridge: a configuration set with an EventBridge event destination puts
 * each sending event on the account's default bus (the only bus SES supports), `source` `aws.ses`,
 * best-effort and in no order. The `detail` is the event record SES documents for its SNS and Firehose
 * destinations: `eventType`, `mail` (with `messageId` and the message's `tags`, each a list of values)
 * and one object named after the type (`bounce`, `complaint`, `delivery`, `open`, `click`, ...).
 *
 * @example
 * {
 *   "version": "0", "id": "…", "detail-type": "Email Bounced", "source": "aws.ses",
 *   "account": "123456789012", "time": "2026-03-02T10:00:05Z", "region": "eu-west-1",
 *   "resources": ["arn:aws:ses:eu-west-1:123456789012:configuration-set/rapport-prod"],
 *   "detail": {
 *     "eventType": "Bounce",
 *     "bounce": { "bounceType": "Permanent", "bounceSubType": "General", "feedbackId": "0100…-000000",
 *                 "timestamp": "2026-03-02T10:00:04.669Z", "bouncedRecipients": [{ "emailAddress": "…" }] },
 *     "mail": { "timestamp": "2026-03-02T10:00:02.012Z", "messageId": "0100…-000000",
 *               "destination": ["…"], "tags": { "journey": ["welcome"], "customer": ["c-42"] } }
 *   }
 * }
 */
export const SES_EVENT_SOURCE = 'aws.ses';

/** The EventBridge `detail-type` of each SES event type Rapport listens to. */
export const SES_DETAIL_TYPES = {
  Bounce: 'Email Bounced',
  Complaint: 'Email Complaint Received',
  Delivery: 'Email Delivered',
  Open: 'Email Opened',
  Click: 'Email Clicked',
  Reject: 'Email Rejected',
  DeliveryDelay: 'Email Delivery Delayed',
} as const;
export type SesEventType = keyof typeof SES_DETAIL_TYPES;

/** The configuration set's event types (CloudFormation `MatchingEventTypes`, CDK `EmailSendingEvent` values), in the same order. */
export const SES_MATCHING_EVENT_TYPES = ['bounce', 'complaint', 'delivery', 'open', 'click', 'reject', 'deliveryDelay'] as const;

/** The tag SES adds to every email sent with a configuration set: the set's name. */
export const SES_CONFIGURATION_SET_TAG = 'ses:configuration-set';

/**
 * The rule pattern of SES feedback, the same in both homes: the documented source and detail-types, and the
 * emails of one configuration set (its name in the tag SES adds), so a stage hears its own emails only (two
 * stages in one account share the default bus).
 */
export const sesFeedbackPattern = (configurationSetName: string) => ({
  source: [SES_EVENT_SOURCE],
  'detail-type': Object.values(SES_DETAIL_TYPES),
  detail: { mail: { tags: { [SES_CONFIGURATION_SET_TAG]: [configurationSetName] } } },
});

const Tags = z.record(z.string(), z.array(z.string()));
const Timed = { timestamp: z.string() };
const Recipients = z.array(z.looseObject({ emailAddress: z.string() })).optional();

/** The `detail` of an SES event on EventBridge (the fields Rapport reads; the rest is kept). */
export const SesEventDetailSchema = z.looseObject({
  eventType: z.string(),
  mail: z.looseObject({ messageId: z.string().min(1), timestamp: z.string(), tags: Tags.optional(), destination: z.array(z.string()).optional() }),
  bounce: z.looseObject({ ...Timed, bounceType: z.string(), bounceSubType: z.string().optional(), feedbackId: z.string().min(1), bouncedRecipients: Recipients }).optional(),
  complaint: z.looseObject({ ...Timed, feedbackId: z.string().min(1), complaintFeedbackType: z.string().optional(), complainedRecipients: Recipients }).optional(),
  delivery: z.looseObject(Timed).optional(),
  open: z.looseObject(Timed).optional(),
  click: z.looseObject({ ...Timed, link: z.string() }).optional(),
  reject: z.looseObject({ reason: z.string().optional() }).optional(),
  deliveryDelay: z.looseObject({ ...Timed, delayType: z.string().optional() }).optional(),
});
export type SesEventDetail = z.infer<typeof SesEventDetailSchema>;

/** An SES event as a rule's Lambda target receives it. */
export interface SesEvent {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

// ---- Message tags: Rapport's ids on every email, so feedback maps back without a lookup ----

/** The message tags the send step puts on an email (functions/journeys/steps.ts), by name. */
export const MESSAGE_TAGS = { journey: 'journey', step: 'step', execution: 'execution', customer: 'customer' } as const;

/** SES tag values hold ASCII letters, digits, `_` and `-` only, at most 256 characters. */
const PLAIN_TAG_VALUE = /^[A-Za-z0-9_-]{1,256}$/;
const ENCODED = 'b64-';
export const MAX_TAG_VALUE = 256;

/**
 * A tag value SES accepts that gives `value` back (`decodeTagValue`): the value itself when SES allows it,
 * else `b64-` and its base64url (letters, digits, `-`, `_`). Undefined when even that is over 256 characters.
 */
export function encodeTagValue(value: string): string | undefined {
  if (PLAIN_TAG_VALUE.test(value) && !value.startsWith(ENCODED)) return value;
  const encoded = ENCODED + Buffer.from(value, 'utf8').toString('base64url');
  return encoded.length <= MAX_TAG_VALUE ? encoded : undefined;
}

export const decodeTagValue = (tag: string): string => (tag.startsWith(ENCODED) ? Buffer.from(tag.slice(ENCODED.length), 'base64url').toString('utf8') : tag);

// ---- Mapping ----

/** What a feedback event says about one message, recorded on its message record (first time of each). */
export type FeedbackKind = 'delivered' | 'bounced' | 'complained' | 'opened' | 'clicked' | 'rejected' | 'delayed';

/** The message record attribute that holds when a message first had `kind`, e.g. `deliveredAt`. */
export const feedbackAttribute = (kind: FeedbackKind) => `${kind}At` as const;

export interface MessageRef {
  customerId: string;
  journeyId: string;
  stepId: string;
  executionName: string;
}

export type Feedback =
  | {
      ok: true;
      kind: FeedbackKind;
      /** When it happened, by SES. */
      at: string;
      message: MessageRef;
      /** The customer event it becomes (none for a reject or a delay). */
      event?: NormalisedEvent;
      /** Set at once, before the event: a hard bounce or a complaint. */
      suppression?: Suppression;
      /**
       * The address the message went to, as SES reports it (the bounced or complaining recipient, else the mail's
       * destination): what a suppression suppresses, whatever address the customer has by the time it arrives.
       */
      to?: string;
    }
  | { ok: false; reason: 'invalid' | 'ignored-type' | 'untagged' };

const sha = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 40);

/**
 * The messageId of the customer event a feedback becomes: derived from what identifies the feedback at SES
 * (a bounce's or complaint's `feedbackId`; else the message, the type, its time and the link), so the same
 * SES event delivered twice (EventBridge delivers at least once) is one event to the profile consumer.
 */
export function feedbackMessageId(detail: SesEventDetail, at: string): string {
  const feedbackId = detail.bounce?.feedbackId ?? detail.complaint?.feedbackId;
  return `ses-${sha(feedbackId !== undefined ? `${detail.eventType}\n${feedbackId}` : [detail.eventType, detail.mail.messageId, at, detail.click?.link ?? ''].join('\n'))}`;
}

const tagOf = (detail: SesEventDetail, name: string): string | undefined => {
  const value = detail.mail.tags?.[name]?.[0];
  return value === undefined ? undefined : decodeTagValue(value);
};

/**
 * What an SES event means to Rapport (pure). A `Permanent` bounce is hard; `Transient` and `Undetermined`
 * are soft (the address may work again: no suppression). A complaint suppresses email with reason
 * `complaint`. An email Rapport did not tag (another sender on the same account) is `untagged`.
 */
export function feedbackOf(detailType: string, rawDetail: unknown, receivedAt: string): Feedback {
  const parsed = SesEventDetailSchema.safeParse(rawDetail);
  if (!parsed.success) return { ok: false, reason: 'invalid' };
  const detail = parsed.data;
  const type = detail.eventType as SesEventType;
  if (!Object.hasOwn(SES_DETAIL_TYPES, type) || SES_DETAIL_TYPES[type] !== detailType) return { ok: false, reason: 'ignored-type' };
  const customerId = tagOf(detail, MESSAGE_TAGS.customer);
  const journeyId = tagOf(detail, MESSAGE_TAGS.journey);
  const stepId = tagOf(detail, MESSAGE_TAGS.step);
  const executionName = tagOf(detail, MESSAGE_TAGS.execution);
  if (!customerId || !journeyId || !stepId || !executionName) return { ok: false, reason: 'untagged' };
  const message = { customerId, journeyId, stepId, executionName };
  // Rapport sends each email to one address: the recipient SES names, else the mail's destination.
  const recipient = (recipients: ReadonlyArray<{ emailAddress: string }> | undefined) => {
    const to = recipients?.[0]?.emailAddress ?? detail.mail.destination?.[0];
    return to !== undefined ? { to } : {};
  };

  const at = detail.bounce?.timestamp ?? detail.complaint?.timestamp ?? detail.delivery?.timestamp ?? detail.open?.timestamp ?? detail.click?.timestamp ?? detail.deliveryDelay?.timestamp ?? detail.mail.timestamp;
  const event = (name: string, properties: Record<string, unknown>): NormalisedEvent => ({
    specVersion: 1,
    type: 'track',
    messageId: feedbackMessageId(detail, at),
    ...(customerId.startsWith('anon:') ? { anonymousId: customerId.slice('anon:'.length) } : { userId: customerId }),
    event: name,
    properties: { channel: CHANNELS[0], journeyId, stepId, ...properties },
    traits: {},
    context: {},
    timestamp: at,
    receivedAt,
    sourceId: SES_FEEDBACK_SOURCE_ID,
  });
  switch (type) {
    case 'Bounce': {
      if (!detail.bounce) return { ok: false, reason: 'invalid' };
      const hard = detail.bounce.bounceType === 'Permanent';
      return {
        ok: true,
        kind: 'bounced',
        at,
        message,
        event: event(EVENTS.MESSAGE_BOUNCED, { bounceType: hard ? 'hard' : 'soft', ...(detail.bounce.bounceSubType && { reason: `${detail.bounce.bounceType}/${detail.bounce.bounceSubType}` }) }),
        ...(hard && { suppression: { reason: 'hard-bounce' as const, at } }),
        ...recipient(detail.bounce.bouncedRecipients),
      };
    }
    case 'Complaint':
      if (!detail.complaint) return { ok: false, reason: 'invalid' };
      return {
        ok: true,
        kind: 'complained',
        at,
        message,
        event: event(EVENTS.MESSAGE_COMPLAINED, detail.complaint.complaintFeedbackType ? { complaintType: detail.complaint.complaintFeedbackType } : {}),
        suppression: { reason: 'complaint', at },
        ...recipient(detail.complaint.complainedRecipients),
      };
    case 'Delivery':
      return { ok: true, kind: 'delivered', at, message, event: event(EVENTS.MESSAGE_DELIVERED, {}) };
    case 'Open':
      return { ok: true, kind: 'opened', at, message, event: event(EVENTS.MESSAGE_OPENED, {}) };
    case 'Click':
      if (!detail.click) return { ok: false, reason: 'invalid' };
      return { ok: true, kind: 'clicked', at, message, event: event(EVENTS.MESSAGE_CLICKED, { url: detail.click.link }) };
    case 'Reject':
      return { ok: true, kind: 'rejected', at, message };
    case 'DeliveryDelay':
      return { ok: true, kind: 'delayed', at, message };
  }
}
