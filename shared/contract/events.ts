import { z } from 'zod';

/**
 * The Rapport event contract: Segment-spec shaped, so any Segment or RudderStack
 * source can feed Rapport unchanged. These zod schemas are the single source of
 * truth; `npm run schema` exports them as JSON Schema for integrators.
 *
 * @example
 * {
 *   "type": "track",
 *   "messageId": "ord-1001-completed",
 *   "userId": "cust_42",
 *   "event": "Order Completed",
 *   "properties": { "orderId": "1001", "revenue": 59.9, "currency": "EUR" },
 *   "timestamp": "2026-11-23T10:00:00.000Z"
 * }
 */

export const EVENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Longest accepted messageId (Segment's own limit). */
export const MAX_MESSAGE_ID_LENGTH = 100;
/** Longest accepted userId / anonymousId. */
export const MAX_ID_LENGTH = 256;
/**
 * Longest accepted event name: it becomes the EventBridge `detail-type`, which
 * PutEvents refuses over 128 characters (a longer name could never be published).
 */
export const MAX_EVENT_NAME_LENGTH = 128;
/** Deepest accepted nesting of objects/arrays inside one event. */
export const MAX_NESTING_DEPTH = 32;

const JsonObject = z.record(z.string(), z.unknown());

/**
 * Identifiers may arrive as numbers from some SDKs; they are kept as strings. Not "." or "..", and well-formed Unicode
 * (no lone surrogate, which has no UTF-8 form): a URL path cannot
 * name them (every client, API Gateway and the engine read them as dot segments), so a customer with such an id could
 * be neither exported nor erased (`/v1/customers/{id}`).
 */
/** A UTF-16 surrogate without its pair: text that is not well-formed Unicode. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const Identifier = z
  .union([z.string(), z.number().finite()])
  .transform((v) => String(v))
  .pipe(
    z
      .string()
      .min(1, 'must not be empty')
      .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
      .refine((v) => v !== '.' && v !== '..', 'must not be "." or ".." (a URL path cannot name it: the customer could be neither exported nor erased)')
      .refine((v) => !LONE_SURROGATE.test(v), 'must be well-formed Unicode (a lone UTF-16 surrogate, such as "\\ud800", has no UTF-8 form: no URL could name the customer, who could be neither exported nor erased)'),
  );

/**
 * A known customer's id (userId, an alias's previousId): not `anon:...`, the prefix of visitor profiles
 * (`anon:<anonymousId>`). A sender's `userId: "anon:x"` would write into visitor x's profile as if it were known.
 */
const KnownId = Identifier.refine((v) => !v.startsWith('anon:'), 'must not start with "anon:" (the prefix of visitor profiles; send a visitor id as anonymousId)');

const IsoTimestamp = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time with a time zone, e.g. 2026-11-23T10:00:00Z' });

const Common = {
  messageId: z
    .string()
    .min(1, 'must not be empty')
    .max(MAX_MESSAGE_ID_LENGTH, `must be at most ${MAX_MESSAGE_ID_LENGTH} characters`)
    .optional(),
  userId: KnownId.optional(),
  anonymousId: Identifier.optional(),
  timestamp: IsoTimestamp.optional(),
  originalTimestamp: IsoTimestamp.optional(),
  sentAt: IsoTimestamp.optional(),
  context: JsonObject.optional(),
  integrations: JsonObject.optional(),
};

export const TrackEventSchema = z.looseObject({
  ...Common,
  type: z.literal('track'),
  event: z.string().trim().min(1, 'must not be empty').max(MAX_EVENT_NAME_LENGTH, `must be at most ${MAX_EVENT_NAME_LENGTH} characters`),
  properties: JsonObject.optional(),
});

export const IdentifyEventSchema = z.looseObject({
  ...Common,
  type: z.literal('identify'),
  traits: JsonObject.optional(),
});

export const PageEventSchema = z.looseObject({
  ...Common,
  type: z.literal('page'),
  name: z.string().max(200).optional(),
  category: z.string().max(200).optional(),
  properties: JsonObject.optional(),
});

export const ScreenEventSchema = z.looseObject({
  ...Common,
  type: z.literal('screen'),
  name: z.string().max(200).optional(),
  category: z.string().max(200).optional(),
  properties: JsonObject.optional(),
});

export const GroupEventSchema = z.looseObject({
  ...Common,
  type: z.literal('group'),
  groupId: Identifier,
  traits: JsonObject.optional(),
});

export const AliasEventSchema = z.looseObject({
  ...Common,
  type: z.literal('alias'),
  previousId: KnownId,
  userId: KnownId,
});

/** One incoming event, as an integrator sends it. */
export const IncomingEventSchema = z
  .discriminatedUnion('type', [
    TrackEventSchema,
    IdentifyEventSchema,
    PageEventSchema,
    ScreenEventSchema,
    GroupEventSchema,
    AliasEventSchema,
  ])
  .superRefine((e, ctx) => {
    if (e.userId === undefined && e.anonymousId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['userId'], message: 'either userId or anonymousId is required' });
    }
  });
export type IncomingEvent = z.infer<typeof IncomingEventSchema>;

/**
 * The normalised event: what Rapport puts on the bus as `Detail`, and what every
 * consumer reads. Ids only as sent; no fields beyond the contract.
 */
export const NormalisedEventSchema = z.object({
  specVersion: z.literal(1),
  type: z.enum(EVENT_TYPES),
  messageId: z.string().min(1).max(MAX_MESSAGE_ID_LENGTH),
  userId: z.string().optional(),
  anonymousId: z.string().optional(),
  event: z.string().optional(),
  name: z.string().optional(),
  category: z.string().optional(),
  groupId: z.string().optional(),
  previousId: z.string().optional(),
  properties: JsonObject,
  traits: JsonObject,
  context: JsonObject,
  /** When it happened (the sender's clock, skew-corrected when sentAt is given). */
  timestamp: z.string(),
  /** When Rapport accepted it. */
  receivedAt: z.string(),
  /** The ingest source (webhook sender / write key) it came from. */
  sourceId: z.string(),
  /**
   * The messageIds of the same customer's (userId's) events that came before this one in the same request (the
   * last PRECEDED_BY_MAX): a journey enrols on this event only once the profile holds them too, so an identify
   * sent with its Signed Up is on the profile when the welcome goes out, whatever order the bus delivers them in.
   */
  precededBy: z.array(z.string()).max(10).optional(),
});
/** How many earlier events of the same request an event names in `precededBy`. */
export const PRECEDED_BY_MAX = 10;
export type NormalisedEvent = z.infer<typeof NormalisedEventSchema>;

/** Body of `POST /v1/events` and `POST /v1/batch`: one event, or a batch of them. */
export const BATCH_LIMIT = 500;
export const BatchEnvelopeSchema = z.looseObject({
  batch: z.array(z.unknown()).min(1, 'batch must hold at least one event').max(BATCH_LIMIT, `batch holds at most ${BATCH_LIMIT} events`),
  context: JsonObject.optional(),
  sentAt: IsoTimestamp.optional(),
});
