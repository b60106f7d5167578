import { z } from 'zod';

/**
 * Events the built-in journeys and the profile use, named after Segment's
 * e-commerce spec where it has a name. Their properties are validated; any
 * other event name is accepted with generic validation only.
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
} as const;
export type KnownEventName = (typeof EVENTS)[keyof typeof EVENTS];

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

export const CHANNELS = ['email', 'sms', 'push'] as const;
export type Channel = (typeof CHANNELS)[number];

const Id = z
  .union([z.string(), z.number().finite()])
  .transform((v) => String(v))
  .pipe(z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters'));
const Money = z.number({ error: 'expected a number' }).finite().min(0, 'must be >= 0');
const Currency = z
  .string({ error: 'expected an ISO 4217 currency code such as "EUR"' })
  .transform((c) => c.toUpperCase())
  .pipe(z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 currency code such as "EUR"'));

const Product = z.looseObject({
  productId: Id.optional(),
  sku: z.string().optional(),
  name: z.string().optional(),
  category: z.string().optional(),
  price: Money.optional(),
  quantity: z.number().int('must be a whole number').min(1, 'must be >= 1').optional(),
});

export const KNOWN_EVENT_PROPERTIES = {
  [EVENTS.SIGNED_UP]: z.looseObject({
    method: z.string().optional(),
  }),
  [EVENTS.ORDER_COMPLETED]: z.looseObject({
    orderId: Id,
    revenue: Money,
    currency: Currency,
    products: z.array(Product).optional(),
  }),
  [EVENTS.PRODUCT_VIEWED]: z.looseObject({
    productId: Id,
    name: z.string().optional(),
    category: z.string().optional(),
    price: Money.optional(),
  }),
  [EVENTS.COMPLAINT_FILED]: z.looseObject({
    complaintId: Id,
    category: z.string().optional(),
    severity: z.enum(['low', 'medium', 'high', 'critical']).optional(),
    channel: z.string().optional(),
    description: z.string().max(10_000).optional(),
  }),
  [EVENTS.COMPLAINT_RESOLVED]: z.looseObject({
    complaintId: Id,
    resolution: z.string().max(10_000).optional(),
  }),
  [EVENTS.SURVEY_RESPONDED]: z
    .looseObject({
      surveyType: z.enum(['nps', 'csat']),
      score: z.number().int('must be a whole number'),
      surveyId: Id.optional(),
      comment: z.string().max(10_000).optional(),
    })
    .superRefine((p, ctx) => {
      const [min, max] = p.surveyType === 'nps' ? [0, 10] : [1, 5];
      if (p.score < min || p.score > max) {
        ctx.addIssue({ code: 'custom', path: ['score'], message: `a ${p.surveyType} score must be between ${min} and ${max}` });
      }
    }),
  [EVENTS.UNSUBSCRIBED]: z.looseObject({
    channel: z.enum([...CHANNELS, 'all']),
    reason: z.string().max(1_000).optional(),
  }),
  [EVENTS.SUBSCRIBED]: z.looseObject({
    channel: z.enum(CHANNELS),
  }),
  [EVENTS.MESSAGE_BOUNCED]: z.looseObject({
    channel: z.enum(CHANNELS),
    bounceType: z.enum(['hard', 'soft']),
    reason: z.string().max(1_000).optional(),
  }),
} satisfies Record<KnownEventName, z.ZodType>;

/**
 * Segment's e-commerce spec names these properties in snake_case; Rapport's
 * contract uses camelCase. A snake_case key is renamed when the camelCase one
 * is absent, so Segment-spec payloads validate unchanged.
 */
export const PROPERTY_ALIASES: Readonly<Record<string, string>> = {
  order_id: 'orderId',
  product_id: 'productId',
  complaint_id: 'complaintId',
  survey_id: 'surveyId',
  survey_type: 'surveyType',
};

export function isKnownEvent(name: string): name is KnownEventName {
  return Object.hasOwn(KNOWN_EVENT_PROPERTIES, name);
}
