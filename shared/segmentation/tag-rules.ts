import { z } from 'zod';
import { LIFECYCLE_STAGES } from '../profile';
import { validateEventPattern, type EventPattern } from '../pattern';
import { DURATION_PATTERN } from './time';
import { describeValue, didYouMean, nameList, suggestion, type PathSegment } from './text';
import { AT_KEY } from './yaml-source';

/**
 * The tag rules language: `workflows/tags.yaml`, a list of tags, each computed
 * from a condition over the customer's profile.
 *
 * @example
 * ```yaml
 * tags:
 *   - name: vip
 *     description: Spent 1,000 or more in total
 *     when: { stat: totalRevenue, gte: 1000 }
 *   - name: complained-and-quiet
 *     description: Filed a complaint in the last 30 days and has not ordered since
 *     when:
 *       all:
 *         - { event: Complaint Filed, within: 30d }
 *         - { no_event: Order Completed, since: Complaint Filed }
 * ```
 *
 * A condition is a mapping with exactly one of these keys (its kind):
 * - `all: [..]`, `any: [..]`, `not: {..}` combine conditions;
 * - `stat: <name>` compares a profile stat (STAT_NAMES);
 * - `trait: <key>` compares a trait;
 * - `days_since: <date>` compares whole days since a profile date (DATE_FIELDS);
 * - `rfm: recency|frequency|monetary|tier` compares an RFM score or the value tier;
 *   `stat`, `trait`, `days_since` and `rfm` take one or more operators
 *   `eq, ne, gt, gte, lt, lte, in, exists` (all must hold);
 * - `lifecycle: <stage>` or `lifecycle: [<stage>, ..]`: the stage is one of these;
 * - `event: <name>` with optional `where` (an EventBridge pattern on the event's
 *   properties), `within` (`12h`, `30d`, `2w`) or `since: <event name>`, and counts
 *   `at_least` (default 1) / `at_most`;
 * - `no_event: <name>` with optional `where` and `within` or `since`;
 * - `tag: <name>` or `tag: [<name>, ..]`: the customer has one of these tags now
 *   (computed or manual) — in journey branches only: a tag rule cannot test a tag;
 * - `recommendations: categories|products` with `contains: <name>` or `contains: [<name>, ..]`: the customer's
 *   cross-sell recommendations now (what customers bought after what this one bought) include one of these —
 *   in journey branches only: they are computed from other customers' orders at branch time.
 */

export const STAT_NAMES = [
  'eventCount',
  'orderCount',
  'totalRevenue',
  'averageOrderValue',
  'complaintCount',
  /** Number of complaints filed and not yet resolved. */
  'openComplaints',
  /** Number of resolved complaints remembered on the profile (recent, bounded). */
  'resolvedComplaints',
  /** Number of recently viewed products remembered on the profile (bounded). */
  'productsViewed',
  /** Score of the last survey answered (NPS 0-10 or CSAT 1-5). */
  'lastSurveyScore',
  /** `nps` or `csat`: the type of the last survey answered. */
  'lastSurveyType',
] as const;
export type StatName = (typeof STAT_NAMES)[number];

export const DATE_FIELDS = [
  'firstSeenAt',
  'lastSeenAt',
  'firstOrderAt',
  'lastOrderAt',
  'lastComplaintAt',
  'lastResolutionAt',
  'lastSurveyAt',
] as const;
export type DateField = (typeof DATE_FIELDS)[number];

export const RFM_FIELDS = ['recency', 'frequency', 'monetary', 'tier'] as const;
export type RfmField = (typeof RFM_FIELDS)[number];

export const CONDITION_KINDS = ['all', 'any', 'not', 'stat', 'trait', 'days_since', 'lifecycle', 'rfm', 'event', 'no_event', 'tag', 'recommendations'] as const;
export type ConditionKind = (typeof CONDITION_KINDS)[number];

export const OPERATORS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'exists'] as const;
export type Operator = (typeof OPERATORS)[number];

/** The key the parser adds to every condition to name its kind (it may not appear in the file). */
const KIND = 'kind';

const DURATION_MESSAGE = 'expected a duration like "30d", "12h", "2w" or "3mo" (a month is 30 days)';
const CONDITION_EXAMPLE = '{ stat: orderCount, gte: 1 }';

const oneOf = (what: string, names: readonly string[]) => (issue: { input?: unknown }) =>
  `expected ${what}: one of ${nameList(names)}${didYouMean(issue.input, names)}`;

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

const Scalar = z.union([z.string(), z.number(), z.boolean()], { error: 'expected a value (a text, a number, true or false)' });
const Ordered = z.union([z.number(), z.string()], { error: 'expected a number (or a text, compared alphabetically)' });

const operatorShape = {
  eq: Scalar.optional(),
  ne: Scalar.optional(),
  gt: Ordered.optional(),
  gte: Ordered.optional(),
  lt: Ordered.optional(),
  lte: Ordered.optional(),
  in: z
    .array(Scalar, { error: 'expected a list of values like [a, b]' })
    .min(1, { error: 'expected at least one value in the list' })
    .optional(),
  exists: z.boolean({ error: 'expected true or false' }).optional(),
};
export type Operators = { [K in Operator]?: z.infer<(typeof operatorShape)[K]> };

const hasOperator = (c: Operators) => OPERATORS.some((op) => c[op] !== undefined);
const NO_OPERATOR = `expected a comparison: add one of ${nameList(OPERATORS)}`;

const EventName = z
  .string({ error: 'expected an event name like "Order Completed"' })
  .trim()
  .min(1, { error: 'expected an event name like "Order Completed"' })
  .max(200, { error: 'expected an event name of at most 200 characters' });

const Duration = z.string({ error: DURATION_MESSAGE }).regex(DURATION_PATTERN, { error: DURATION_MESSAGE });

const Count = z
  .number({ error: 'expected a whole number like 3' })
  .int({ error: 'expected a whole number like 3' })
  .min(0, { error: 'expected a whole number of 0 or more' });

const isMapping = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `detail.items[0]` (a pattern validator path) -> `["detail", "items", 0]`. */
function patternPath(path: string): PathSegment[] {
  if (path === '(root)') return [];
  const segments: PathSegment[] = [];
  for (const match of path.replace(/^\(root\)/, '').matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    segments.push(match[2] === undefined ? (match[1] ?? '') : Number(match[2]));
  }
  return segments;
}

/** An EventBridge event pattern over the event's properties: `{ category: [baby], price: [{ numeric: [">", 20] }] }`. */
const Where = z
  .custom<EventPattern>(isMapping, {
    error: 'expected an event pattern: a mapping from property names to lists of values, like { category: [baby] }',
  })
  .superRefine((pattern, ctx) => {
    for (const problem of validateEventPattern(pattern)) {
      ctx.addIssue({ code: 'custom', path: patternPath(problem.path), message: problem.message });
    }
  });

const Stage = z.enum(LIFECYCLE_STAGES, { error: oneOf('a lifecycle stage', LIFECYCLE_STAGES) });

// ---------------------------------------------------------------------------
// Conditions
// ---------------------------------------------------------------------------

/** A strict mapping for one kind of condition; an unknown key names the keys this kind takes. */
function conditionOf<K extends ConditionKind, S extends z.core.$ZodLooseShape>(kind: K, shape: S) {
  const keys = Object.keys(shape);
  return z.strictObject(
    { [KIND]: z.literal(kind), ...shape } as { kind: z.ZodLiteral<K> } & S,
    {
      error: (issue) => {
        if (issue.code !== 'unrecognized_keys') return undefined;
        const hint = issue.keys.length === 1 ? suggestion(issue.keys[0], keys) : '';
        return `${hint}${kind} conditions take ${nameList(keys)}`;
      },
    },
  );
}

export const StatConditionSchema = conditionOf('stat', {
  stat: z.enum(STAT_NAMES, { error: oneOf('a stat', STAT_NAMES) }),
  ...operatorShape,
}).refine(hasOperator, { error: NO_OPERATOR });
export type StatCondition = z.infer<typeof StatConditionSchema>;

export const TraitConditionSchema = conditionOf('trait', {
  trait: z.string({ error: 'expected a trait name like "plan"' }).min(1, { error: 'expected a trait name like "plan"' }),
  ...operatorShape,
}).refine(hasOperator, { error: NO_OPERATOR });
export type TraitCondition = z.infer<typeof TraitConditionSchema>;

export const DaysSinceConditionSchema = conditionOf('days_since', {
  days_since: z.enum(DATE_FIELDS, { error: oneOf('a profile date', DATE_FIELDS) }),
  ...operatorShape,
}).refine(hasOperator, { error: NO_OPERATOR });
export type DaysSinceCondition = z.infer<typeof DaysSinceConditionSchema>;

export const RfmConditionSchema = conditionOf('rfm', {
  rfm: z.enum(RFM_FIELDS, { error: oneOf('an RFM field', RFM_FIELDS) }),
  ...operatorShape,
}).refine(hasOperator, { error: NO_OPERATOR });
export type RfmCondition = z.infer<typeof RfmConditionSchema>;

export const LifecycleConditionSchema = conditionOf('lifecycle', {
  /** One stage or a list; written `lifecycle: loyal` or `lifecycle: [new, active]`. */
  lifecycle: z.preprocess(
    (value) => (typeof value === 'string' ? [value] : value),
    z
      .array(Stage, { error: `expected a lifecycle stage or a list of them (${nameList(LIFECYCLE_STAGES)})` })
      .min(1, { error: 'expected at least one lifecycle stage' }),
  ),
});
export type LifecycleCondition = z.infer<typeof LifecycleConditionSchema>;

const TagName = z
  .string({ error: 'expected a tag name like "vip"' })
  .trim()
  .min(1, { error: 'expected a tag name like "vip"' })
  .max(100, { error: 'expected a tag name of at most 100 characters' });

export const TagConditionSchema = conditionOf('tag', {
  /** One tag or a list (any of them); written `tag: vip` or `tag: [vip, loyal]`. */
  tag: z.preprocess(
    (value) => (typeof value === 'string' ? [value] : value),
    z.array(TagName, { error: 'expected a tag name or a list of them, like vip or [vip, loyal]' }).min(1, { error: 'expected at least one tag' }),
  ),
});
export type TagCondition = z.infer<typeof TagConditionSchema>;

/** What `recommendations` holds (shared/profile `Recommendations`): what a recommendations condition tests. */
export const RECOMMENDATION_LISTS = ['categories', 'products'] as const;
const RecommendedName = z
  .string({ error: 'expected a category or product name like "coffee-table"' })
  .trim()
  .min(1, { error: 'expected a category or product name like "coffee-table"' })
  // Categories and product ids are counted cut at 64 characters (functions/profile/co-purchases.ts): a longer name never matches.
  .max(64, { error: 'expected a name of at most 64 characters (longer categories and product ids are cut at 64 when counted)' });

/** `recommendations: categories, contains: coffee-table` (or a list: any of them). */
export const RecommendationsConditionSchema = conditionOf('recommendations', {
  recommendations: z.enum(RECOMMENDATION_LISTS, { error: oneOf('a list of recommendations', RECOMMENDATION_LISTS) }),
  contains: z.preprocess(
    (value) => (typeof value === 'string' ? [value] : value),
    z.array(RecommendedName, { error: 'expected a name or a list of them, like coffee-table or [coffee-table, rug]' }).min(1, { error: 'expected at least one name' }),
  ),
});
export type RecommendationsCondition = z.infer<typeof RecommendationsConditionSchema>;

/**
 * `since`: after the latest event of that name (`since: Complaint Filed`), or the latest that matches a pattern
 * (`since: { event: Order Completed, where: { products: { category: [sofa] } } }`).
 */
const Since = z.union([EventName, z.strictObject({ event: EventName, where: Where.optional() })], {
  error: 'expected an event name (since: Complaint Filed) or { event, where } (since: { event: Order Completed, where: { category: [sofa] } })',
});
export type SinceAnchor = z.infer<typeof Since>;
/** The event name and pattern of a `since`. */
export const sinceAnchor = (since: SinceAnchor): { event: string; where?: EventPattern } => (typeof since === 'string' ? { event: since } : since);

export const EventConditionSchema = conditionOf('event', {
  event: EventName,
  where: Where.optional(),
  within: Duration.optional(),
  since: Since.optional(),
  at_least: Count.optional(),
  at_most: Count.optional(),
});
export type EventCondition = z.infer<typeof EventConditionSchema>;

export const NoEventConditionSchema = conditionOf('no_event', {
  no_event: EventName,
  where: Where.optional(),
  within: Duration.optional(),
  since: Since.optional(),
});
export type NoEventCondition = z.infer<typeof NoEventConditionSchema>;

export interface AllCondition {
  kind: 'all';
  all: Condition[];
}
export interface AnyCondition {
  kind: 'any';
  any: Condition[];
}
export interface NotCondition {
  kind: 'not';
  not: Condition;
}

export type Condition =
  | AllCondition
  | AnyCondition
  | NotCondition
  | StatCondition
  | TraitCondition
  | DaysSinceCondition
  | RfmCondition
  | LifecycleCondition
  | EventCondition
  | NoEventCondition
  | TagCondition
  | RecommendationsCondition;

const conditionList = (kind: string) =>
  z.lazy(() =>
    z
      .array(ConditionSchema, { error: `expected a list of conditions under ${kind}` })
      .min(1, { error: `expected at least one condition under ${kind}` }),
  );

const AllConditionSchema = conditionOf('all', { all: conditionList('all') });
const AnyConditionSchema = conditionOf('any', { any: conditionList('any') });
const NotConditionSchema = conditionOf('not', { not: z.lazy(() => ConditionSchema) });

/**
 * Names the condition's kind from its one kind key (`stat`, `event`, `all`, ...),
 * so the matching schema checks it; a mapping with none or several is an error.
 */
function withKind(value: unknown, ctx: z.core.$RefinementCtx): unknown {
  if (value === undefined) {
    ctx.addIssue({ code: 'invalid_type', expected: 'object', input: value, message: `expected a condition like ${CONDITION_EXAMPLE}` });
    return value;
  }
  if (!isMapping(value)) {
    ctx.addIssue({
      code: 'custom',
      input: value,
      message: `expected a condition (a mapping like ${CONDITION_EXAMPLE}), got ${describeValue(value)}`,
    });
    return value;
  }
  const keys = Object.keys(value);
  const kinds = CONDITION_KINDS.filter((kind) => keys.includes(kind));
  if (keys.includes(KIND)) {
    ctx.addIssue({
      code: 'custom',
      path: [KIND],
      params: AT_KEY,
      message: `unknown key "${KIND}"; a condition starts with one of ${nameList(CONDITION_KINDS)}`,
    });
  } else if (kinds.length === 1) {
    return { ...value, [KIND]: kinds[0] };
  } else if (kinds.length === 0) {
    const typo = keys.find((key) => didYouMean(key, CONDITION_KINDS) !== '');
    const listed = keys.length === 0 ? 'an empty mapping' : `keys ${nameList(keys)}`;
    ctx.addIssue({
      code: 'custom',
      ...(typo !== undefined && { path: [typo], params: AT_KEY }),
      message:
        typo !== undefined
          ? `unknown condition "${typo}"${didYouMean(typo, CONDITION_KINDS)}; a condition starts with one of ${nameList(CONDITION_KINDS)}`
          : `expected a condition with one of the keys ${nameList(CONDITION_KINDS)}, got ${listed}`,
    });
  } else {
    const [first, second] = kinds;
    ctx.addIssue({
      code: 'custom',
      path: [second ?? ''],
      params: AT_KEY,
      message: `a condition has exactly one kind, this one has both "${first}" and "${second}"; combine conditions with all: [...] or any: [...]`,
    });
  }
  return value;
}

export const ConditionSchema: z.ZodType<Condition> = z.preprocess(
  withKind,
  z.discriminatedUnion(KIND, [
    AllConditionSchema,
    AnyConditionSchema,
    NotConditionSchema,
    StatConditionSchema,
    TraitConditionSchema,
    DaysSinceConditionSchema,
    RfmConditionSchema,
    LifecycleConditionSchema,
    EventConditionSchema,
    NoEventConditionSchema,
    TagConditionSchema,
    RecommendationsConditionSchema,
  ]),
);

// ---------------------------------------------------------------------------
// Rules and the file
// ---------------------------------------------------------------------------

/** Lowercase kebab-case: `vip`, `at-risk-buyer`, `nps-9-or-10`. */
export const TAG_NAME_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const TAG_NAME_MESSAGE = 'expected a tag name in lowercase kebab-case like "vip" or "at-risk-buyer"';

const RULE_KEYS = ['name', 'description', 'when'];

export const TagRuleSchema = z.strictObject(
  {
    name: z
      .string({ error: TAG_NAME_MESSAGE })
      .regex(TAG_NAME_PATTERN, { error: TAG_NAME_MESSAGE })
      .max(64, { error: 'expected a tag name of at most 64 characters' }),
    description: z.string({ error: 'expected a short text saying who gets this tag' }).optional(),
    when: ConditionSchema,
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `${issue.keys.length === 1 ? suggestion(issue.keys[0], RULE_KEYS) : ''}a tag rule takes ${nameList(RULE_KEYS)}`
        : `expected a tag rule: a mapping with ${nameList(RULE_KEYS)}`,
  },
);
export type TagRule = z.infer<typeof TagRuleSchema>;

/**
 * Names a journey may give a tag it reads or sets (`tag: { add }`, `audience.tags`,
 * a `Tag Added` pattern): lowercase, digits and single `-`, `_` or `:` between them.
 * Manual tags (set by a CRM's `tags` trait) are declared with names of this form.
 */
export const MANUAL_TAG_NAME_PATTERN = /^[a-z0-9]+(?:[-_:][a-z0-9]+)*$/;
const MANUAL_TAG_NAME_MESSAGE = 'expected a tag name (lowercase letters, digits, "-", "_" or ":") like "crm-gold"';
const MANUAL_TAG_KEYS = ['name', 'description'];

/**
 * A manual tag: one a CRM sets through the `identify` trait `tags: [...]` (or a
 * journey with a tag step), which no rule computes. Declaring it lets journeys
 * read it: a tag a journey reads must be a rule, added by a journey, or declared.
 */
export const ManualTagSchema = z.strictObject(
  {
    name: z
      .string({ error: MANUAL_TAG_NAME_MESSAGE })
      .regex(MANUAL_TAG_NAME_PATTERN, { error: MANUAL_TAG_NAME_MESSAGE })
      .max(64, { error: 'expected a tag name of at most 64 characters' }),
    description: z.string({ error: 'expected a short text saying who sets this tag and when' }).optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `${issue.keys.length === 1 ? suggestion(issue.keys[0], MANUAL_TAG_KEYS) : ''}a manual tag takes ${nameList(MANUAL_TAG_KEYS)}`
        : `expected a manual tag: a mapping with ${nameList(MANUAL_TAG_KEYS)}, like { name: crm-gold, description: Gold customers in the CRM }`,
  },
);
export type ManualTag = z.infer<typeof ManualTagSchema>;

const FILE_KEYS = ['tags', 'manualTags'];

/** The file's outer shape; each rule is then checked on its own, so one broken rule does not hide the others' errors. */
export const TagRulesFileSchema = z.strictObject(
  {
    tags: z.array(z.unknown(), { error: 'expected a list of tag rules under "tags"' }),
    manualTags: z
      .array(z.unknown(), { error: 'expected a list of manual tags under "manualTags", like [{ name: crm-gold, description: ... }]' })
      .optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `${issue.keys.length === 1 ? suggestion(issue.keys[0], FILE_KEYS) : ''}the file holds "tags" and, optionally, "manualTags"`
        : 'expected a mapping with a "tags" list',
  },
);
