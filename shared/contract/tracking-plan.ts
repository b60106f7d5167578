import { z } from 'zod';
import { camelCase } from './amounts';
import { MAX_EVENT_NAME_LENGTH } from './events';
import { CONTRACT_EVENT_PROPERTIES, EVENTS, isContractEvent, RESERVED_EVENT_NAMES } from './known-events';

/**
 * The tracking plan (`workflows/tracking-plan.yaml`): which properties the
 * events Rapport knows by name should carry, and, per source, what happens
 * to an event that breaks it:
 * - `flag` (the default for every source): the event is accepted and applied
 *   as sent; the violation is recorded, counted and listed.
 * - `block`: the event is refused with a 400 naming the event and the field.
 *
 * @example
 * sources:
 *   shop: { mode: block }
 * events:
 *   Order Completed:
 *     properties:
 *       orderId: { type: id, required: true }
 *       revenue: { type: money }
 */
export const TRACKING_PLAN_FILE = 'tracking-plan.yaml';
export const PLAN_MODES = ['flag', 'block'] as const;
export type PlanMode = (typeof PLAN_MODES)[number];

/** Property types: JSON types, plus Rapport's `id` (string or number, kept as a string), `money` (a number >= 0), `currency` (ISO 4217, upper-cased). */
export const PROPERTY_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'id', 'money', 'currency'] as const;
export type PropertyType = (typeof PROPERTY_TYPES)[number];

export const RESERVED_MESSAGE = 'is an event Rapport derives itself; senders cannot send it';

const modeSchema = z.enum(PLAN_MODES, { error: `expected one of ${PLAN_MODES.join(', ')}` });

export const PropertyRuleSchema = z
  .strictObject({
    type: z.enum(PROPERTY_TYPES, { error: `expected one of ${PROPERTY_TYPES.join(', ')}` }).optional().describe('What the value must be.'),
    required: z.boolean({ error: 'expected true or false' }).optional().describe('The event must carry it (under its camelCase or snake_case name). @default false'),
    enum: z.array(z.union([z.string(), z.number()]), { error: 'expected a list of strings or numbers' }).min(1, 'expected at least one value').optional().describe('The only values allowed.'),
    min: z.number({ error: 'expected a number' }).optional().describe('Smallest number allowed.'),
    max: z.number({ error: 'expected a number' }).optional().describe('Largest number allowed.'),
    maxLength: z.number({ error: 'expected a whole number' }).int('expected a whole number').positive('expected a whole number > 0').optional().describe('Longest string allowed.'),
    description: z.string({ error: 'expected text' }).optional(),
  })
  .describe('What one property must be.');
export type PropertyRule = z.infer<typeof PropertyRuleSchema>;

const PROPERTY_NAME = /^[A-Za-z$][A-Za-z0-9_$]{0,63}$/;
const SOURCE_ID = /^[a-z0-9-]{1,64}$/;

export const EventRuleSchema = z
  .strictObject({
    description: z.string({ error: 'expected text' }).optional(),
    properties: z
      .record(z.string().regex(PROPERTY_NAME, 'expected a property name of letters, digits, _ and $ (at most 64)'), PropertyRuleSchema)
      .default({})
      .describe('Properties by camelCase name; the snake_case spelling (order_id for orderId) is accepted for each and renamed.'),
  })
  .describe('What one event must carry.');

export const TrackingPlanFileSchema = z
  .strictObject({
    sources: z
      .record(
        z.string().regex(SOURCE_ID, 'expected a source id: 1-64 characters of a-z, 0-9 and -'),
        z.strictObject({ mode: modeSchema.describe('flag: accept and record violations; block: refuse them with a 400.') }),
      )
      .default({})
      .describe('Mode per source id (sources not named here use flag).'),
    events: z
      .record(
        z
          .string()
          .min(1, 'expected an event name')
          .max(MAX_EVENT_NAME_LENGTH, `expected an event name of at most ${MAX_EVENT_NAME_LENGTH} characters`),
        EventRuleSchema,
      )
      .default({})
      .superRefine((events, ctx) => {
        for (const name of Object.keys(events)) {
          // Placed at the key (yaml-source's AT_KEY): the name is what is wrong.
          if (RESERVED_EVENT_NAMES.has(name)) ctx.addIssue({ code: 'custom', path: [name], message: RESERVED_MESSAGE, params: { anchor: 'key' } });
        }
      })
      .describe('Rules per track event name; events not named here are not checked.'),
  })
  .describe('Rapport tracking plan: what the known events carry, and what each source does with a violation.');
export type TrackingPlanFile = z.input<typeof TrackingPlanFileSchema>;

/**
 * The plan Rapport uses when the config folder has no tracking-plan.yaml (and
 * the one workflows/tracking-plan.yaml holds): types as Segment's spec names
 * them and nothing required, so every call valid under Segment's spec passes.
 */
export const DEFAULT_TRACKING_PLAN: TrackingPlanFile = {
  events: {
    'Signed Up': { properties: { method: { type: 'string' } } },
    'Order Completed': {
      properties: {
        orderId: { type: 'id' },
        checkoutId: { type: 'id' },
        revenue: { type: 'money' },
        total: { type: 'money' },
        value: { type: 'money' },
        subtotal: { type: 'money' },
        currency: { type: 'currency' },
        products: { type: 'array' },
      },
    },
    'Product Viewed': {
      properties: {
        productId: { type: 'id' },
        sku: { type: 'string' },
        name: { type: 'string' },
        category: { type: 'string' },
        price: { type: 'money' },
      },
    },
    'Complaint Filed': {
      properties: {
        complaintId: { type: 'id' },
        severity: { type: 'string', enum: ['low', 'medium', 'high', 'critical'] },
        description: { type: 'string', maxLength: 10_000 },
      },
    },
    'Complaint Resolved': { properties: { complaintId: { type: 'id' }, resolution: { type: 'string', maxLength: 10_000 } } },
    'Survey Responded': {
      properties: {
        surveyType: { type: 'string', enum: ['nps', 'csat'] },
        score: { type: 'integer', min: 0, max: 10 },
        surveyId: { type: 'id' },
        comment: { type: 'string', maxLength: 10_000 },
      },
    },
  },
};

/** One thing an event breaks in the plan: where (JSONPath) and what was expected. No value the sender sent. */
export interface PlanViolation {
  path: string;
  message: string;
}

export type PlanCheck =
  | { ok: true; properties: Record<string, unknown> }
  | { ok: false; properties: Record<string, unknown>; violations: PlanViolation[] };

/** A compiled tracking plan: the mode of a source, and the check of one event's properties. */
export interface TrackingPlan {
  modeOf(sourceId: string): PlanMode;
  /**
   * Check a track event's properties. snake_case spellings of planned properties
   * are renamed to camelCase first. Valid: the properties as the plan types them
   * (ids as strings, currencies upper-cased); a violation: the properties as sent (renamed).
   */
  check(event: string, properties: Record<string, unknown>): PlanCheck;
}

/** Compile a plan already checked against `TrackingPlanFileSchema` (the loader reports its problems as file:line:col). */
export function compileTrackingPlan(file: TrackingPlanFile): TrackingPlan {
  const plan = TrackingPlanFileSchema.parse(file);
  const modes = new Map(Object.entries(plan.sources).map(([id, s]) => [id, s.mode]));
  const events = new Map(
    Object.entries(plan.events).map(([name, rule]) => {
      const shape = Object.fromEntries(Object.entries(rule.properties).map(([key, p]) => [key, propertySchema(p)]));
      const aliases = new Map(Object.keys(rule.properties).map((key) => [key, key] as const));
      return [name, { schema: z.looseObject(shape), aliases }];
    }),
  );
  return {
    modeOf: (sourceId) => modes.get(sourceId) ?? 'flag',
    check(event, properties) {
      const compiled = events.get(event);
      if (compiled === undefined) return { ok: true, properties };
      const renamed = renameToPlan(properties, compiled.aliases);
      const parsed = compiled.schema.safeParse(renamed, { reportInput: true });
      if (parsed.success) return { ok: true, properties: parsed.data };
      return { ok: false, properties: renamed, violations: parsed.error.issues.map((issue) => ({ path: pathOf(issue.path), message: `${event}: ${messageOf(issue)}` })) };
    },
  };
}

export const defaultTrackingPlan = (): TrackingPlan => compileTrackingPlan(DEFAULT_TRACKING_PLAN);

function renameToPlan(properties: Record<string, unknown>, planned: ReadonlyMap<string, string>): Record<string, unknown> {
  const out = { ...properties };
  for (const key of Object.keys(properties)) {
    if (planned.has(key)) continue;
    const camel = camelCase(key);
    if (camel !== key && planned.has(camel) && out[camel] === undefined) {
      out[camel] = out[key];
      delete out[key];
    }
  }
  return out;
}

function propertySchema(rule: PropertyRule): z.ZodType {
  let schema = baseSchema(rule);
  if (rule.enum !== undefined) {
    const allowed = rule.enum;
    schema = schema.refine((v) => allowed.includes(v as string | number), `expected one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  return rule.required === true ? schema : schema.optional();
}

function baseSchema(rule: PropertyRule): z.ZodType {
  const bounded = (n: z.ZodNumber) => {
    let out = n;
    if (rule.min !== undefined) out = out.min(rule.min, `expected a number >= ${rule.min}`);
    if (rule.max !== undefined) out = out.max(rule.max, `expected a number <= ${rule.max}`);
    return out;
  };
  const text = () => (rule.maxLength === undefined ? z.string({ error: 'expected a string' }) : z.string({ error: 'expected a string' }).max(rule.maxLength, `expected at most ${rule.maxLength} characters`));
  switch (rule.type) {
    case 'string':
      return text();
    case 'number':
      return bounded(z.number({ error: 'expected a number' }).finite());
    case 'integer':
      return bounded(z.number({ error: 'expected a whole number' }).int('expected a whole number'));
    case 'boolean':
      return z.boolean({ error: 'expected true or false' });
    case 'object':
      return z.record(z.string(), z.unknown(), { error: 'expected an object' });
    case 'array':
      return z.array(z.unknown(), { error: 'expected an array' });
    case 'id':
      return z
        .union([z.string(), z.number().finite()], { error: 'expected a string or a number' })
        .transform((v) => String(v))
        .pipe(z.string().min(1, 'expected a non-empty id').max(200, 'expected an id of at most 200 characters'));
    case 'money':
      return bounded(z.number({ error: 'expected an amount (a number >= 0)' }).finite().min(0, 'expected an amount (a number >= 0)'));
    case 'currency':
      return z
        .string({ error: 'expected an ISO 4217 currency code such as "EUR"' })
        .transform((c) => c.toUpperCase())
        .pipe(z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 currency code such as "EUR"'));
    case undefined:
      return z.unknown().refine((v) => v !== undefined, 'required');
    default: {
      const unreachable: never = rule.type;
      throw new Error(`unknown property type ${String(unreachable)}`);
    }
  }
}

/** The issue's message without the value sent (violations are kept and listed; values may be personal data). */
function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return `required: ${issue.message}`;
  if (issue.code === 'invalid_union' && issue.input === undefined) return 'required: expected a string or a number';
  return issue.message;
}

function pathOf(path: readonly PropertyKey[]): string {
  let out = '$.properties';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/**
 * The properties a known event carries by Rapport's contract (consent events) or
 * the default tracking plan, each with whether it is a list or object. `undefined`
 * for an event Rapport does not know (custom events carry anything).
 */
export function knownEventProperties(event: string): { name: string; structured: boolean }[] | undefined {
  if (isContractEvent(event)) return Object.keys(CONTRACT_EVENT_PROPERTIES[event].shape).map((name) => ({ name, structured: false }));
  if (!(Object.values(EVENTS) as string[]).includes(event)) return undefined;
  const rules = DEFAULT_TRACKING_PLAN.events?.[event]?.properties ?? {};
  return Object.entries(rules).map(([name, rule]) => ({ name, structured: rule.type === 'array' || rule.type === 'object' }));
}
