/**
 * Experiments: a send step's `variants`, each customer drawn into one by weight. Per variant, from the journey's
 * counters: sent, conversions and revenue credited to its messages (last-touch attribution), the conversion rate,
 * and the two-sided p-value of a two-proportion z-test against the control (the first variant).
 *
 * Assumptions (stated in the API's `method`): each message is one trial (one per customer and run), conversions
 * are those attribution credits to it, trials are independent, and the normal approximation holds: the p-value
 * is given only when each of the two variants has at least 5 conversions and 5 non-conversions (else `null`).
 */
export interface VariantStats {
  id: string;
  control: boolean;
  sent: number;
  /** Messages with at least one conversion credited (each counted once): the trials that succeeded. */
  converted: number;
  /** Every conversion credited to its messages (a customer may order twice), and their value. */
  conversions: number;
  revenue: number;
  /** converted / sent (0 before any send). */
  conversionRate: number;
  /** The rate's difference from the control's, relative to it (null for the control, or a control rate of 0). */
  lift: number | null;
  /** Two-sided p-value against the control; null for the control or when too few trials for the test. */
  pValue: number | null;
}

export interface ExperimentView {
  method: string;
  variants: VariantStats[];
}

export const EXPERIMENT_METHOD =
  'two-proportion z-test against the control (first variant), two-sided, pooled; a trial is a message sent, a success a message with at least one conversion credited to it (last touch); p-value only with >= 5 successes and >= 5 failures per variant';

/** Φ, the standard normal CDF (Abramowitz & Stegun 7.1.26 erf, absolute error < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Two-sided p-value of a two-proportion z-test (pooled), or null when the normal approximation does not hold. */
export function twoProportionPValue(c1: number, n1: number, c2: number, n2: number): number | null {
  if ([c1, n1 - c1, c2, n2 - c2].some((k) => k < 5)) return null;
  const pooled = (c1 + c2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return null;
  const z = (c2 / n2 - c1 / n1) / se;
  return 2 * (1 - normalCdf(Math.abs(z)));
}

/** The experiment of one send step from the journey's counters (`<step>.variant.<id>.sent`, `....attribution.*`). */
export function experimentView(counters: Readonly<Record<string, number>>, stepId: string, variantIds: readonly string[]): ExperimentView {
  const of = (id: string, name: string) => counters[`${stepId}.variant.${id}.${name}`] ?? 0;
  const base = variantIds.map((id, i) => {
    const sent = of(id, 'sent');
    const converted = of(id, 'converted');
    return { id, control: i === 0, sent, converted, conversions: of(id, 'attribution.conversions'), revenue: of(id, 'attribution.revenue'), conversionRate: sent === 0 ? 0 : converted / sent };
  });
  const control = base[0]!;
  return {
    method: EXPERIMENT_METHOD,
    variants: base.map((v) => ({
      ...v,
      lift: v.control || control.conversionRate === 0 ? null : (v.conversionRate - control.conversionRate) / control.conversionRate,
      pValue: v.control ? null : twoProportionPValue(control.converted, control.sent, v.converted, v.sent),
    })),
  };
}

/** A journey's holdout against the customers who got its messages: goal rates, the lift and its 95% interval. */
export interface HoldoutView {
  held: number;
  heldConversions: number;
  treated: number;
  treatedConversions: number;
  /** Goal rate of the treated minus that of the held (absolute, e.g. 0.05 = 5 points). */
  lift: number;
  /** 95% confidence interval of the lift (Wald, unpooled): null with fewer than 5 conversions or non-conversions in either group. */
  ci95: [number, number] | null;
  method: string;
}

export const HOLDOUT_METHOD = 'lift = goal rate of the customers who got the messages minus that of the holdout; 95% Wald interval of a difference of two proportions (unpooled)';

/**
 * The holdout's view from a journey's counters (`entered`, `holdout`, `goal`, `holdout.goal`), or undefined
 * without a holdout. A customer held counts as a trial of the holdout, one entered otherwise as treated.
 */
export function holdoutView(counters: Readonly<Record<string, number>>): HoldoutView | undefined {
  const held = counters.holdout ?? 0;
  if (held === 0) return undefined;
  const heldConversions = counters['holdout.goal'] ?? 0;
  const treated = (counters.entered ?? 0) - held;
  const treatedConversions = (counters.goal ?? 0) - heldConversions;
  const p1 = treated === 0 ? 0 : treatedConversions / treated;
  const p0 = heldConversions / held;
  const lift = p1 - p0;
  const enough = [treatedConversions, treated - treatedConversions, heldConversions, held - heldConversions].every((k) => k >= 5);
  const se = Math.sqrt((p1 * (1 - p1)) / Math.max(1, treated) + (p0 * (1 - p0)) / held);
  return { held, heldConversions, treated, treatedConversions, lift, ci95: enough ? [lift - 1.959964 * se, lift + 1.959964 * se] : null, method: HOLDOUT_METHOD };
}
