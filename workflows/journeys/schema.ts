/**
 * The journey file, as zod schemas: the first validation pass (shape). Objects
 * are strict, so a misspelt key is an error, not a silently ignored line.
 *
 * @example
 * ```yaml
 * id: welcome
 * name: Welcome
 * version: 1
 * trigger: { event: Signed Up }
 * goals: [{ event: Order Completed }]
 * steps:
 *   - id: send-welcome
 *     send: { channel: email, template: welcome }
 *   - id: wait-a-day
 *     wait: 1d
 * ```
 */
import { z } from 'zod';
import { CHANNELS, DEFAULT_ATTRIBUTION, FALLBACK_CHANNELS, LIFECYCLE_STAGES, orList, SEND_CHANNELS, TOPIC_ID_PATTERN, VARIANT_CHANNELS, type SendChannel } from '../../shared';
import { ConditionSchema } from './conditions';
import { DURATION_EXAMPLE, DURATION_PATTERN, DURATION_UNITS } from './duration';

/** The actions a step can take; a step has exactly one of these keys. */
export const ACTIONS = ['send', 'wait', 'wait_until', 'wait_for', 'branch', 'split', 'tag', 'update', 'webhook', 'exit'] as const;
export type ActionName = (typeof ACTIONS)[number];

/** A `next` (or `else`, `on_event`, `on_timeout`) target that ends the journey instead of naming a step. */
export const END = 'end';
/** Split variant target of a holdout group (written `holdout: true`). */
export const HOLDOUT = 'holdout';
const RESERVED_STEP_IDS: ReadonlySet<string> = new Set([END, HOLDOUT]);

/** The channels a send step may use (the channel registry's, shared/channels). */
export { SEND_CHANNELS, type SendChannel };
export const MESSAGE_KINDS = ['marketing', 'transactional'] as const;
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const KEBAB = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `iss.input === undefined` means the key is missing: say what belongs there. */
function expected(what: string): { error: (iss: { input?: unknown }) => string } {
  return { error: (iss) => (iss.input === undefined ? `missing: expected ${what}` : `expected ${what}`) };
}

const Kebab = (what: string, example: string, max = 60) =>
  z
    .string(expected(`${what} in kebab-case, like "${example}"`))
    .regex(KEBAB, `expected ${what} in kebab-case (lower-case letters, digits and single hyphens), like "${example}"`)
    .max(max, `must be at most ${max} characters`);

export const StepIdSchema = Kebab('a step id', 'send-welcome')
  .refine((id) => !RESERVED_STEP_IDS.has(id), { message: `"${END}" and "${HOLDOUT}" are reserved and cannot be step ids` })
  .describe('Unique step id (kebab-case). It names the Step Functions state, so keep it stable across versions.');
/** A step id, or `end` to finish the journey. */
export const TargetSchema = z
  .string(expected(`a step id or "${END}"`))
  .regex(KEBAB, `expected a step id (kebab-case) or "${END}"`)
  .describe(`The step to go to, or "${END}" to finish the journey.`);

export const DurationSchema = z
  .string(expected(`a duration such as ${DURATION_EXAMPLE}`))
  .regex(DURATION_PATTERN, `expected a duration such as ${DURATION_EXAMPLE} (units ${DURATION_UNITS}, largest first)`)
  .min(2, `expected a duration such as ${DURATION_EXAMPLE}`)
  .describe(`A duration: ${DURATION_EXAMPLE}. At most 365d.`);

const EventNameSchema = z
  .string(expected('an event name such as "Order Completed"'))
  .min(1, 'expected an event name such as "Order Completed"')
  .max(128, 'an event name is at most 128 characters (the EventBridge detail-type limit)')
  .describe('The event name (the EventBridge detail-type), e.g. "Order Completed", or a derived event: "Tag Added", "Tag Removed", "Lifecycle Stage Changed", "Customer Became Inactive".');

/** An EventBridge event pattern on the event's `properties`, checked in the meaning pass. */
const WhereSchema = z
  .record(z.string(), z.unknown(), expected('an EventBridge pattern on the event properties, like { tag: [vip] }'))
  .describe('An EventBridge content filter on the event properties, e.g. { revenue: [{ numeric: [">", 100] }] }. Every value is a list.');

const PropertyNameSchema = z
  .string(expected('a trigger property name such as "complaintId"'))
  .regex(IDENTIFIER, 'expected a property name (letters, digits, underscore), such as "complaintId"');

const TagNameSchema = z
  .string(expected('a tag name such as "vip"'))
  .regex(/^[a-z0-9]+(?:[-_:][a-z0-9]+)*$/, 'expected a tag name (lower-case letters, digits, "-", "_" or ":"), such as "vip"')
  .max(64, 'must be at most 64 characters');

const TemplateNameSchema = Kebab('a template name', 'welcome').describe(
  'A template in workflows/templates: the file <template>.<channel>.liquid must exist.',
);

export const EventFilterSchema = z
  .strictObject(
    {
      event: EventNameSchema,
      where: WhereSchema.optional(),
    },
    expected('{ event: <name>, where?: <pattern> }'),
  )
  .describe('An event, optionally filtered on its properties.');

/** `trigger.max_age` when the journey does not say: a trigger older than a day (imported history) starts nothing. */
export const DEFAULT_TRIGGER_MAX_AGE = '1d';
/** `trigger.max_age: none`: a trigger of any age starts the journey. */
export const NO_MAX_AGE = 'none';

export const TriggerSchema = z
  .strictObject(
    {
      event: EventNameSchema,
      where: WhereSchema.optional(),
      max_age: z
        .union([z.literal(NO_MAX_AGE), DurationSchema], expected(`a duration such as ${DURATION_EXAMPLE}, or "${NO_MAX_AGE}"`))
        .optional()
        .describe(
          `How old (its timestamp against the engine clock) the trigger event may be and still start a run: a duration (default ${DEFAULT_TRIGGER_MAX_AGE}), or "${NO_MAX_AGE}" for any age. An older trigger (imported history) is counted as skipped.stale.`,
        ),
    },
    expected('{ event: <name>, where?: <pattern>, max_age?: <duration> | none }'),
  )
  .describe('The event that starts the journey for a customer.');

export { DEFAULT_ATTRIBUTION };

const AttributionSchema = z
  .strictObject(
    {
      event: EventNameSchema.describe('The conversion event, e.g. "Order Completed".'),
      value: z
        .string(expected('a property name such as "revenue"'))
        .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'expected a property name such as "revenue" (letters, digits, _; at most 64)')
        .optional()
        .describe("The conversion event's property holding what it earned; default: the order amount as Segment defines it (revenue, else total, else value)."),
      window: DurationSchema.describe('How long after a message a conversion is credited to it (last touch), e.g. 5d.'),
    },
    expected('{ event: <name>, value?: <property>, window: <duration> }'),
  )
  .describe(`What the journey's messages earned: each conversion is credited to the last Rapport message the customer got within its window (last touch). Default: { event: ${DEFAULT_ATTRIBUTION.event}, window: ${DEFAULT_ATTRIBUTION.window} }.`);
/** The longest `frequency_cap_max_delay`: the deployment's `sendPolicy.frequencyCapMaxDelayDays` is at most 30 days too. */
export const FREQUENCY_CAP_MAX_DELAY_MAX = '30d';

const FrequencyCapMaxDelaySchema = DurationSchema.describe(
  `How long a marketing send over the frequency cap may wait for the window to free, from its first deferral; past that it is skipped (frequency-cap). "0s": skip at once. At most ${FREQUENCY_CAP_MAX_DELAY_MAX}. Default: the deployment's sendPolicy.frequencyCapMaxDelayDays.`,
);

const SendPolicySchema = z
  .strictObject({ frequency_cap_max_delay: FrequencyCapMaxDelaySchema.optional() }, expected('{ frequency_cap_max_delay?: <duration> }'))
  .describe("The send policy of this journey's marketing sends, where it differs from the deployment's (a send step may override it again).");

const AudienceSchema = z
  .strictObject(
    {
      tags: z
        .strictObject({
          include: z.array(TagNameSchema).min(1).optional().describe('The customer must have at least one of these tags.'),
          exclude: z.array(TagNameSchema).min(1).optional().describe('The customer must have none of these tags.'),
        })
        .optional(),
      lifecycle: z.array(z.enum(LIFECYCLE_STAGES)).min(1).optional().describe('The customer must be in one of these lifecycle stages.'),
      consent: z.enum(CHANNELS).optional().describe('The customer must be reachable with marketing on this channel (consent, not suppressed).'),
    },
    expected('{ tags?, lifecycle?, consent? }'),
  )
  .describe('Who may enter, checked when the trigger arrives.');

const EntrySchema = z
  .strictObject(
    {
      reentry: z
        .union([z.literal('never'), z.literal('always'), z.strictObject({ after: DurationSchema })], expected('never, always or { after: <duration> }'))
        .default('never')
        .describe('May a customer enter again? never (default), always, or { after: 180d } since the last entry. Judged per concurrency key.'),
      concurrency: z
        .union([z.literal('one-per-customer'), z.strictObject({ per: PropertyNameSchema })], expected('one-per-customer or { per: <trigger property> }'))
        .default('one-per-customer')
        .describe('How many runs at once: one-per-customer (default), or one per value of a trigger property, e.g. { per: complaintId }.'),
    },
    expected('{ reentry?, concurrency? }'),
  )
  .describe('Re-entry and concurrency rules, checked when the trigger arrives.');

// ---------------------------------------------------------------------------
// Steps: one strict object per action; a step has an id and exactly one action.
// ---------------------------------------------------------------------------

const Next = TargetSchema.optional().describe(`Where to go after this step (default: the next step in the list; "${END}" finishes).`);

const VariantSchema = z
  .strictObject(
    {
      id: Kebab('a variant id', 'short-subject', 40),
      template: TemplateNameSchema.optional().describe("This variant's template (default: the send's)."),
      channel: z.enum(VARIANT_CHANNELS, expected(orList(VARIANT_CHANNELS))).optional().describe("This variant's channel (default: the send's)."),
      weight: z.number(expected('a whole weight from 1 to 100')).int('expected a whole weight from 1 to 100').min(1, 'expected a whole weight from 1 to 100').max(100, 'expected a whole weight from 1 to 100').describe("This variant's share: its weight over the sum of the weights."),
    },
    expected('{ id, template?, channel?, weight }'),
  )
  .describe('One arm of an experiment: the template and/or channel it sends with, and its share of customers.');

/** A subscription topic's id, declared in topics.yaml (checked against it in the meaning pass). */
const TopicSchema = z
  .string(expected('a topic id declared in topics.yaml, like "newsletter"'))
  .regex(TOPIC_ID_PATTERN, 'expected a topic id in lowercase letters, digits, "-" or "_", like "product-updates"')
  .max(64, 'expected a topic id of at most 64 characters');

const SendStep = z.strictObject({
  id: StepIdSchema,
  send: z
    .strictObject(
      {
        channel: z.enum(SEND_CHANNELS, expected(orList(SEND_CHANNELS))),
        template: TemplateNameSchema,
        kind: z.enum(MESSAGE_KINDS, expected('marketing or transactional')).optional().describe('marketing (default): consent, frequency cap and quiet hours apply; transactional: only suppression applies.'),
        target: Kebab('an outbound webhook name', 'support').optional().describe('Only for channel webhook: the configured outbound webhook the message goes to.'),
        frequency_cap_max_delay: FrequencyCapMaxDelaySchema.optional(),
        topic: TopicSchema.optional().describe("This marketing send's subscription topic (topics.yaml), instead of the journey's `topic`."),
        fallback: z
          .enum(FALLBACK_CHANNELS, expected(orList(FALLBACK_CHANNELS)))
          .optional()
          .describe(
            'Another channel to try when the customer cannot be reached on this one (no address, unsubscribed, no consent, suppressed, left the topic): the same template on that channel (<template>.<fallback>.liquid); the first skip is recorded with its reason, the fallback send as <step>.fallback.',
          ),
        variants: z
          .array(VariantSchema, expected('a list of variants'))
          .min(2, 'an experiment needs at least 2 variants')
          .max(5, 'an experiment has at most 5 variants')
          .optional()
          .describe('An experiment: each customer gets one variant, drawn by weight (the same on every retry); the first is the control. Stats per variant: sent, conversions, revenue, rate, and a p-value against the control.'),
      },
      expected('{ channel, template, kind?, frequency_cap_max_delay?, topic?, fallback?, variants? }'),
    )
    .describe('Send a message to the customer, rendered from <template>.<channel>.liquid.'),
  next: Next,
});

const WaitStep = z.strictObject({
  id: StepIdSchema,
  wait: DurationSchema.describe('Pause for this long.'),
  next: Next,
});

const WaitUntilStep = z.strictObject({
  id: StepIdSchema,
  wait_until: z
    .strictObject(
      {
        time: z
          .string(expected('a time of day "HH:MM"'))
          .regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/, 'expected a time of day "HH:MM" (24-hour clock), such as "09:00"; quote it in YAML'),
        days: z.array(z.enum(WEEKDAYS, expected('a weekday: mon, tue, wed, thu, fri, sat or sun'))).min(1).optional(),
      },
      expected('{ time: "09:00", days?: [mon, ...] }'),
    )
    .describe("Pause until the next time of day (in the customer's time zone), optionally on given weekdays only."),
  next: Next,
});

const WaitForStep = z.strictObject({
  id: StepIdSchema,
  wait_for: z
    .strictObject(
      {
        event: EventNameSchema,
        where: WhereSchema.optional().describe('Pattern on the awaited event\'s properties; a value may be "{{ trigger.<property> }}".'),
        timeout: z
          .string({ error: (iss) => (iss.input === undefined ? `wait_for needs a timeout, such as "7d": a journey cannot wait forever` : `expected a duration such as ${DURATION_EXAMPLE}`) })
          .regex(DURATION_PATTERN, `expected a duration such as ${DURATION_EXAMPLE} (units ${DURATION_UNITS}, largest first)`)
          .min(2, `expected a duration such as ${DURATION_EXAMPLE}`)
          .describe('How long to wait for the event before taking on_timeout.'),
      },
      expected('{ event, where?, timeout }'),
    )
    .describe('Pause until the customer sends this event, or the timeout passes.'),
  on_event: TargetSchema.optional().describe('Where to go when the event arrives (default: the next step).'),
  on_timeout: TargetSchema.optional().describe('Where to go when the timeout passes (default: the next step).'),
});

const BranchRule = z.strictObject({ when: ConditionSchema, next: TargetSchema });
const BranchElse = z.strictObject({ else: TargetSchema });
const BranchStep = z.strictObject({
  id: StepIdSchema,
  branch: z
    .array(z.union([BranchRule, BranchElse], expected('{ when: <condition>, next: <step> } or { else: <step> }')), expected('a list of { when, next } and a final { else }'))
    .min(1, 'a branch needs at least one { when, next }')
    .describe('The first rule whose condition holds for the customer picks the next step; else (default: the next step in the list) otherwise.'),
});

const SplitVariant = z.strictObject({
  percent: z.number(expected('a whole percentage from 1 to 100')).int('expected a whole percentage').min(1, 'expected a percentage from 1 to 100').max(100, 'expected a percentage from 1 to 100'),
  next: TargetSchema.optional(),
});
const SplitHoldout = z.strictObject({
  percent: z.number(expected('a whole percentage from 1 to 100')).int('expected a whole percentage').min(1, 'expected a percentage from 1 to 100').max(100, 'expected a percentage from 1 to 100'),
  holdout: z.literal(true, expected('true')),
});
const SplitStep = z.strictObject({
  id: StepIdSchema,
  split: z
    .array(z.union([SplitVariant, SplitHoldout], expected('{ percent, next? } or { percent, holdout: true }')), expected('a list of { percent, next } groups'))
    .min(2, 'a split needs at least two groups')
    .describe('Random split: each customer goes to one group, with the given chances (summing to 100). A holdout group ends the run and is counted.'),
});

const TagStep = z.strictObject({
  id: StepIdSchema,
  tag: z
    .union([z.strictObject({ add: TagNameSchema }), z.strictObject({ remove: TagNameSchema })], expected('{ add: <tag> } or { remove: <tag> }'))
    .describe('Add or remove a manual tag on the customer.'),
  next: Next,
});

const UpdateStep = z.strictObject({
  id: StepIdSchema,
  update: z
    .strictObject(
      {
        trait: z.string(expected('a trait name such as "plan"')).regex(IDENTIFIER, 'expected a trait name (letters, digits, underscore), such as "plan"'),
        value: z.union([z.string(), z.number(), z.boolean(), z.null()], expected('a string, number, boolean or null')),
      },
      expected('{ trait, value }'),
    )
    .describe('Set a trait on the customer profile.'),
  next: Next,
});

const WebhookStep = z.strictObject({
  id: StepIdSchema,
  webhook: z
    .strictObject({ target: Kebab('an outbound webhook name', 'support'), template: TemplateNameSchema }, expected('{ target, template }'))
    .describe('Post to a configured outbound webhook (e.g. your help desk), body rendered from <template>.webhook.liquid. Not a customer message: consent rules do not apply.'),
  next: Next,
});

const ExitStep = z.strictObject({
  id: StepIdSchema,
  exit: z
    .union([z.literal(true), Kebab('an exit reason', 'escalated', 40)], expected('true, goal or a reason in kebab-case such as "escalated"'))
    .describe('End the journey here: true, goal (counts as a conversion) or a reason (kebab-case) reported with the run.'),
});

/** Step schemas in the order of `ACTIONS`: `STEP_SCHEMAS[i]` is the schema of a step with action `ACTIONS[i]`. */
export const STEP_SCHEMAS = [SendStep, WaitStep, WaitUntilStep, WaitForStep, BranchStep, SplitStep, TagStep, UpdateStep, WebhookStep, ExitStep] as const;

export const StepSchema = z.union(STEP_SCHEMAS).describe('A step: an id and exactly one action.');

export const JourneySchema = z
  .strictObject(
    {
      id: Kebab('a journey id', 'win-back').describe('The journey id: kebab-case, equal to the file name without .yaml.'),
      name: z.string(expected('a name')).min(1, 'expected a name').max(200),
      description: z.string(expected('a description')).max(2_000).optional(),
      version: z.number(expected('a whole version number')).int('expected a whole version number').min(1, 'expected a version >= 1').describe('Bump when you change the steps: running customers finish on the version they started.'),
      trigger: TriggerSchema,
      audience: AudienceSchema.optional(),
      entry: EntrySchema.optional(),
      send_policy: SendPolicySchema.optional(),
      topic: TopicSchema.optional().describe('The subscription topic (an id in topics.yaml) of its marketing sends: a customer who left it on a channel gets none of them there. A send step may name its own.'),
      goals: z.array(EventFilterSchema).optional().describe('Events that end the run wherever it is, counted as a conversion.'),
      exits: z.array(EventFilterSchema).optional().describe('Events that end the run wherever it is, without a conversion.'),
      attribution: AttributionSchema.optional(),
      steps: z.array(StepSchema, expected('a list of steps')).min(1, 'a journey needs at least one step'),
    },
    expected('a journey: { id, name, version, trigger, steps, ... }'),
  )
  .meta({ title: 'Rapport journey', description: 'A customer journey, compiled to a Step Functions state machine.' });

export type Journey = z.output<typeof JourneySchema>;
export type JourneyInput = z.input<typeof JourneySchema>;
export type Step = z.output<typeof StepSchema>;
export type EventFilter = z.output<typeof EventFilterSchema>;
export type SendStep = z.output<typeof SendStep>;
export type WaitForStep = z.output<typeof WaitForStep>;
export type BranchStep = z.output<typeof BranchStep>;
export type SplitStep = z.output<typeof SplitStep>;

/** The action key of a step (the schema guarantees exactly one). */
export function actionOf(step: Step): ActionName {
  for (const action of ACTIONS) if (action in step) return action;
  throw new TypeError(`step ${step.id} has no action`);
}
