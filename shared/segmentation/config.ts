import { z } from 'zod';
import { SegmentationConfigError, sortProblems, type SourceProblem } from './errors';
import { nameList } from './text';
import { readYaml, zodProblems } from './yaml-source';

/**
 * Segmentation settings: lifecycle-stage thresholds and RFM score thresholds,
 * read from `workflows/segmentation.config.yaml`. Every setting has a default, so
 * an empty file (or no section) is valid. Days are whole 24-hour periods (UTC).
 *
 * @example
 * ```yaml
 * lifecycle:
 *   at_risk_after_days: 60
 * rfm:
 *   monetary_revenue: [50, 150, 400, 800]
 * ```
 */

const days = (what: string) =>
  z
    .number({ error: `expected a whole number of days for ${what}` })
    .int({ error: `expected a whole number of days for ${what}` })
    .min(1, { error: `expected at least 1 day for ${what}` });

/** Four thresholds, each above the one before: they split customers into scores 1..5. */
const thresholds = (example: string, options: { whole: boolean; unit: string }) => {
  const expected = `expected 4 increasing ${options.unit} like ${example}`;
  const item = options.whole
    ? z.number({ error: expected }).int({ error: expected }).min(1, { error: expected })
    : z.number({ error: expected }).positive({ error: expected });
  return z
    .array(item, { error: expected })
    .length(4, { error: expected })
    .refine((list) => list.every((value, index) => index === 0 || value > (list[index - 1] ?? -Infinity)), {
      error: `${expected}: each must be larger than the one before`,
    });
};

/** `section:` with nothing under it (every setting commented out) means "all defaults". */
const section = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === null ? undefined : value), schema);

const strictMapping = <T extends z.core.$ZodLooseShape>(shape: T, what: string) =>
  z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `expected one of ${nameList(Object.keys(shape))}`
        : `expected a mapping of ${what} settings`,
  });

export const LifecycleConfigSchema = strictMapping(
  {
    /** `new`: the first order was placed less than this many days ago. */
    new_customer_days: days('new_customer_days').default(30),
    /** `loyal`: at least this many orders, and not at-risk or worse. */
    loyal_min_orders: z
      .number({ error: 'expected a whole number of orders' })
      .int({ error: 'expected a whole number of orders' })
      .min(2, { error: 'expected at least 2 orders (with 1, every buyer would be loyal)' })
      .default(5),
    /** `at-risk`: no order for this many days. */
    at_risk_after_days: days('at_risk_after_days').default(45),
    /** `dormant`: no order for this many days. */
    dormant_after_days: days('dormant_after_days').default(90),
    /** `churned`: no order for this many days. */
    churned_after_days: days('churned_after_days').default(180),
  },
  'lifecycle',
).superRefine((c, ctx) => {
  if (c.dormant_after_days <= c.at_risk_after_days) {
    ctx.addIssue({
      code: 'custom',
      path: ['dormant_after_days'],
      message: `expected more days than at_risk_after_days (${c.at_risk_after_days}), got ${c.dormant_after_days}`,
    });
  }
  if (c.churned_after_days <= c.dormant_after_days) {
    ctx.addIssue({
      code: 'custom',
      path: ['churned_after_days'],
      message: `expected more days than dormant_after_days (${c.dormant_after_days}), got ${c.churned_after_days}`,
    });
  }
});
export type LifecycleConfig = z.infer<typeof LifecycleConfigSchema>;

export const RfmTierConfigSchema = strictMapping(
  {
    /** `sleeping`: the recency score is at most this (2 = no order for 120 days with the default recency_days). */
    sleeping_max_recency: z
      .number({ error: 'expected a recency score from 1 to 4' })
      .int({ error: 'expected a recency score from 1 to 4' })
      .min(1, { error: 'expected a recency score from 1 to 4' })
      .max(4, { error: 'expected a recency score from 1 to 4' })
      .default(2),
    /** `high-value`: not sleeping, and recency + frequency + monetary is at least this (3..15). */
    high_value_min_total: z
      .number({ error: 'expected a total score from 3 to 15' })
      .int({ error: 'expected a total score from 3 to 15' })
      .min(3, { error: 'expected a total score from 3 to 15' })
      .max(15, { error: 'expected a total score from 3 to 15' })
      .default(12),
  },
  'RFM tier',
);
export type RfmTierConfig = z.infer<typeof RfmTierConfigSchema>;

export const RfmConfigSchema = strictMapping(
  {
    /** Days since the last order: under [0] scores 5, under [1] 4, under [2] 3, under [3] 2, else 1. */
    recency_days: thresholds('[30, 60, 120, 240]', { whole: true, unit: 'whole numbers of days' }).default([30, 60, 120, 240]),
    /** Number of orders: at least [0] scores 2, [1] 3, [2] 4, [3] 5; fewer than [0] scores 1. */
    frequency_orders: thresholds('[2, 3, 5, 10]', { whole: true, unit: 'whole numbers of orders' }).default([2, 3, 5, 10]),
    /** Total revenue: at least [0] scores 2, [1] 3, [2] 4, [3] 5; less than [0] scores 1. */
    monetary_revenue: thresholds('[100, 250, 500, 1000]', { whole: false, unit: 'amounts' }).default([100, 250, 500, 1000]),
    tiers: section(RfmTierConfigSchema.prefault({})),
  },
  'RFM',
);
export type RfmConfig = z.infer<typeof RfmConfigSchema>;

export const SegmentationConfigSchema = strictMapping(
  {
    lifecycle: section(LifecycleConfigSchema.prefault({})),
    rfm: section(RfmConfigSchema.prefault({})),
  },
  'segmentation',
);
export type SegmentationConfig = z.infer<typeof SegmentationConfigSchema>;

/** Every setting at its default (the values in the shipped segmentation.config.yaml). */
export const DEFAULT_SEGMENTATION_CONFIG: SegmentationConfig = deepFreeze(SegmentationConfigSchema.parse({}));

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

export type SegmentationConfigResult =
  | { ok: true; config: SegmentationConfig }
  | { ok: false; errors: SourceProblem[] };

/** Reads segmentation.config.yaml text. An empty file means all defaults; a broken file yields every problem in it. */
export function loadSegmentationConfig(text: string, file: string): SegmentationConfigResult {
  const source = readYaml(text, file);
  if (source.syntaxErrors.length > 0) return { ok: false, errors: [...source.syntaxErrors] };
  const parsed = SegmentationConfigSchema.safeParse(source.value ?? {}, { reportInput: true });
  if (parsed.success) return { ok: true, config: parsed.data };
  return { ok: false, errors: sortProblems(zodProblems(source, parsed.error.issues)) };
}

/** `loadSegmentationConfig`, throwing `SegmentationConfigError` with every problem. */
export function loadSegmentationConfigOrThrow(text: string, file: string): SegmentationConfig {
  const result = loadSegmentationConfig(text, file);
  if (!result.ok) throw new SegmentationConfigError(file, result.errors);
  return result.config;
}
